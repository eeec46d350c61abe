"""Feedback pages made in this process, as `nbgrader generate_feedback` makes them, from notebooks judged here.

The course's nbgrader_config.py is loaded as nbgrader loads it; the exporter and its steps are nbgrader's
GenerateFeedback's (its exporter class, template and preprocessors), built as its ``start`` builds them. Only
GetGrades is left out (there is no gradebook): ``as_graded`` writes the verdicts' scores into the cells as
GetGrades writes the gradebook's. The notebooks come from cnnkit.grading.offline (the master notebook with the
answers, run here and judged by VerifyResults): trusted code only.
"""

import contextlib
import copy
import os

from nbgrader.converters import GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import GetGrades
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from cnnkit import course
from cnnkit.grading import offline
from cnnkit.grading.part_policy import verdict_of


@contextlib.contextmanager
def environment_kept():
    """Loading nbgrader_config.py sets the sandbox's variables: leave this process's environment as it was."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def course_config(**overrides):
    """The course's configuration, as nbgrader loads it, with overrides ({section: {name: value}})."""
    with environment_kept():
        config = PyFileConfigLoader("nbgrader_config.py", path=str(course.ROOT)).load_config()
    config.merge(Config(overrides))
    return config


def judged(answers):
    """The master notebook with these answers (function -> source; others left as the stub), run and judged."""
    return offline.graded_notebook(answers)


def as_graded(nb):
    """nb with each check cell's score where GetGrades puts the gradebook's (here: the verdict's)."""
    for cell in nb.cells:
        _, record = verdict_of(cell)
        if record is not None:
            cell.metadata.nbgrader["score"] = record["score"]
    return nb


def exporter_and_steps(config):
    """GenerateFeedback's exporter with its steps registered (GetGrades left out), as its start() builds them."""
    converter = GenerateFeedback(coursedir=CourseDirectory(config=config), config=config)
    exporter = converter.exporter_class(parent=converter, config=converter.config)
    for step in converter.preprocessors:
        if step is not GetGrades:
            exporter.register_preprocessor(step)
    return exporter


def feedback_page(nb, config=None, penalty=0.0, student="student"):
    """(the feedback page of a judged notebook, its resources), made as generate_feedback makes them."""
    exporter = exporter_and_steps(config or course_config())
    nb = as_graded(copy.deepcopy(nb))
    checks = [cell.metadata.nbgrader for cell in nb.cells if "score" in cell.metadata.get("nbgrader", {})]
    resources = {
        "unique_key": course.ASSIGNMENT,
        "metadata": {"name": course.ASSIGNMENT, "path": str(course.ROOT)},
        "nbgrader": {
            "notebook": course.ASSIGNMENT,
            "assignment": course.ASSIGNMENT,
            "student": student,
            "late_penalty": penalty,
            "score": sum(check["score"] for check in checks) - penalty,  # what GenerateFeedback gives its template
            "max_score": sum(check["points"] for check in checks),
        },
    }
    return exporter.from_notebook_node(nb, resources)
