"""The cause of a failed conversion, taken from the exception nbgrader's converter was handling (in-process).

A real nbconvert preprocessor raises on one cell of a notebook; the error is logged the way nbgrader's
converter logs it (inside its ``except`` block, the traceback as text). The keeper names the exception,
the step and the cell from the exception itself.
"""

import logging
import shutil
import traceback

from nbconvert.preprocessors import Preprocessor
from nbformat.v4 import new_code_cell, new_notebook

from cnnkit import compat, course
from cnnkit.records.outcomes import CRASHED, FAILED, GRADED, REFUSED
from cnnkit.records.packed import pack
from cnnkit.scale.cause import keeping_cause
from cnnkit.scale.pool import GradingProcess
from cnnkit.scale.worker import failure_message


class Exploding(Preprocessor):
    """Fails on the cell whose source is 'boom', as a pipeline step would on a record it cannot read."""

    def preprocess_cell(self, cell, resources, index):
        if cell.source == "boom":
            raise ValueError("cannot create an OBJECT array\nfrom memory buffer")
        return cell, resources


def notebook():
    nb = new_notebook(cells=[new_code_cell("x = 1"), new_code_cell("boom")])
    nb.cells[1].metadata["nbgrader"] = {"grade_id": "test_zero_pad", "grade": True}
    return nb


def convert_as_nbgrader_does(log):
    """BaseConverter.convert_notebooks' handling of a failing notebook: log in the except block, go on."""
    try:
        Exploding().preprocess(notebook(), {})
    except Exception:
        log.error("There was an error processing assignment: %s", "submitted/mallory/cnn_step_by_step")
        log.error(traceback.format_exc())
    log.error("There was an error processing assignment 'cnn_step_by_step' for student 'mallory'")


def test_the_exception_its_step_and_its_cell_are_kept():
    log = logging.getLogger("CauseTestApp")
    with keeping_cause("CauseTestApp") as keeper:
        convert_as_nbgrader_does(log)
    assert keeper.cause() == (
        "ValueError: cannot create an OBJECT array from memory buffer (in Exploding, cell 2 (test_zero_pad))"
    )
    assert keeper not in log.filters


def test_an_error_logged_without_an_exception_is_kept_as_its_words():
    with keeping_cause("CauseTestApp") as keeper:
        logging.getLogger("CauseTestApp").error("No notebooks were matched by '%s'", "submitted/*/x/*.ipynb")
    assert keeper.cause() == "No notebooks were matched by 'submitted/*/x/*.ipynb'"


def test_no_error_no_cause():
    with keeping_cause("CauseTestApp") as keeper:
        logging.getLogger("CauseTestApp").warning("a warning is no failure")
    assert keeper.cause() == ""


def test_every_outcome_that_is_not_graded_says_why():
    assert failure_message(GRADED, 0, "") == ""
    assert failure_message(FAILED, 1, "KeyError: 'x' (in VerifyResults, cell 3)") == (
        "KeyError: 'x' (in VerifyResults, cell 3)"
    )
    assert failure_message(FAILED, 1, "") == "nbgrader exited 1 without logging why"
    assert failure_message(REFUSED, "the sandbox cannot start", "") == "the sandbox cannot start"


def test_a_grading_process_that_dies_leaves_its_last_words_in_the_message(tmp_path):
    """A real grading process whose course configuration kills it as it loads: the outcome quotes it."""
    course_copy = tmp_path / "course"
    shutil.copytree(course.ROOT / "cnnkit", course_copy / "cnnkit", ignore=shutil.ignore_patterns("__pycache__"))
    (course_copy / "nbgrader_config.py").write_text(
        'import os, sys\nprint("Fatal: the course configuration stopped here", file=sys.stderr, flush=True)\nos._exit(3)\n'
    )
    bundle = tmp_path / "bundle.tar.gz"
    bundle.write_bytes(pack(course_copy))
    grader = GradingProcess(bundle, tmp_path / "workspace")
    try:
        outcome = grader.grade({"student": "ann"}, timeout=120)
    finally:
        grader.close()
    assert outcome["status"] == CRASHED
    assert outcome["message"].endswith("; its last words: Fatal: the course configuration stopped here")


def test_the_cause_survives_the_apps_own_logging_setup(tmp_path):
    """Real `nbgrader autograde` in this process (as a grading process runs it), on a course with nothing submitted."""
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.root = %r\n" % str(tmp_path))
    with keeping_cause() as keeper:
        code, log = compat.run_nbgrader_in(tmp_path, ["autograde", "ps1"])
    assert code == 1 and "No notebooks were matched" in log
    assert keeper.cause().startswith("No notebooks were matched by ")
