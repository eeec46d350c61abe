"""The grading service's pages as a JupyterHub service: who may see what, at which address.

``make_app`` serves the pages of cnnkit.hub.status (a student's own) and cnnkit.hub.class_view (the
class, for graders). Each request is authenticated by the hub (OAuth,
jupyterhub.services.auth.HubOAuthenticated), and ``Site`` decides what the logged-in user may see:

    <prefix>                   a grader: the class view; anyone else: their own attempts
    <prefix>api/status         the user's own summary (JSON)
    <prefix>class.csv          the class view as CSV, for graders only (403 for anyone else)
    <prefix>feedback/<id>      one submission's released feedback page, for its student and the graders
                               (404 for anyone else, as for an id that does not exist)

A grader is a member of the graders' Unix group, as jupyterhub_config.py decides who gets the formgrader.
No page takes a student's name from the request: what a student sees is chosen by who they logged in as.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from cnnkit import course
from cnnkit.hub import feedback, unix
from cnnkit.hub.class_view import Person, class_csv, class_page, class_view
from cnnkit.hub.feedback import PAGE
from cnnkit.hub.status import as_json, feedback_id, feedback_url, page, student_summary

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
