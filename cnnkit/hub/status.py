"""What a student sees of their attempts: the summary (for feedback headers) and the hub service's page.

``student_summary`` reads the service's state (cnnkit.policy.ledger) and the policy; ``page`` renders one
student's attempts as HTML (every value escaped). ``make_app`` is the page as a JupyterHub service:
each request is authenticated by the hub (OAuth, jupyterhub.services.auth.HubOAuthenticated) and
shows the logged-in user's own attempts only, at ``<JUPYTERHUB_SERVICE_PREFIX>`` (HTML) and
``<prefix>api/status`` (JSON).
"""

import datetime
import json
import os
from dataclasses import asdict, dataclass, field

from cnnkit.hub.feedback import PAGE, esc, points, summary_lines
from cnnkit.ingest.exchange import printable
from cnnkit.policy import rules
from cnnkit.policy.ledger import as_time, now, scored_attempts


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


# What a student is shown of each of their rows: not the secret (it is theirs, but no page needs it), nor the
# exception a failure of the service left for the instructor.
STUDENT_FIELDS = ("name", "attempt", "submitted_at", "status", "score", "max_score", "penalty", "reason")


def student_summary(state, policy, student, assignment, deadline=None, at=None):
    """One student's StudentSummary. deadline: theirs, extension included (None: not shown)."""
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
        rows=[{field: row[field] for field in STUDENT_FIELDS} for row in rows],
    )


STATUS_WORDS = {
    "accepted": "being graded",
    "graded": "graded, feedback on its way",
    "released": "graded, feedback released",
    "done": "graded, feedback released",
    "refused": "not graded",
    "failed": "not graded",
    "ignored": "not graded",
}


def page(summary, assignment):
    """The student's status page (HTML)."""
    lines = "".join(f"<li>{esc(line)}</li>" for line in summary_lines(summary))
    rows = "".join(
        "<tr>"
        f"<td>{esc(row['attempt'] or '')}</td><td>{esc(row['submitted_at'][:19])} UTC</td>"
        f"<td>{esc(STATUS_WORDS.get(row['status'], row['status']))}</td>"
        f"<td>{esc(points(row['score']))}</td><td>{esc(points(row['penalty']) if row['penalty'] else '')}</td>"
        f"<td>{esc(row['reason'])}</td>"
        "</tr>"
        for row in summary.rows
    )
    body = (
        f"<h1>{esc(assignment)}: your submissions</h1>"
        f'<div class="cnnkit-status" id="cnnkit-status"><ul>{lines}</ul></div>'
        '<table id="cnnkit-attempts" border="1" cellpadding="4"><tr><th>Attempt</th><th>Submitted</th>'
        "<th>Status</th><th>Score</th><th>Late penalty</th><th>Why not graded</th></tr>"
        f"{rows}</table>"
        "<p>Feedback: Assignments tab, Fetch Feedback.</p>"
    )
    return PAGE.format(title=esc(f"{assignment}: your submissions"), body=body)


def as_json(summary):
    data = asdict(summary)
    return json.dumps(
        data, default=lambda value: rules.format_time(value) if isinstance(value, datetime.datetime) else str(value)
    )


def instructor_report(state):
    """Print the instructor's table, one line per submission the service has seen; exit code 0.

    What a student controls (names, reasons) is shown escaped (exchange.printable): nothing written to a
    terminal moves its cursor. A failure of the service itself adds the exception's last line.
    """
    for row in state.rows():
        score = "" if row["score"] is None else f"{row['score']:.2f}/{row['max_score']:g}"
        line = (
            f"{row['student'] or '-':<16} attempt {row['attempt'] or '-':<3} {row['status']:<9} {score:<14} "
            f"{row['submitted_at'][:19]} {row['reason']}"
        )
        if row["error"]:
            line += f" [service error: {row['error'].strip().splitlines()[-1]}]"
        print(printable(line))
    state.close()
    return 0


# ---------------------------------------------------------------- the hub service's web page


def make_app(summary_of, assignment, prefix):
    """A tornado app serving each logged-in hub user their own summary.

    summary_of(student) -> StudentSummary, called per request (it reads the state file read-only).
    """
    from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
    from tornado import web

    class StatusPage(HubOAuthenticated, web.RequestHandler):
        @web.authenticated
        def get(self):
            student = self.get_current_user()["name"]
            self.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
            self.set_header("Cache-Control", "no-store")
            self.finish(page(summary_of(student), assignment))

    class StatusJson(HubOAuthenticated, web.RequestHandler):
        @web.authenticated
        def get(self):
            self.set_header("Content-Type", "application/json")
            self.set_header("Cache-Control", "no-store")
            self.finish(as_json(summary_of(self.get_current_user()["name"])))

    return web.Application(
        [
            (prefix, StatusPage),
            (prefix + "api/status", StatusJson),
            (prefix + "oauth_callback", HubOAuthCallbackHandler),
        ],
        cookie_secret=os.urandom(32),
    )
