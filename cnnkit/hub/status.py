"""What the grading service shows people: each student their own attempts, the graders the whole class.

``student_summary`` reads the service's state (cnnkit.policy.ledger) and the policy; ``page`` renders one
student's attempts as HTML, ``as_json`` as the JSON the grading panel reads (docs/hub.md, "The grading
panel"). ``class_view`` is every student of the course (the gradebook's roster and the state's
students), with each attempt, the official score, the late penalty and the score before it;
``class_page`` and ``class_csv`` render it for graders (CSV cells neutralised by
cnnkit.results.csv_cells). Every value is HTML-escaped.

``make_app`` is all of it as a JupyterHub service: each request is authenticated by the hub (OAuth,
jupyterhub.services.auth.HubOAuthenticated), and ``Site`` decides what the logged-in user may see:

    <prefix>                   a grader: the class view; anyone else: their own attempts
    <prefix>api/status         the user's own summary (JSON)
    <prefix>class.csv          the class view as CSV, for graders only (403 for anyone else)
    <prefix>feedback/<id>      one submission's released feedback page, for its student and the graders
                               (404 for anyone else, as for an id that does not exist)

A grader is a member of the graders' Unix group, as jupyterhub_config.py decides who gets the formgrader.
No page takes a student's name from the request: what a student sees is chosen by who they logged in as.
"""

import datetime
import hashlib
import io
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cnnkit import course
from cnnkit.hub import feedback, unix
from cnnkit.hub.feedback import PAGE, esc, points, summary_lines
from cnnkit.ingest.exchange import printable
from cnnkit.policy import rules
from cnnkit.policy.ledger import GRADED_STATUSES, as_time, now, scored_attempts
from cnnkit.results import csv_cells

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


# ---------------------------------------------------------------- the class, for graders


@dataclass(frozen=True)
class Person:
    """A student of the course: their id and, from the gradebook's roster, their name."""

    id: str
    first_name: str | None = None
    last_name: str | None = None


@dataclass(frozen=True)
class ClassView:
    """Every student with their summary (rows with feedback_url), in id order; what the service knows of each
    attempt that it keeps for the instructor (the last line of a service error, by row name); and the entries of
    the exchange that belong to no student of the assignment (ignored)."""

    assignment: str
    policy: rules.SubmitPolicy
    students: list  # [(Person, StudentSummary)]
    errors: dict = field(default_factory=dict)
    others: list = field(default_factory=list)


def class_view(state, policy, assignment, roster, deadline_of, prefix=None, at=None):
    """The ClassView of the course: roster, a list of Person (the gradebook's students); deadline_of(student)
    their deadline with any extension."""
    people = {person.id: person for person in roster}
    every_row = state.rows()
    mine = [row for row in every_row if row["student"] and row["assignment"] == assignment]
    students = sorted(set(people) | {row["student"] for row in mine})
    summaries = [
        (
            people.get(student, Person(student)),
            student_summary(state, policy, student, assignment, deadline_of(student), at, prefix),
        )
        for student in students
    ]
    errors = {row["name"]: row["error"].strip().splitlines()[-1] for row in mine if row["error"].strip()}
    names = {row["name"] for row in mine}
    others = [row for row in every_row if row["name"] not in names]
    return ClassView(assignment, policy, summaries, errors, others)


def policy_lines(policy):
    """The submission policy in words, for the graders' page."""
    attempts = policy.max_graded_attempts or "no limit"
    lines = [f"Graded attempts per student: {attempts}; the {policy.counts} graded attempt is the official score."]
    if policy.min_minutes_between_attempts:
        lines.append(f"Least time between graded attempts: {policy.min_minutes_between_attempts:g} minutes.")
    deadline = policy.deadline_time()
    lines.append(f"Deadline: {rules.format_time(deadline)}." if deadline else "Deadline: none.")
    if policy.late_penalty_per_day:
        lines.append(
            f"Late penalty: {policy.late_penalty_per_day:.0%} of the score per started day late, at most "
            f"{policy.late_penalty_cap:.0%}, after a grace of {policy.grace_minutes:g} minutes."
        )
    else:
        lines.append("Late penalty: none.")
    lines.append(
        "Official scores are after the late penalty, as in grades.csv and the students' own pages; the formgrader "
        "shows nbgrader's score before it (here: 'before penalty')."
    )
    return lines


def official_cells(summary):
    """Official score, before penalty, late penalty, attempt that counts: texts."""
    row = official_row(summary)
    if row is None:
        return ["", "", "", ""]
    of = f" of {points(summary.max_score)}"
    return [
        points(row["score"]) + of,
        points(before_penalty(row)) + of,
        points(row["penalty"] or 0.0),
        str(row["attempt"]),
    ]


def person_name(person):
    return " ".join(part for part in (person.first_name, person.last_name) if part)


