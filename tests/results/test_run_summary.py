"""The run summary (cnnkit.results.run_summary) and the outcomes file reader (cnnkit.records.outcomes),
in-process on a course folder in tmp_path (no nbgrader run)."""

import json

import nbformat
import pytest

from cnnkit import course
from cnnkit.records import outcomes
from cnnkit.results import run_summary, scores
from cnnkit.spec import totals

NB = run_summary.NB_NAME
FULL = {"test_zero_pad": 10, "test_conv_forward": 40, "test_conv_single_step": 10, "test_pool_forward": 40}
FULL |= {"test_conv_backward": 25, "test_create_mask_from_window": 5, "test_distribute_value": 5}
FULL |= {"test_pool_backward": 15}


def put_notebook(folder, name=NB, text=None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text if text is not None else nbformat.writes(nbformat.v4.new_notebook()))


def submitted(root, student):
    return root / "submitted" / student / course.ASSIGNMENT


def autograded(root, student):
    return root / "autograded" / student / course.ASSIGNMENT


def class_scores(**students):
    """ClassScores as the gradebook would give them: student -> (cells, penalty)."""
    return scores.ClassScores(
        dict(FULL),
        {
            name: scores.StudentScores(cells, totals.totals(cells, penalty))
            for name, (cells, penalty) in students.items()
        },
    )


@pytest.fixture
def course_root(tmp_path):
    """ann: graded; ben: graded late, with an extra notebook and an integrity flag; cat: renamed notebook;
    dan: fine but never graded (nbgrader failed); eve: an unreadable notebook."""
    for student in ("ann", "ben", "dan"):
        put_notebook(submitted(tmp_path, student))
    for student in ("ann", "ben"):
        put_notebook(autograded(tmp_path, student))
    put_notebook(submitted(tmp_path, "ben"), "scratch.ipynb")
    (autograded(tmp_path, "ben") / "integrity.json").write_text(json.dumps({"flags": [{"reason": "cell edited"}]}))
    put_notebook(submitted(tmp_path, "cat"), "Copy1.ipynb")
    put_notebook(submitted(tmp_path, "eve"), text="not json")
    return tmp_path


def records(root):
    found = class_scores(ann=(FULL, 0.0), ben=({**FULL, "test_pool_backward": 0}, 27))
    return [run_summary.student_record(root, s, found) for s in ("ann", "ben", "cat", "dan", "eve")]


def test_records_say_who_was_graded_and_why_not(course_root):
    got = {r.student: (r.graded, r.reason) for r in records(course_root)}
    assert got == {
        "ann": (True, run_summary.GRADED),
        "ben": (True, run_summary.GRADED),
        "cat": (False, run_summary.SUBMISSION_PROBLEM),
        "dan": (False, run_summary.NBGRADER_FAILED),
        "eve": (False, run_summary.SUBMISSION_PROBLEM),
    }


def test_rendered_lines_are_the_summary_people_read(course_root):
    lines = dict(line.split(": ", 1) for line in run_summary.render(records(course_root)))
    assert lines["ann"] == "graded: core 100.00/100, optional 50.00/50"
    # ben: raw 135, 27 late: total 108 = 80%, so core 80 and optional 28 (35 x 80%).
    assert lines["ben"].startswith("graded: core 80.00/100, optional 28.00/50 (late penalty 27 taken off)")
    assert "; ignored extra notebook(s) scratch.ipynb" in lines["ben"]
    assert "; 1 integrity flag(s): cell edited (" in lines["ben"]
    assert lines["cat"].startswith(f"NOT GRADED (scores 0): no {NB}, but Copy1.ipynb: rename it to {NB}")
    assert lines["dan"] == (
        "NOT GRADED: nbgrader failed on it; see logs/autograde.log, fix, then `make autograde STUDENT=dan`"
    )
    assert lines["eve"].startswith(f"NOT GRADED (scores 0): {NB} is not a valid notebook (")


def test_a_failure_of_nbgrader_shows_the_cause_the_batch_recorded(course_root):
    cause = "ValueError: cannot create an OBJECT array from memory buffer (in VerifyResults, cell 14 (test_zero_pad))"
    record = {"student": "dan", "status": "failed", "message": cause, "seconds": 2.8, "host": "h"}
    write_outcomes(course_root, {"assignment": course.ASSIGNMENT, "outcomes": [record]})
    reasons = outcomes.not_graded_reasons(course_root, course.ASSIGNMENT)
    found = class_scores(ann=(FULL, 0.0), ben=(FULL, 0.0))
    dan = run_summary.student_record(course_root, "dan", found, reasons)
    assert (dan.reason, dan.text) == (
        run_summary.NBGRADER_FAILED,
        f"NOT GRADED: failed: {cause}; see logs/autograde.log, fix, then `make autograde STUDENT=dan`",
    )
    assert run_summary.student_record(course_root, "ann", found, reasons).graded  # graded since: no reason shown


def test_only_a_failure_of_nbgrader_needs_attention(course_root):
    found = records(course_root)
    assert run_summary.needs_attention(found)
    assert not run_summary.needs_attention([r for r in found if r.student != "dan"])
    assert not run_summary.needs_attention([])


def test_maxima_in_the_lines_come_from_the_gradebook(course_root):
    found = scores.ClassScores({**FULL, "test_zero_pad": 30}, {"ann": scores.StudentScores(FULL, totals.totals(FULL))})
    record = run_summary.student_record(course_root, "ann", found)
    assert record.text == "graded: core 100.00/120, optional 50.00/50"


def test_a_student_missing_from_the_gradebook_is_not_graded(course_root):
    record = run_summary.student_record(course_root, "ann", None)
    assert (record.graded, record.reason) == (False, run_summary.NBGRADER_FAILED)


def write_outcomes(root, data):
    path = root / outcomes.OUTCOMES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
