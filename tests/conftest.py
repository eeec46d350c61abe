"""Fixtures: a throwaway copy of the course, nbgrader run for real inside it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from cnnkit import course, samples

COURSE_FILES = ("source", "release", "nbgrader_config.py", "cnnkit")
BIN = Path(sys.executable).parent


def copy_course(target):
    """A copy of the course (source, release, config, kit) with no generated state."""
    target.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
    for name in COURSE_FILES:
        path = course.ROOT / name
        if path.is_dir():
            shutil.copytree(path, target / name, ignore=ignore)
        else:
            shutil.copy(path, target / name)
    return target


def run_nbgrader(root, *args, check=True, cwd=None, env=None):
    """Run the real nbgrader command line; returns the CompletedProcess (output as text)."""
    full_env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **(env or {})}
    result = subprocess.run(
        [str(BIN / "nbgrader"), *args],
        cwd=cwd or root,
        env=full_env,
        capture_output=True,
        text=True,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


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


def db_url(root):
    return f"sqlite:///{root / 'gradebook.db'}"