def class_page(view, csv_url):
    """The graders' page (HTML): the policy, every student's official score, every submission."""
    policy = "".join(f"<li>{esc(line)}</li>" for line in policy_lines(view.policy))
    scores = [
        [
            esc(person.id),
            esc(person_name(person)),
            *map(esc, official_cells(summary)),
            esc(summary.graded),
            esc("no limit" if summary.attempts_left is None else summary.attempts_left),
            esc(rules.format_time(summary.deadline)),
        ]
        for person, summary in view.students
    ]
    submissions = [
        [
            esc(person.id),
            esc(row["attempt"] or ""),
            f"{esc(row['submitted_at'][:19])} UTC",
            esc(status_words(row)),
            esc(points(row["score"])),
            esc(points(row["penalty"]) if row["penalty"] else ""),
            esc(points(before_penalty(row))),
            esc(attempt_reason(view, row)),
            feedback_link(row),
        ]
        for person, summary in view.students
        for row in summary.rows
    ]
    body = (
        "<style>body{max-width:95em}</style>"
        f"<h1>{esc(view.assignment)}: the class</h1>"
        f'<div class="cnnkit-status" id="cnnkit-policy"><ul>{policy}</ul></div>'
        f'<p><a id="cnnkit-class-csv" href="{esc(csv_url)}" download>Download as CSV</a> '
        f"(one line per submission; a student who has not submitted has one line too)</p>"
        "<h2>Official scores</h2>"
        + table(
            "cnnkit-class",
            (
                "Student",
                "Name",
                "Official score",
                "Before penalty",
                "Late penalty",
                "Attempt that counts",
                "Graded attempts",
                "Attempts left",
                "Deadline",
            ),
            scores,
        )
        + "<h2>Every submission</h2>"
        + table(
            "cnnkit-submissions",
            (
                "Student",
                "Attempt",
                "Submitted",
                "Status",
                "Score",
                "Late penalty",
                "Before penalty",
                "Why not graded",
                "Feedback",
            ),
            submissions,
        )
        + others_section(view)
    )
    return PAGE.format(title=esc(f"{view.assignment}: the class"), body=body)


def attempt_reason(view, row):
    """Why a submission was not graded, with the service's own error for the instructor when there was one."""
    error = view.errors.get(row["name"])
    return f"{row['reason']} [service error: {error}]" if error else row["reason"]


def others_section(view):
    if not view.others:
        return ""
    rows = [
        [
            esc(printable(row["name"])),
            f"{esc(row['submitted_at'][:19])} UTC",
            esc(status_words(row)),
            esc(row["reason"]),
        ]
        for row in view.others
    ]
    return "<h2>Entries of the exchange that belong to no student of this assignment</h2>" + table(
        "cnnkit-others", ("Entry", "Seen", "Status", "Why"), rows
    )


CSV_COLUMNS = (
    "student_id",
    "last_name",
    "first_name",
    "attempt",
    "submitted_at",
    "status",
    "official",
    "score",
    "late_penalty",
    "score_before_penalty",
    "max_score",
    "reason",
    "feedback_url",
)


def class_csv(view):
    """The class view as CSV: one line per submission (official = "yes" on the one that counts), one for a
    student without any; scores as numbers, every text cell neutralised (csv_cells)."""
    out = io.StringIO()
    writer = csv_cells.SafeWriter(out)
    writer.writerow(CSV_COLUMNS)
    for person, summary in view.students:
        official = official_row(summary)
        identity = [person.id, person.last_name, person.first_name]
        if not summary.rows:
            writer.writerow([*identity, None, None, "no submission", None, None, None, None, None, None, None])
        for row in summary.rows:
            writer.writerow(
                [
                    *identity,
                    row["attempt"],
                    row["submitted_at"][:19] + " UTC",
                    status_words(row),
                    "yes" if row is official else "",
                    row["score"],
                    row["penalty"],
                    before_penalty(row),
                    row["max_score"],
                    attempt_reason(view, row),
                    row["feedback_url"],
                ]
            )
    return out.getvalue()


# ---------------------------------------------------------------- the instructor's terminal


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


# ---------------------------------------------------------------- the hub service's web pages

# The service's own pages: their inline style only. A feedback page (nbgrader's HTML, with what a submission
# printed in it, sanitised) also gets its pictures as data: URIs, and a sandbox: no script runs, whatever it holds,
# and the page has an origin of its own, so nothing in it could act with the user's hub cookies.
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'"
FEEDBACK_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; sandbox"
NOT_YET = (
    '<p id="cnnkit-feedback-not-yet">This submission\'s feedback is being placed: this page reloads in a moment.</p>'
)
MISSING = '<p id="cnnkit-no-feedback">There is no feedback page for this submission{why}.</p>'


