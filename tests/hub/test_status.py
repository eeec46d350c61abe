"""What a student is shown: only their own attempts, attempts left, next graded time, official score; escaped."""

import datetime

from traitlets.config import Config

from cnnkit.hub.status import as_json, instructor_report, page, student_summary
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
