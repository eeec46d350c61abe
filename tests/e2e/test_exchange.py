"""The JupyterHub-style exchange workflow, with a local exchange directory."""

import nbformat

from cnnkit import course
from cnnkit.results import scores
from cnnkit.spec import notebook
from tests.support import copy_course, db_url, run_nbgrader


def test_release_fetch_submit_collect_autograde(tmp_path):
    root = copy_course(tmp_path / "course")
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    student_home = tmp_path / "student"
    student_home.mkdir()
    where = [f"--Exchange.root={exchange}", "--course=cnn-step-by-step"]

    run_nbgrader(root, "generate_assignment", course.ASSIGNMENT, "--force")
    run_nbgrader(root, "release_assignment", course.ASSIGNMENT, *where)

    # The student fetches into their own folder, answers, and submits.
    run_nbgrader(root, "fetch_assignment", course.ASSIGNMENT, *where, cwd=student_home)
    fetched = student_home / course.ASSIGNMENT / f"{course.ASSIGNMENT}.ipynb"
    answered = notebook.fill_in(notebook.read(fetched), notebook.solutions())
    nbformat.write(answered, str(fetched))
    run_nbgrader(root, "submit", course.ASSIGNMENT, *where, cwd=student_home)

    collected = run_nbgrader(root, "collect", course.ASSIGNMENT, *where)
    students = sorted(p.name for p in (root / "submitted").iterdir())
    assert len(students) == 1, collected.stdout + collected.stderr

    run_nbgrader(root, "autograde", course.ASSIGNMENT)
    assert sum(scores.cell_scores(db_url(root), students[0]).values()) == 150


def test_zip_collect_files_named_by_the_lms(tmp_path):
    """Without a hub: downloaded files go through zip_collect into submitted/<student>/."""
    root = copy_course(tmp_path / "course")
    run_nbgrader(root, "generate_assignment", course.ASSIGNMENT, "--force")
    archive = root / "downloaded" / course.ASSIGNMENT / "archive"
    archive.mkdir(parents=True)
    answered = notebook.fill_in(notebook.read(course.RELEASE / f"{course.ASSIGNMENT}.ipynb"), notebook.solutions())
    nbformat.write(answered, str(archive / f"smithjane_12345_67890_{course.ASSIGNMENT}.ipynb"))
    nbformat.write(answered, str(archive / f"doejohn_{course.ASSIGNMENT}-1.ipynb"))

    run_nbgrader(root, "zip_collect", course.ASSIGNMENT)
    for student in ("smithjane", "doejohn"):
        assert (root / "submitted" / student / course.ASSIGNMENT / f"{course.ASSIGNMENT}.ipynb").exists()