@dataclass(frozen=True)
class Answer:
    """What the feedback address answers: the submission's own page (kind "page"), "not-yet" (reload in a
    moment) or "missing"."""

    code: int
    body: str
    kind: str


class Site:
    """What the service's pages read at each request: the state through its own read-only connection, and the
    policy, deadlines, roster and exchange as the service has them now (it reloads its configuration at every
    poll). graders_group: the Unix group whose members see the class (empty: no one does)."""

    def __init__(self, service, state, prefix, graders_group=""):
        self.service, self.state, self.prefix, self.graders_group = service, state, prefix, graders_group

    @property
    def assignment(self):
        return self.service.assignment

    def is_grader(self, user):
        return bool(self.graders_group) and user in unix.group_members(self.graders_group)

    def summary(self, student):
        service = self.service
        deadline = service.deadline_of(student)
        return student_summary(self.state, service.policy, student, service.assignment, deadline, prefix=self.prefix)

    def roster(self):
        """The gradebook's students (the roster `make hub-accounts` imported), as Person."""
        from nbgrader.api import Gradebook

        with Gradebook(course.gradebook_url(self.service.root), self.service.course_id) as gradebook:
            return [Person(student.id, student.first_name, student.last_name) for student in gradebook.students]

    def classroom(self):
        service = self.service
        return class_view(
            self.state, service.policy, service.assignment, self.roster(), service.deadline_of, self.prefix
        )

    def feedback_row(self, user, ident):
        """The row whose feedback id is ident, when user may see it (theirs, or a grader); else None."""
        row = next((row for row in self.state.rows() if feedback_id(row["name"]) == ident), None)
        if row is None or (row["student"] != user and not self.is_grader(user)):
            return None
        return row

    def feedback_page(self, row):
        """The Answer for a row the user may see."""
        if feedback_url(self.prefix, row) is None:
            return missing(" (it has none yet)")
        stem = Path(self.service.notebook).stem
        try:
            return Answer(200, read_page(feedback.page_path(self.service.outbound, row["secret"], stem)), "page")
        except FileNotFoundError:
            if row["status"] in ("refused", "failed") and not self.state.events(name=row["name"], event="told"):
                return Answer(200, PAGE.format(title="Feedback on its way", body=NOT_YET), "not-yet")
        except OSError:  # a link where the page should be (read_page never follows one), or unreadable
            pass
        return missing(": ask your instructor")


def missing(why):
    return Answer(404, PAGE.format(title="No feedback", body=MISSING.format(why=why)), "missing")


def read_page(path):
    """A page the service placed in the exchange (never through a link)."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(descriptor, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def make_app(site):
    """A tornado app serving site's pages (see the module's docstring) to logged-in hub users."""
    from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
    from tornado import web

    class Handler(HubOAuthenticated, web.RequestHandler):
        def user(self):
            return self.get_current_user()["name"]

        def send(self, body, content_type="text/html; charset=utf-8", csp=PAGE_CSP):
            self.set_header("Content-Type", content_type)
            self.set_header("Content-Security-Policy", csp)
            self.set_header("X-Content-Type-Options", "nosniff")
            self.set_header("Cache-Control", "no-store")
            self.finish(body)

    class StatusPage(Handler):
        @web.authenticated
        def get(self):
            user = self.user()
            if site.is_grader(user):
                self.send(class_page(site.classroom(), f"{site.prefix}class.csv"))
            else:
                self.send(page(site.summary(user), site.assignment))

    class StatusJson(Handler):
        @web.authenticated
        def get(self):
            self.send(as_json(site.summary(self.user())), "application/json")

    class ClassCsv(Handler):
        @web.authenticated
        def get(self):
            if not site.is_grader(self.user()):
                self.set_status(403)
                self.send(PAGE.format(title="Graders only", body="<p>The class view is for the course's graders.</p>"))
                return
            self.set_header("Content-Disposition", f'attachment; filename="{site.assignment}-class.csv"')
            self.send(class_csv(site.classroom()), "text/csv; charset=utf-8")

    class FeedbackPage(Handler):
        @web.authenticated
        def get(self, ident):
            row = site.feedback_row(self.user(), ident)
            answer = missing(" that you may see") if row is None else site.feedback_page(row)
            self.set_status(answer.code)
            if answer.kind == "not-yet":
                self.set_header("Refresh", "3")
            self.send(answer.body, csp=FEEDBACK_CSP if answer.kind == "page" else PAGE_CSP)

    prefix = site.prefix
    return web.Application(
        [
            (prefix, StatusPage),
            (prefix + "api/status", StatusJson),
            (prefix + "class.csv", ClassCsv),
            (prefix + "feedback/([0-9a-f]{24})", FeedbackPage),
            (prefix + "oauth_callback", HubOAuthCallbackHandler),
        ],
        cookie_secret=os.urandom(32),
    )
