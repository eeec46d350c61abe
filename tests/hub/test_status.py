"""What a student is shown (only their own attempts, attempts left, next graded time, official score, the panel's
fields) and what graders are shown (the class view and its CSV); every value escaped, no CSV cell a formula."""

import csv
import datetime
import io
import json
from types import SimpleNamespace

from traitlets.config import Config

from cnnkit.hub import feedback
from cnnkit.hub.class_view import Person, class_csv, class_page, class_view, instructor_report
from cnnkit.hub.site import Site
from cnnkit.hub.status import as_json, feedback_id, page, student_summary
from cnnkit.policy import rules
from cnnkit.policy.ledger import State

T0 = datetime.datetime(2026, 12, 1, 12, 0)


def a_policy():
    config = Config()
    config.SubmitPolicy.max_graded_attempts = 3
    config.SubmitPolicy.min_minutes_between_attempts = 60
    config.SubmitPolicy.counts = "best"
    return rules.load_policy(config)


def test_a_student_sees_their_own_attempts_only(tmp_path):
    state = State(tmp_path)
    for name, student, minutes in [("a1", "alice", 0), ("a2", "alice", 90), ("b1", "bob", 5), ("a3", "alice", 100)]:
        state.add(name, student, "cnn_step_by_step", T0 + datetime.timedelta(minutes=minutes), "accepted")
    state.save_outcome("a1", {"any": "outcome"}, attempt=1, score=120.0, max_score=150.0, penalty=0.0)
    state.set_status("a1", "done")
    state.save_outcome("a2", {}, attempt=2, score=90.0, max_score=150.0, penalty=15.0)
    state.set_status("b1", "done", attempt=1, score=150.0, max_score=150.0)
    state.set_status("a3", "refused", reason="too soon <b>now</b>")

    summary = student_summary(state, a_policy(), "alice", "cnn_step_by_step", at=T0 + datetime.timedelta(minutes=100))
    assert [row["name"] for row in summary.rows] == ["a1", "a2", "a3"]
    assert summary.graded == 2 and summary.attempts_left == 1
    assert summary.official == rules.Attempt(1, 120.0)  # the best, not the last
    assert summary.next_allowed == T0 + datetime.timedelta(minutes=150)
    html = page(summary, "cnn_step_by_step")
    assert "too soon &lt;b&gt;now&lt;/b&gt;" in html and "<b>now" not in html
    assert "Official score (best graded attempt counts): 120 of 150 (attempt 1)" in html
    assert "attempts left: 1" in html and "Next graded attempt: 2026-12-01 14:30:00 UTC" in html
    assert "bob" not in html and '"b1"' not in as_json(summary)
    state.set_status("a3", "failed", error="Traceback: /srv/nbgrader/cnn-step-by-step/logs/x")
    state.db.execute("UPDATE submissions SET secret = 'SECRET-a3' WHERE name = 'a3'")
    shown = as_json(student_summary(state, a_policy(), "alice", "cnn_step_by_step"))
    assert "SECRET-a3" not in shown and "Traceback" not in shown and "/srv/nbgrader" not in shown
    state.close()


def test_the_instructors_report_shows_what_students_wrote_escaped(tmp_path, capsys):
    state = State(tmp_path)
    state.add("unnamed-1", "", "", T0, "ignored", "not a submission folder: bob\n\x1b[2Kforged")
    state.add("a1", "alice", "cnn_step_by_step", T0, "failed", "the grading service failed", error="Trace\nOSError: x")
    instructor_report(state)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(line.isascii() and line.isprintable() for line in lines)
    assert "bob\\x0a\\x1b[2Kforged" in lines[1] and "[service error: OSError: x]" in lines[0]


# ---------------------------------------------------------------- the panel's fields, the class view, the feedback route

PREFIX = "/services/grader/"
LATE = {"per_day": 0.1, "cap": 0.5, "grace_minutes": 10.0}


