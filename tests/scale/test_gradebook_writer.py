"""The gradebook writer copies exactly autograde's fields from a scratch gradebook, and nothing else.

Real nbgrader Gradebooks (SQLite files in a temporary folder); the end-to-end comparison with
stock nbgrader is tests/scale/test_parallel.py.
"""

import datetime
import os
import shutil

import pytest

from cnnkit.scale import gradebook_writer
from tests.support import BIN

ASSIGNMENT = "ps1"
STAMP = datetime.datetime(2026, 3, 1, 12, 30)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A gradebook with ps1 (notebooks one and two, each a graded code cell, a solution cell, a manual cell)."""
    from nbgrader.api import Gradebook

    path = tmp_path_factory.mktemp("gradebook") / "template.db"
    saved = os.environ["PATH"]
    os.environ["PATH"] = f"{BIN}{os.pathsep}{saved}"  # nbgrader runs `alembic` for a new gradebook
    try:
        with Gradebook(f"sqlite:///{path}") as gradebook:
            gradebook.add_assignment(ASSIGNMENT, duedate=STAMP)
            for notebook in ("one", "two"):
                gradebook.add_notebook(notebook, ASSIGNMENT)
                gradebook.add_grade_cell("test_a", notebook, ASSIGNMENT, max_score=10, cell_type="code")
                gradebook.add_grade_cell("essay", notebook, ASSIGNMENT, max_score=5, cell_type="markdown")
                gradebook.add_solution_cell("answer_a", notebook, ASSIGNMENT)
                gradebook.add_solution_cell("essay", notebook, ASSIGNMENT)
            gradebook.add_student("alice")
    finally:
        os.environ["PATH"] = saved
    return path


@pytest.fixture
def books(template, tmp_path):
    """(scratch url, real url): two copies of the template."""
    urls = []
    for name in ("scratch", "real"):
        shutil.copy(template, tmp_path / f"{name}.db")
        urls.append(f"sqlite:///{tmp_path / name}.db")
    return urls


def autograde_writes(url):
    """What SaveAutoGrades and AssignLatePenalties write for alice, done by hand in the scratch gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(url) as gradebook:
        gradebook.update_or_create_submission(ASSIGNMENT, "alice", timestamp=STAMP)
        for notebook, score in (("one", 7.5), ("two", 0.0)):
            autograded = gradebook.find_grade("test_a", notebook, ASSIGNMENT, "alice")
            autograded.auto_score, autograded.needs_manual_grade = score, False
            gradebook.find_grade("essay", notebook, ASSIGNMENT, "alice").needs_manual_grade = True
            gradebook.find_comment("answer_a", notebook, ASSIGNMENT, "alice").auto_comment = f"auto {notebook}"
            gradebook.find_submission_notebook(notebook, ASSIGNMENT, "alice").late_submission_penalty = 1.5
        gradebook.db.commit()


def everything(url, student="alice"):
    """Every field of student's submission, autograde's and the instructor's."""
    from nbgrader.api import Gradebook

    with Gradebook(url) as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, student)
        return {
            "timestamp": submission.timestamp,
            "notebooks": {
                nb.name: {
                    "penalty": nb.late_submission_penalty,
                    "grades": {
                        g.name: (g.auto_score, g.needs_manual_grade, g.manual_score, g.extra_credit) for g in nb.grades
                    },
                    "comments": {c.name: (c.auto_comment, c.manual_comment) for c in nb.comments},
                }
                for nb in submission.notebooks
            },
        }


def write(url, function, *args):
    from nbgrader.api import Gradebook

    with Gradebook(url) as gradebook:
        function(gradebook, ASSIGNMENT, "alice", *args)


def test_the_real_gradebook_gets_the_rows_autograde_wrote_in_the_scratch_one(books):
    scratch, real = books
    autograde_writes(scratch)
    state = gradebook_writer.submission_state(scratch, ASSIGNMENT, "alice")
    write(real, gradebook_writer.write_autograded, state)
    assert everything(real) == everything(scratch)
    assert everything(real)["notebooks"]["one"]["grades"]["test_a"][0] == 7.5


def test_manual_grades_and_comments_survive_a_regrade(books):
    from nbgrader.api import Gradebook

    scratch, real = books
    autograde_writes(scratch)
    with Gradebook(real) as gradebook:
        gradebook.update_or_create_submission(ASSIGNMENT, "alice")
        gradebook.find_grade("essay", "one", ASSIGNMENT, "alice").manual_score = 4
        gradebook.find_grade("test_a", "one", ASSIGNMENT, "alice").extra_credit = 2
        gradebook.find_comment("essay", "one", ASSIGNMENT, "alice").manual_comment = "well argued"
        gradebook.db.commit()
    write(real, gradebook_writer.write_autograded, gradebook_writer.submission_state(scratch, ASSIGNMENT, "alice"))
    one = everything(real)["notebooks"]["one"]
    assert one["grades"]["essay"] == (None, True, 4, None)
    assert one["grades"]["test_a"] == (7.5, False, None, 2)
    assert one["comments"]["essay"] == (None, "well argued")
    assert one["comments"]["answer_a"] == ("auto one", None)


def test_no_state_when_autograde_wrote_no_submission(books):
    assert gradebook_writer.submission_state(books[0], ASSIGNMENT, "alice") is None


def test_an_unfinished_submission_gets_its_row_and_zero_for_missing_notebooks_only(books):
    real = books[1]
    write(real, gradebook_writer.write_unfinished, STAMP, {"one"})
    state = everything(real)
    assert state["timestamp"] == STAMP
    assert state["notebooks"]["two"]["grades"]["test_a"][:2] == (0, False)
    assert state["notebooks"]["one"]["grades"]["test_a"][0] is None  # submitted: left as stock leaves it


def test_a_new_student_is_created(books):
    from nbgrader.api import Gradebook

    scratch, real = books
    with Gradebook(scratch) as gradebook:
        gradebook.add_student("bob")
        gradebook.update_or_create_submission(ASSIGNMENT, "bob", timestamp=STAMP)
    state = gradebook_writer.submission_state(scratch, ASSIGNMENT, "bob")
    with Gradebook(real) as gradebook:
        gradebook_writer.write_autograded(gradebook, ASSIGNMENT, "bob", state)
    assert everything(real, "bob")["timestamp"] == STAMP
