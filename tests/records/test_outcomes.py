"""The batch's records (cnnkit.records.outcomes): the outcomes file, written and read back defensively, and the log."""

import json

import pytest

from cnnkit.records import outcomes


def graded(student, seconds=3.14159, host="grader1"):
    return {**outcomes.failure(student, outcomes.GRADED, "", seconds), "host": host, "log": f"log of {student}"}


def entries(root, assignment="ps1"):
    return {student: entry.status for student, entry in outcomes.read_outcomes(root, assignment).items()}


# ---------------------------------------------------------------- written


def test_the_outcomes_file_holds_one_entry_per_student(tmp_path):
    timed_out = outcomes.failure("bob", outcomes.TIMED_OUT, "no result after 40 s", 40.04)
    path = outcomes.write_outcomes(tmp_path, "ps1", [timed_out, graded("alice")])
    assert path == tmp_path / outcomes.OUTCOMES_FILE
    data = json.loads(path.read_text())
    assert data["assignment"] == "ps1"
    assert data["outcomes"] == [
        {"student": "alice", "status": "graded", "message": "", "seconds": 3.14, "host": "grader1"},
        {"student": "bob", "status": "timed out", "message": "no result after 40 s", "seconds": 40.04,
         "host": timed_out["host"]},
    ]  # fmt: skip
    assert all(entry["status"] in outcomes.STATUSES for entry in data["outcomes"])


def test_a_later_batch_replaces_its_students_and_keeps_the_others(tmp_path):
    outcomes.write_outcomes(tmp_path, "ps1", [outcomes.failure("alice", outcomes.CRASHED, "died"), graded("bob")])
    outcomes.write_outcomes(tmp_path, "ps1", [graded("alice"), graded("carol")])
    assert entries(tmp_path) == {"alice": "graded", "bob": "graded", "carol": "graded"}
    folder = (tmp_path / outcomes.OUTCOMES_FILE).parent
    assert [p.name for p in folder.iterdir()] == [outcomes.OUTCOMES_FILE.name]  # no temporary file left


def test_another_assignments_entries_are_not_merged(tmp_path):
    outcomes.write_outcomes(tmp_path, "ps0", [graded("alice")])
    outcomes.write_outcomes(tmp_path, "ps1", [graded("bob")])
    assert [entry["student"] for entry in json.loads((tmp_path / outcomes.OUTCOMES_FILE).read_text())["outcomes"]] == [
        "bob"
    ]
    assert outcomes.read_outcomes(tmp_path, "ps0") == {}


def test_an_unreadable_outcomes_file_is_replaced(tmp_path):
    (tmp_path / outcomes.OUTCOMES_FILE).parent.mkdir()
    (tmp_path / outcomes.OUTCOMES_FILE).write_text("{ half written")
    outcomes.write_outcomes(tmp_path, "ps1", [graded("bob")])
    assert entries(tmp_path) == {"bob": "graded"}


def test_a_hand_edited_outcomes_file_keeps_its_good_entries_and_never_stops_the_batch(tmp_path):
    """The batch ends by writing the file: entries of the wrong shape were kept as they were and broke it."""
    path = tmp_path / outcomes.OUTCOMES_FILE
    path.parent.mkdir()
    kept = {"student": "dan", "status": "crashed", "message": "died", "seconds": 1.5, "host": "h"}
    path.write_text(json.dumps({"assignment": "ps1", "outcomes": ["ben", None, {"status": "failed"}, kept]}))
    outcomes.write_outcomes(tmp_path, "ps1", [graded("bob")])
    assert json.loads(path.read_text())["outcomes"] == [outcomes.Entry.of(graded("bob")).__dict__, kept]


def test_a_link_planted_under_the_outcomes_file_is_replaced_not_written_through(tmp_path):
    target = tmp_path / "elsewhere.txt"
    target.write_text("the instructor's")
    (tmp_path / outcomes.OUTCOMES_FILE).parent.mkdir()
    (tmp_path / outcomes.OUTCOMES_FILE).symlink_to(target)
    outcomes.write_outcomes(tmp_path, "ps1", [graded("bob")])
    assert target.read_text() == "the instructor's"
    assert not (tmp_path / outcomes.OUTCOMES_FILE).is_symlink() and entries(tmp_path) == {"bob": "graded"}


