"""`nbgrader collect` with the kit's configuration never copies a link in the exchange, nor what it points to."""

import getpass
import os

import nbformat

from cnnkit import course
from cnnkit.ingest import admit
from cnnkit.spec import notebook
from tests.support import clone_course, run_nbgrader

SECRET = "INSTRUCTOR-ONLY-4b1d"


def test_a_link_left_in_the_exchange_is_left_out_and_reported(released_course, tmp_path):
    root = clone_course(released_course, tmp_path / "course")
    (root / "instructor-secret.txt").write_text(SECRET)  # stands for gradebook.db or another student's work
    exchange, home = tmp_path / "exchange", tmp_path / "home"
    exchange.mkdir()
    home.mkdir()
    where = [f"--Exchange.root={exchange}", "--course=cnn-step-by-step"]
    run_nbgrader(root, "release_assignment", course.ASSIGNMENT, *where)
    run_nbgrader(root, "fetch_assignment", course.ASSIGNMENT, *where, cwd=home)
    fetched = home / course.ASSIGNMENT / f"{course.ASSIGNMENT}.ipynb"
    nbformat.write(notebook.fill_in(notebook.read(fetched), notebook.solutions()), str(fetched))
    run_nbgrader(root, "submit", course.ASSIGNMENT, *where, cwd=home)
    inbound = next((exchange / "cnn-step-by-step" / "inbound").iterdir())
    (inbound / "notes.txt").symlink_to(root / "instructor-secret.txt")  # planted after submitting

    result = run_nbgrader(root, "collect", course.ASSIGNMENT, *where)

    student = getpass.getuser()
    collected = root / "submitted" / student / course.ASSIGNMENT
    assert (collected / f"{course.ASSIGNMENT}.ipynb").is_file()
    assert not os.path.lexists(collected / "notes.txt")  # stock collect copied the secret in as a file
    assert "notes.txt: a symbolic link (links are never followed)" in result.stdout + result.stderr
    assert admit.admit_all(root, course.ASSIGNMENT) == {}  # nothing left for the admission gate to move
    for folder, _, names in os.walk(root / "submitted"):
        for name in names:
            assert SECRET not in open(os.path.join(folder, name), errors="ignore").read()