def late_policy(**settings):
    config = Config()
    config.SubmitPolicy.max_graded_attempts = 2
    config.SubmitPolicy.deadline = "2026-12-01 00:00 UTC"
    config.SubmitPolicy.late_penalty_per_day = LATE["per_day"]
    config.SubmitPolicy.late_penalty_cap = LATE["cap"]
    config.SubmitPolicy.grace_minutes = LATE["grace_minutes"]
    for name, value in settings.items():
        setattr(config.SubmitPolicy, name, value)
    return rules.load_policy(config)


def a_class(tmp_path):
    """alice: graded late (60 before a 10 % penalty), then refused; bob: being graded; carol: failed, with the
    service's own error; mallory: a hostile reason; an unnamed entry of the exchange."""
    state = State(tmp_path)
    rows = [
        ("a1", "alice", "done", dict(attempt=1, score=54.0, max_score=100.0, penalty=6.0, secret="s-a1")),
        ("a2", "alice", "refused", dict(reason="attempt limit reached", secret="s-a2")),
        ("b1", "bob", "accepted", dict(attempt=1, secret="s-b1")),
        (
            "c1",
            "carol",
            "failed",
            dict(reason="the grader could not grade it", error="Trace\nOSError: disk", secret=""),
        ),
        ("m1", "=mallory", "refused", dict(reason='<script>alert(1)</script>+1", =cmd|', secret="s-m1")),
    ]
    for minutes, (name, student, status, fields) in enumerate(rows):
        state.add(name, student, "cnn_step_by_step", T0 + datetime.timedelta(minutes=minutes), status, **fields)
    state.add("unnamed-1", "", "", T0, "ignored", "not a submission folder: <b>x</b>")
    return state


ROSTER = [
    Person("alice", "Alice", "Liddell"),
    Person("dave", "Dave", "<img src=x onerror=alert(1)>"),  # in the roster, never submitted
    Person("=mallory", '=HYPERLINK("http://evil")', "@SUM(A1)"),
]


def test_the_students_json_carries_the_panels_fields(tmp_path):
    state = a_class(tmp_path)
    deadline = datetime.datetime(2026, 12, 3)  # alice's extension
    summary = student_summary(state, late_policy(), "alice", "cnn_step_by_step", deadline, prefix=PREFIX)
    shown = json.loads(as_json(summary))
    assert shown["course_deadline"] == "2026-12-01 00:00:00 UTC" and shown["deadline"] == "2026-12-03 00:00:00 UTC"
    assert shown["late_penalty"] == LATE
    urls = [row["feedback_url"] for row in shown["rows"]]
    assert urls == [f"{PREFIX}feedback/{feedback_id('a1')}", f"{PREFIX}feedback/{feedback_id('a2')}"]
    bob = json.loads(as_json(student_summary(state, late_policy(), "bob", "cnn_step_by_step", prefix=PREFIX)))
    assert bob["rows"][0]["feedback_url"] is None  # being graded: no page yet
    carol = json.loads(as_json(student_summary(state, late_policy(), "carol", "cnn_step_by_step", prefix=PREFIX)))
    assert carol["rows"][0]["feedback_url"] is None  # no secret: no page can ever be placed for it
    no_penalty = json.loads(as_json(student_summary(state, a_policy(), "alice", "cnn_step_by_step", prefix=PREFIX)))
    assert no_penalty["late_penalty"] is None and no_penalty["course_deadline"] is None
    state.close()


