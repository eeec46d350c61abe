"""What the grading service shows a student: their own attempts, as a page and as the grading panel's JSON.

``student_summary`` reads the service's state (cnnkit.policy.ledger) and the policy; ``page`` renders one
student's attempts as HTML, ``as_json`` as the JSON the grading panel reads (docs/hub.md, "The grading
panel"). The graders' view of the whole class is cnnkit.hub.class_view; the service's web application,
which decides who sees what, is cnnkit.hub.site. Every value is HTML-escaped.
"""

import datetime
import hashlib
import json
from dataclasses import asdict, dataclass, field

from cnnkit.hub.feedback import PAGE, esc, points, summary_lines
from cnnkit.policy import rules
from cnnkit.policy.ledger import GRADED_STATUSES, as_time, now, scored_attempts

# The service is done with a submission: its feedback page is in the exchange (or is being placed, for one
# not graded: the service decides first, then places the page saying why).
FINISHED = ("released", "done", "refused", "failed")


@dataclass(frozen=True)
class StudentSummary:
    student: str
    counts: str
    graded: int
    attempts_left: int | None
    next_allowed: datetime.datetime | None
    official: rules.Attempt | None
    max_score: float | None
    deadline: datetime.datetime | None
    rows: list = field(default_factory=list)
    course_deadline: datetime.datetime | None = None  # the policy's, without the student's extension
    late_penalty: dict | None = None  # {"per_day", "cap", "grace_minutes"}, None when lateness costs nothing


# What a student is shown of each of their rows: not the secret (it is theirs, but no page needs it), nor the
# exception a failure of the service left for the instructor.
STUDENT_FIELDS = ("name", "attempt", "submitted_at", "status", "score", "max_score", "penalty", "reason")


def feedback_id(name):
    """A submission's id in the service's addresses: a digest of its exchange folder's name (which holds spaces,
    '+' and a time, and is in part the student's choice)."""
    return hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:24]


def feedback_url(prefix, row):
    """The same-origin path of a submission's feedback page, or None while it has none (or without a prefix)."""
    if prefix is None or row["status"] not in FINISHED or not row["secret"]:
        return None
    return f"{prefix}feedback/{feedback_id(row['name'])}"


def late_rule(policy):
    """The course's late penalty as the panel reads it, or None when a late submission loses nothing."""
    if not policy.late_penalty_per_day:
        return None
    return {
        "per_day": policy.late_penalty_per_day,
        "cap": policy.late_penalty_cap,
        "grace_minutes": policy.grace_minutes,
    }


def student_summary(state, policy, student, assignment, deadline=None, at=None, prefix=None):
    """One student's StudentSummary. deadline: theirs, extension included (None: not shown); prefix: the
    service's address, for each row's feedback_url (None: no links)."""
    rows = [row for row in state.rows(student=student) if row["assignment"] == assignment]
    counted = [row for row in rows if row["attempt"] is not None]
    times = [as_time(row["submitted_at"]) for row in counted]
    allowed = rules.next_allowed_time(policy, times)
    if allowed is not None and (allowed == datetime.datetime.max or allowed <= (at or now())):
        allowed = None  # never again (attempts left says 0), or already now
    maxima = [row["max_score"] for row in counted if row["max_score"] is not None]
    return StudentSummary(
        student=student,
        counts=policy.counts,
        graded=len(counted),
        attempts_left=rules.attempts_left(policy, len(counted)),
        next_allowed=allowed,
        official=rules.official_attempt(policy.counts, scored_attempts(rows)),
        max_score=maxima[-1] if maxima else None,
        deadline=deadline,
        rows=[
            {**{name: row[name] for name in STUDENT_FIELDS}, "feedback_url": feedback_url(prefix, row)} for row in rows
        ],
        course_deadline=policy.deadline_time(),
        late_penalty=late_rule(policy),
    )


def official_row(summary):
    """The row of the summary's official attempt, or None."""
    if summary.official is None:
        return None
    return next(
        row for row in summary.rows if row["attempt"] == summary.official.number and row["status"] in GRADED_STATUSES
    )


def before_penalty(row):
    """A graded row's score before its late penalty (nbgrader's own score: what the formgrader shows)."""
    if row is None or row["score"] is None:
        return None
    return row["score"] + (row["penalty"] or 0.0)


STATUS_WORDS = {
    "accepted": "being graded",
    "graded": "graded, feedback on its way",
    "released": "graded, feedback released",
    "done": "graded, feedback released",
    "refused": "not graded",
    "failed": "not graded",
    "ignored": "not graded",
}


def status_words(row):
    return STATUS_WORDS.get(row["status"], row["status"])


def feedback_link(row):
    url = row.get("feedback_url")
    return f'<a href="{esc(url)}" target="_blank" rel="noopener">open</a>' if url else ""


def table(table_id, headers, rows):
    """An HTML table: headers (texts), rows (lists of cells already escaped)."""
    head = "".join(f"<th>{esc(header)}</th>" for header in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}" border="1" cellpadding="4"><tr>{head}</tr>{body}</table>'


def page(summary, assignment):
    """The student's status page (HTML)."""
    lines = "".join(f"<li>{esc(line)}</li>" for line in summary_lines(summary))
    rows = [
        [
            esc(row["attempt"] or ""),
            f"{esc(row['submitted_at'][:19])} UTC",
            esc(status_words(row)),
            esc(points(row["score"])),
            esc(points(row["penalty"]) if row["penalty"] else ""),
            esc(row["reason"]),
            feedback_link(row),
        ]
        for row in summary.rows
    ]
    headers = ("Attempt", "Submitted", "Status", "Score", "Late penalty", "Why not graded", "Feedback")
    body = (
        f"<h1>{esc(assignment)}: your submissions</h1>"
        f'<div class="cnnkit-status" id="cnnkit-status"><ul>{lines}</ul></div>'
        f"{table('cnnkit-attempts', headers, rows)}"
        "<p>Feedback: the link beside each submission (in JupyterLab: the Grading panel's Open feedback).</p>"
    )
    return PAGE.format(title=esc(f"{assignment}: your submissions"), body=body)


def as_json(summary):
    data = asdict(summary)
    return json.dumps(
        data, default=lambda value: rules.format_time(value) if isinstance(value, datetime.datetime) else str(value)
    )
