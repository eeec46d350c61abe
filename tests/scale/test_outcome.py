"""The batch's records (cnnkit.scale.outcome): logs/autograde-outcomes.json and logs/autograde.log."""

import json

from cnnkit.scale import outcome


def graded(student, seconds=3.14159, host="grader1"):
    return {**outcome.failure(student, outcome.GRADED, "", seconds), "host": host, "log": f"log of {student}"}


def test_the_outcomes_file_holds_one_record_per_student(tmp_path):
    path = tmp_path / "logs" / "autograde-outcomes.json"
    timed_out = outcome.failure("bob", outcome.TIMED_OUT, "no result after 40 s", 40.04)
    outcome.write_outcomes(path, "ps1", [timed_out, graded("alice")])
    data = json.loads(path.read_text())
    assert data["assignment"] == "ps1"
    assert data["outcomes"] == [
        {"student": "alice", "status": "graded", "message": "", "seconds": 3.14, "host": "grader1"},
        {"student": "bob", "status": "timed out", "message": "no result after 40 s", "seconds": 40.04,
         "host": timed_out["host"]},
    ]  # fmt: skip
    assert all(entry["status"] in outcome.STATUSES for entry in data["outcomes"])


def test_a_later_batch_replaces_its_students_and_keeps_the_others(tmp_path):
    path = tmp_path / "autograde-outcomes.json"
    outcome.write_outcomes(path, "ps1", [outcome.failure("alice", outcome.CRASHED, "died"), graded("bob")])
    outcome.write_outcomes(path, "ps1", [graded("alice"), graded("carol")])
    records = {entry["student"]: entry["status"] for entry in outcome.read_outcomes(path, "ps1")}
    assert records == {"alice": "graded", "bob": "graded", "carol": "graded"}
    assert [p.name for p in tmp_path.iterdir()] == ["autograde-outcomes.json"]  # no temporary file left


def test_another_assignments_records_are_not_merged(tmp_path):
    path = tmp_path / "autograde-outcomes.json"
    outcome.write_outcomes(path, "ps0", [graded("alice")])
    outcome.write_outcomes(path, "ps1", [graded("bob")])
    assert [entry["student"] for entry in json.loads(path.read_text())["outcomes"]] == ["bob"]
    assert outcome.read_outcomes(path, "ps0") == []


def test_an_unreadable_outcomes_file_is_replaced(tmp_path):
    path = tmp_path / "autograde-outcomes.json"
    path.write_text("{ half written")
    outcome.write_outcomes(path, "ps1", [graded("bob")])
    assert [entry["student"] for entry in outcome.read_outcomes(path, "ps1")] == ["bob"]


def test_the_log_has_each_submission_s_header_and_nbgrader_log_in_order(tmp_path):
    path = tmp_path / "logs" / "autograde.log"
    outcome.write_log(path, [graded("bob", 2.0), outcome.failure("alice", outcome.ERROR, "kit failed", 0.5, "trace")])
    assert path.read_text() == (
        "===== bob: graded (2.0 s on grader1) \nlog of bob\n"
        f"===== alice: error (0.5 s on {outcome.failure('x', 'error', '')['host']}) kit failed\ntrace\n"
    )
