"""Grading on submit, end to end: real exchange, real nbgrader submit and fetch_feedback, real grading.

One course for the module, one run of the service (--once) over every case, 4 gradings in all:
- alice: the master's solutions, on time (extension): full marks;
- bob: the usual slips, late (no extension): a capped late penalty;
- carol: the notebook renamed: not graded, told why;
- dave: solutions, then the slips (worse: the best attempt stays official), then a third attempt
  past the limit of 2: refused, told so.
"""

import csv
import subprocess
import sys

import pytest
from nbgrader.api import Gradebook

from cnnkit import course
from cnnkit.hub.feedback import add_header, points
from cnnkit.policy.ledger import State
from cnnkit.spec import totals
from tests.hub.support import (
    MISTAKEN_RAW,
    NB,
    fetch_feedback,
    hub_course,
    mistaken,
    run_service_once,
    service_env,
    submit,
)
from tests.support import clone_course, db_url, run_nbgrader

pytestmark = pytest.mark.slow(65)  # scheduled early, the longest first (tests/conftest.py)

FULL = 150.0
CAP = 0.3
POLICY = [
    "c.SubmitPolicy.max_graded_attempts = 2",
    'c.SubmitPolicy.counts = "best"',
    'c.SubmitPolicy.deadline = "2020-01-01 00:00 UTC"',  # long past: late unless extended
    "c.SubmitPolicy.late_penalty_per_day = 0.1",
    f"c.SubmitPolicy.late_penalty_cap = {CAP}",
    "c.SubmitPolicy.grace_minutes = 10",
    'c.SubmitPolicy.extensions_csv = "extensions.csv"',
    'c.CanvasExport.assignment_ids = {"cnn_step_by_step": "111"}',
]
ROSTER = """\
id,first_name,last_name,email,lms_user_id,sis_user_id,sis_login_id,section
alice,Alice,Liddell,alice@uni.example,101,S1,al,A
bob,Bob,Babbage,bob@uni.example,102,S2,bb,A
carol,Carol,Shaw,carol@uni.example,103,S3,cs,A
dave,Dave,Bowman,dave@uni.example,104,S4,db,A
"""


@pytest.fixture(scope="module")
def served(released_course, tmp_path_factory):
    root = hub_course(released_course, tmp_path_factory.mktemp("hub"), POLICY)
    (root / "extensions.csv").write_text("student_id,deadline,extra_days\nalice,2100-01-01 00:00 UTC,\ndave,,40000\n")
    (root / "roster.csv").write_text(ROSTER)
    roster = subprocess.run(
        [sys.executable, "-m", "cnnkit", "roster", "roster.csv"], cwd=root, env=service_env(), capture_output=True
    )
    assert roster.returncode == 0, roster.stderr
    submit(root, "alice")
    submit(root, "bob", mistaken)
    submit(root, "carol", name="my_work.ipynb")
    submit(root, "dave")
    submit(root, "dave", mistaken)
    submit(root, "dave")
    result = run_service_once(root)
    return root, result


def official(root, student):
    with Gradebook(db_url(root)) as gradebook:
        found = totals.submission_totals(gradebook.find_submission(course.ASSIGNMENT, student))
        return round(found.total, 4), round(found.penalty, 4)


def rows(root, student):
    state = State(root, readonly=True)
    try:
        return state.rows(student=student)
    finally:
        state.close()


def test_solutions_on_time_get_full_marks_in_the_released_feedback(served):
    root, _ = served
    pages = list(fetch_feedback(root, "alice").values())
    assert len(pages) == 1
    assert "This submission (attempt 1): 150 of 150</li>" in pages[0]
    assert "Official score (best graded attempt counts): 150 of 150 (attempt 1)" in pages[0]
    assert "attempts left: 1" in pages[0]
    assert official(root, "alice") == (FULL, 0.0)


def test_a_late_submission_loses_the_capped_penalty_and_its_mistakes_are_named(served):
    root, _ = served
    penalty = round(MISTAKEN_RAW * CAP, 4)  # years late: the cap
    assert official(root, "bob") == (round(MISTAKEN_RAW - penalty, 4), penalty)
    (page,) = fetch_feedback(root, "bob").values()
    assert f"after a late penalty of {penalty:.2f}".rstrip("0") in page
    assert "Looks like" in page  # the kit names the slip (docs: feedback that explains)
    with Gradebook(db_url(root)) as gradebook:
        due = gradebook.find_assignment(course.ASSIGNMENT).duedate
    assert str(due) == "2020-01-01 00:00:00"  # the policy's deadline, in nbgrader's gradebook


