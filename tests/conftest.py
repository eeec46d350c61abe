"""Fixtures: a throwaway copy of the course, nbgrader run for real inside it."""

import nbformat
import pytest

from cnnkit import course
from cnnkit.spec import samples

from .support import copy_course, run_nbgrader


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory):
    """One autograde batch over every pipeline fixture: samples plus the master notebook itself.

    Returns the course folder after generate_assignment, autograde, generate_feedback and export.
    """
    root = copy_course(tmp_path_factory.mktemp("course"))
    run_nbgrader(root, "generate_assignment", course.ASSIGNMENT, "--force")
    samples.write_samples(root)
    samples.write_submission(root, "master-as-submission", nbformat.read(str(course.MASTER), as_version=4))
    run_nbgrader(root, "autograde", course.ASSIGNMENT)
    run_nbgrader(root, "generate_feedback", course.ASSIGNMENT)
    run_nbgrader(root, "export", "--to", str(root / "grades.csv"))
    return root