def test_the_log_has_each_submission_s_header_and_nbgrader_log_in_order(tmp_path):
    path = tmp_path / outcomes.LOG_FILE
    outcomes.write_log(
        path, [graded("bob", 2.0), outcomes.failure("alice", outcomes.ERROR, "kit failed", 0.5, "trace")]
    )
    assert path.read_text() == (
        "===== bob: graded (2.0 s on grader1) \nlog of bob\n"
        f"===== alice: error (0.5 s on {outcomes.failure('x', 'error', '')['host']}) kit failed\ntrace\n"
    )


# ---------------------------------------------------------------- read defensively


def write_outcomes(root, data):
    path = root / outcomes.OUTCOMES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))


def test_outcomes_give_each_not_graded_students_reason(tmp_path):
    write_outcomes(
        tmp_path,
        {
            "assignment": "a",
            "outcomes": [
                {"student": "ann", "status": "graded", "message": "", "seconds": 2.0, "host": "h"},
                {
                    "student": "ben",
                    "status": "timed out",
                    "message": "no result after 60 s",
                    "seconds": 60,
                    "host": "h",
                },
                {"student": "cat", "status": "failed", "message": "", "seconds": 1.0, "host": "h"},
            ],
        },
    )
    reasons = outcomes.not_graded_reasons(tmp_path, "a")
    assert sorted(reasons) == ["ben", "cat"]
    assert reasons["ben"].reason == "timed out: no result after 60 s"
    assert reasons["cat"].reason == f"failed: nbgrader failed on it (its log: {outcomes.LOG_FILE})"
    assert outcomes.read_outcomes(tmp_path, "a")["ann"].graded
    assert outcomes.read_outcomes(tmp_path, "another assignment") == {}


@pytest.mark.parametrize(
    "data",
    [
        "",
        "not json {",
        "[1, 2]",
        '"a string"',
        "[" * 100_000,  # nested too deep for the parser
        {"assignment": "a"},
        {"assignment": "a", "outcomes": "ben"},
        {"assignment": "a", "outcomes": {"ben": "failed"}},
        {"assignment": ["a"], "outcomes": []},
    ],
    ids=["empty", "not-json", "list", "string", "deep", "no-outcomes", "outcomes-string", "outcomes-dict", "bad-name"],
)
def test_a_malformed_outcomes_file_is_ignored(tmp_path, data):
    write_outcomes(tmp_path, data)
    assert outcomes.read_outcomes(tmp_path, "a") == {}


def test_malformed_records_are_left_out_and_good_ones_kept(tmp_path):
    good = {"student": "ben", "status": "crashed", "message": 42}  # a message of the wrong type is dropped
    bad = [
        "ben",
        None,
        {"student": "", "status": "failed"},
        {"student": 7, "status": "failed"},
        {"student": "cat", "status": "exploded"},
        {"student": "dan"},
        {"student": ["eve"], "status": "failed"},
    ]
    write_outcomes(tmp_path, {"assignment": "a", "outcomes": [*bad, good]})
    found = outcomes.read_outcomes(tmp_path, "a")
    assert list(found) == ["ben"]
    assert found["ben"].reason == "crashed: the grading process died"


def test_an_outcomes_file_over_the_size_bound_is_not_read(tmp_path, monkeypatch):
    record = {"student": "ben", "status": "failed", "message": "x"}
    write_outcomes(tmp_path, {"assignment": "a", "outcomes": [record]})
    assert outcomes.read_outcomes(tmp_path, "a")
    monkeypatch.setattr(outcomes, "MAX_BYTES", 10)
    assert outcomes.read_outcomes(tmp_path, "a") == {}


def test_no_outcomes_file_means_no_reasons(tmp_path):
    assert outcomes.not_graded_reasons(tmp_path, "a") == {}