def test_a_submission_that_cannot_be_graded_is_reported_to_student_and_instructor(served):
    root, _ = served
    (page,) = fetch_feedback(root, "carol").values()
    assert "This submission was not graded: no notebook named cnn_step_by_step.ipynb was submitted" in page
    assert "my_work.ipynb" in page
    (row,) = rows(root, "carol")
    assert row["status"] == "failed" and row["attempt"] is None
    assert "carol: NOT GRADED (failed)" in (root / "logs" / "submit-service.log").read_text()
    assert not (root / "submitted" / "carol").exists()  # nothing for make autograde to stumble on


def test_the_best_attempt_stays_official_and_the_attempt_limit_refuses(served):
    root, _ = served
    first, second, third = rows(root, "dave")
    assert (first["status"], first["attempt"], first["score"]) == ("done", 1, FULL)
    assert (second["status"], second["attempt"]) == ("done", 2) and second["score"] == pytest.approx(MISTAKEN_RAW)
    assert third["status"] == "refused" and "attempt limit reached: 2 of 2" in third["reason"]
    assert official(root, "dave") == (FULL, 0.0)  # the gradebook holds the best, not the last graded
    pages = fetch_feedback(root, "dave")
    by_attempt = {key: pages[key] for key in sorted(pages)}
    texts = list(by_attempt.values())
    assert "This submission (attempt 1): 150 of 150" in texts[0]
    assert f"This submission (attempt 2): {points(MISTAKEN_RAW)} of 150" in texts[1]
    assert "Official score (best graded attempt counts): 150 of 150 (attempt 1)" in texts[1]
    assert "not graded: attempt limit reached" in texts[2] and "attempts left: 0" in texts[2]
    assert "Official score (best graded attempt counts): 150 of 150 (attempt 1)" in texts[2]
    submitted = (root / "submitted" / "dave" / course.ASSIGNMENT / "submission_secret.txt").read_text()
    inbound = root.parent / "exchange" / "cnn-step-by-step" / "inbound" / first["name"]
    assert submitted == (inbound / "submission_secret.txt").read_text()  # submitted/ holds attempt 1 too


def test_each_graded_submission_was_graded_once(served):
    root, _ = served
    state = State(root, readonly=True)
    graded = [event["name"] for event in state.events(event="graded")]
    released = [event["name"] for event in state.events(event="released")]
    state.close()
    assert sorted(graded) == sorted(set(graded)) and len(graded) == 4
    assert sorted(released) == sorted(graded)


def test_make_autograde_agrees_with_the_service(served):
    root, _ = served
    before = {student: official(root, student) for student in ("alice", "bob", "dave")}
    result = subprocess.run(
        [sys.executable, "-m", "cnnkit", "autograde", "--force", "--student", "alice", "bob", "dave"],
        cwd=root,
        env=service_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert {student: official(root, student) for student in before} == before
    assert before["dave"] == (FULL, 0.0) and before["bob"][1] > 0


def test_grades_csv_and_lms_files_show_the_penalty(served):
    root, _ = served
    bob_total, bob_penalty = official(root, "bob")
    run_nbgrader(root, "export", "--to", str(root / "grades.csv"))
    with open(root / "grades.csv", newline="") as handle:
        grades = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert float(grades["bob"]["late_submission_penalty"]) == pytest.approx(bob_penalty, abs=0.005)  # 2 decimals
    assert float(grades["bob"]["score"]) == pytest.approx(bob_total, abs=0.01)
    for exporter, key in (("CanvasExport", "Babbage"), ("MoodleExport", "bob@uni.example")):
        path = root / f"{exporter}.csv"
        run_nbgrader(root, "export", f"--exporter=cnnkit.results.lms.{exporter}", f"--to={path}")
        with open(path, newline="") as handle:
            found = [row for row in csv.reader(handle) if key in row[0]]
        assert float(found[0][-1]) == pytest.approx(bob_total, abs=0.01), (exporter, found)


def test_the_instructor_report_lists_every_submission(served):
    root, _ = served
    result = subprocess.run(
        [sys.executable, "-m", "cnnkit.hub.service", "--course", str(root), "--report"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert len(lines) == 6
    assert any(line.startswith("carol") and "failed" in line and NB in line for line in lines)


def test_the_grading_process_made_the_feedback_nbgrader_makes(served, tmp_path):
    """The service's page is generate_feedback's page for that attempt (made in the grading process), plus its header."""
    root, _ = served
    state = State(root, readonly=True)
    try:
        (row,) = state.rows(student="alice")
        assert state.blob(row["name"], "outcome")["feedback"] is not None  # not made again by the service
    finally:
        state.close()
    name = NB.replace(".ipynb", ".html")
    page = (root / "feedback" / "alice" / course.ASSIGNMENT / name).read_text()
    assert "submit-service-work" not in page  # no path of the grading process's scratch course
    again = clone_course(root, tmp_path / "course")
    run_nbgrader(again, "generate_feedback", course.ASSIGNMENT, "--student=alice", "--force")
    expected = (again / "feedback" / "alice" / course.ASSIGNMENT / name).read_text()
    assert add_header(page, "") == expected