def test_the_class_view_has_every_student_official_score_penalty_and_score_before(tmp_path):
    state = a_class(tmp_path)
    view = class_view(state, late_policy(), "cnn_step_by_step", ROSTER, lambda student: None, PREFIX)
    assert [person.id for person, _ in view.students] == ["=mallory", "alice", "bob", "carol", "dave"]
    html = class_page(view, f"{PREFIX}class.csv")
    scores = html.split('id="cnnkit-class"')[1].split("</table>")[0]
    assert "<td>alice</td><td>Alice Liddell</td><td>54 of 100</td><td>60 of 100</td><td>6</td><td>1</td>" in scores
    assert "<td>dave</td>" in scores  # on the roster without a submission
    submissions = html.split('id="cnnkit-submissions"')[1].split("</table>")[0]
    assert f'href="{PREFIX}feedback/{feedback_id("a2")}"' in submissions and "attempt limit reached" in submissions
    assert "the grader could not grade it [service error: OSError: disk]" in submissions
    assert "not a submission folder: &lt;b&gt;x&lt;/b&gt;" in html.split('id="cnnkit-others"')[1]
    assert "Late penalty: 10% of the score per started day late, at most 50%, after a grace of 10 minutes." in html
    for hostile in ("<script>", "<img", "<b>x"):
        assert hostile not in html, hostile
    state.close()


def test_the_class_csv_has_one_line_per_submission_and_no_cell_a_spreadsheet_runs(tmp_path):
    state = a_class(tmp_path)
    view = class_view(state, late_policy(), "cnn_step_by_step", ROSTER, lambda student: None, PREFIX)
    text = class_csv(view)
    lines = list(csv.DictReader(io.StringIO(text)))
    alice = [line for line in lines if line["student_id"] == "alice"]
    assert [(line["attempt"], line["status"], line["official"]) for line in alice] == [
        ("1", "graded, feedback released", "yes"),
        ("", "not graded", ""),  # refused: it used no attempt
    ]
    assert (alice[0]["score"], alice[0]["late_penalty"], alice[0]["score_before_penalty"]) == ("54.0", "6.0", "60.0")
    assert alice[1]["feedback_url"] == f"{PREFIX}feedback/{feedback_id('a2')}"
    assert [line["status"] for line in lines if line["student_id"] == "dave"] == ["no submission"]
    for cells in csv.reader(io.StringIO(text)):
        for cell in cells:
            assert not cell.startswith(("=", "+", "-", "@")), cell
    mallory = next(line for line in lines if line["student_id"] == "'=mallory")
    assert mallory["first_name"] == '\'=HYPERLINK("http://evil")' and mallory["last_name"] == "'@SUM(A1)"
    assert ",54.0,6.0,60.0,100.0," in text  # scores are bare numbers
    state.close()


def test_the_feedback_address_serves_a_placed_page_to_its_student_only_and_never_through_a_link(tmp_path):
    state = a_class(tmp_path)
    outbound = tmp_path / "exchange" / "feedback"
    feedback.place(outbound, "s-a1", {"cnn_step_by_step": "<html>alice's attempt 1</html>"})
    # What the pages read of the service: its assignment, notebook and the exchange's feedback folder.
    service = SimpleNamespace(assignment="cnn_step_by_step", notebook="cnn_step_by_step.ipynb", outbound=outbound)
    site = Site(service, state, PREFIX)
    ident = feedback_id("a1")
    assert site.feedback_row("alice", ident)["name"] == "a1"
    assert site.feedback_row("bob", ident) is None  # another student: as if there were no such submission
    assert site.feedback_row("alice", feedback_id("b1")) is None
    assert site.feedback_row("alice", "0" * 24) is None
    answer = site.feedback_page(site.feedback_row("alice", ident))
    assert (answer.code, answer.body, answer.kind) == (200, "<html>alice's attempt 1</html>", "page")

    refused = site.feedback_row("alice", feedback_id("a2"))
    assert site.feedback_page(refused).kind == "not-yet"  # decided, its page not placed yet: reload in a moment
    with state.transaction():
        state.event("a2", "told", "no page: OSError")
    assert site.feedback_page(refused).code == 404

    page_path = feedback.page_path(outbound, "s-a1", "cnn_step_by_step")
    page_path.unlink()
    (tmp_path / "secret.txt").write_text("not for students")
    page_path.symlink_to(tmp_path / "secret.txt")
    answer = site.feedback_page(site.feedback_row("alice", ident))
    assert answer.code == 404 and "not for students" not in answer.body
    state.close()
