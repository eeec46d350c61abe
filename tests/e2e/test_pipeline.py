"""Autograde, feedback and export on the sample submissions, through real nbgrader."""

import csv
import subprocess
import sys

import pytest
from nbgrader.api import Gradebook

from cnnkit import course
from cnnkit.results import scores
from cnnkit.spec import samples
from cnnkit.spec.parts import FUNCTIONS
from tests.support import clone_course, db_url

FULL_MARKS = samples.SAMPLES["sample-complete"][1]


@pytest.mark.parametrize("student", sorted(samples.SAMPLES))
def test_each_sample_gets_exactly_its_expected_cell_scores(graded_course, student):
    expected = samples.SAMPLES[student][1]
    assert scores.cell_scores(db_url(graded_course), student) == pytest.approx(expected)


def test_the_master_notebook_as_a_submission_gets_full_marks(graded_course):
    assert scores.cell_scores(db_url(graded_course), "master-as-submission") == pytest.approx(FULL_MARKS)


def test_the_untouched_release_scores_zero_and_says_why(graded_course):
    path = graded_course / "autograded" / "sample-untouched" / course.ASSIGNMENT / f"{course.ASSIGNMENT}.ipynb"
    text = path.read_text()
    for name in FUNCTIONS:
        assert f"{name} is not implemented yet" in text


def feedback_html(root, student):
    return (root / "feedback" / student / course.ASSIGNMENT / f"{course.ASSIGNMENT}.html").read_text()


@pytest.mark.parametrize("student", sorted(samples.SAMPLES))
def test_feedback_reports_each_cells_score(graded_course, student):
    html = feedback_html(graded_course, student)
    for grade_id, points in samples.SAMPLES[student][1].items():
        name = grade_id.removeprefix("test_")
        maximum = FULL_MARKS[grade_id]
        assert f"{name}: " in html and f"{points:g} of {maximum:g} points" in html, grade_id


@pytest.mark.parametrize("student", [*sorted(samples.SAMPLES), "master-as-submission"])
def test_feedback_never_shows_hidden_tests(graded_course, student):
    html = feedback_html(graded_course, student)
    for secret in ("HIDDEN TESTS", "_trusted_", "grade(&quot;", "&quot;seed&quot;: 3"):
        assert secret not in html


def test_feedback_explains_a_planted_mistake(graded_course):
    html = feedback_html(graded_course, "sample-partial")
    assert "the bias b was not added" in html  # conv_single_step without the bias
    assert "stride=2" in html and "expected" in html


def test_export_writes_core_and_optional_scores(graded_course):
    with open(graded_course / "grades.csv") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    for student, (_, expected) in samples.SAMPLES.items():
        totals = scores.part_totals(expected)
        assert float(rows[student]["core_score"]) == pytest.approx(totals["core"])
        assert float(rows[student]["optional_score"]) == pytest.approx(totals["optional"])
        assert float(rows[student]["score"]) == pytest.approx(sum(expected.values()))
        assert float(rows[student]["max_score"]) == 150


def test_the_samples_command_names_its_students_in_the_gradebook(released_course, tmp_path):
    """`python -m cnnkit samples` puts the sample students into the gradebook with names, so the formgrader
    and the exports list people rather than "None, None", and gives each a submission time."""
    root = clone_course(released_course, tmp_path / "course")
    result = subprocess.run([sys.executable, "-m", "cnnkit", "samples"], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    with Gradebook(db_url(root)) as gradebook:
        names = {student.id: (student.first_name, student.last_name) for student in gradebook.students}
    assert names == samples.SAMPLE_NAMES
    for student in samples.SAMPLES:
        assert (root / "submitted" / student / course.ASSIGNMENT / "timestamp.txt").read_text().startswith("2026-")
