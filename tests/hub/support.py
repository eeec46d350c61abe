"""A course with a real nbgrader exchange in a temp folder, students who submit through it, and the service."""

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat

from cnnkit import course
from cnnkit.spec import notebook, samples
from tests.support import BIN, clone_course, run_nbgrader

COURSE_ID = "cnn-step-by-step"
NB = f"{course.ASSIGNMENT}.ipynb"


def hub_course(released_course, base, policy_lines):
    """A copy of released_course whose exchange is base/exchange, with the policy lines in its config."""
    root = clone_course(released_course, base / "course")
    exchange = base / "exchange"
    exchange.mkdir()
    with open(root / "nbgrader_config.py", "a") as handle:
        # Every student here is the same Unix account (the test's), so the owner check is off.
        handle.write(f'\nc.Exchange.root = "{exchange}"\nc.SubmitPolicy.check_owner = False\n')
        handle.write("".join(f"{line}\n" for line in policy_lines))
    run_nbgrader(root, "release_assignment", course.ASSIGNMENT)
    return root


def student_env(base, student):
    """Each student's own nbgrader cache (where submit records what fetch_feedback looks for)."""
    home = base / "homes" / student
    home.mkdir(parents=True, exist_ok=True)
    return home, {"JUPYTER_DATA_DIR": str(home / "data")}


def exchange_args(root):
    return [f"--course={COURSE_ID}", f"--Exchange.root={root.parent / 'exchange'}"]


def submit(root, student, answers=None, name=NB, extra=None, nb=None):
    """The student fetches (once), answers (the master's solutions, or answers(solutions)) and submits as name.

    extra: {file name: bytes} submitted beside the notebook (this time only); nb: a notebook to submit as it is.
    Returns the submission's folder in the exchange.
    """
    home, env = student_env(root.parent, student)
    folder = home / course.ASSIGNMENT
    if not folder.exists():
        run_nbgrader(root, "fetch_assignment", course.ASSIGNMENT, *exchange_args(root), cwd=home, env=env)
    for old in folder.glob("*.ipynb"):
        old.unlink()
    solutions = notebook.solutions()
    filled = nb or notebook.fill_in(samples.release_notebook(), answers(solutions) if answers else solutions)
    nbformat.write(filled, str(folder / name))
    for extra_name, data in (extra or {}).items():
        (folder / extra_name).write_bytes(data)
    try:
        result = run_nbgrader(
            root, "submit", course.ASSIGNMENT, *exchange_args(root), f"--student={student}", cwd=home, env=env
        )
    finally:
        for extra_name in extra or {}:
            (folder / extra_name).unlink()
    return Path(re.search(r"Destination: (.*)", result.stdout + result.stderr).group(1).strip())


def fetch_feedback(root, student):
    """nbgrader fetch_feedback as the student: {submission timestamp: feedback page text}."""
    home, env = student_env(root.parent, student)
    run_nbgrader(
        root, "fetch_feedback", course.ASSIGNMENT, *exchange_args(root), f"--student={student}", cwd=home, env=env
    )
    folder = home / course.ASSIGNMENT / "feedback"
    return {path.parent.name: path.read_text() for path in folder.glob("*/*.html")} if folder.exists() else {}


def service_command(root, *args):
    return [sys.executable, "-m", "cnnkit.hub.service", "--course", str(root), "--workers", "2", *args]


def service_env():
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}


def run_service_once(root):
    """The real service, --once, from the course's own copy of the kit; its CompletedProcess."""
    result = subprocess.run(
        service_command(root, "--once"), cwd=root, env=service_env(), capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    return result


mistaken = samples.SAMPLES["sample-partial"][0]  # the slips students make most often
MISTAKEN_RAW = sum(samples.SAMPLES["sample-partial"][1].values())
