"""The JupyterHub-style exchange workflow with a local exchange directory, and zip_collect for classes without one."""

import nbformat

from cnnkit import course
from cnnkit.results import scores
from cnnkit.spec import notebook
from tests.support import clone_course, db_url, run_nbgrader


def test_release_fetch_submit_collect_autograde(graded_course):
    """conftest.graded_course released to an exchange, fetched, answered, submitted and collected; then graded."""
    inbound = graded_course.parent / "exchange" / "cnn-step-by-step" / "inbound"
    submitted = [path.name.split("+") for path in inbound.iterdir()]
    assert [parts[1] for parts in submitted] == [course.ASSIGNMENT], submitted  # exactly one submission
    student = submitted[0][0]
    fetched = graded_course.parent / "student" / course.ASSIGNMENT / f"{course.ASSIGNMENT}.ipynb"
    collected = graded_course / "submitted" / student / course.ASSIGNMENT
    assert notebook.read(collected / f"{course.ASSIGNMENT}.ipynb") == notebook.read(fetched)
    assert (collected / "timestamp.txt").exists()
    assert sum(scores.cell_scores(db_url(graded_course), student).values()) == 150


def test_zip_collect_files_named_by_the_lms(released_course, tmp_path):
    """Without a hub: downloaded files go through zip_collect into submitted/<student>/."""
    root = clone_course(released_course, tmp_path / "course")
    archive = root / "downloaded" / course.ASSIGNMENT / "archive"
    archive.mkdir(parents=True)
    answered = notebook.fill_in(notebook.read(course.RELEASE / f"{course.ASSIGNMENT}.ipynb"), notebook.solutions())
    downloads = {
        "smithjane": f"smithjane_12345_67890_{course.ASSIGNMENT}.ipynb",
        "doejohn": f"doejohn_{course.ASSIGNMENT}-1.ipynb",
    }
    for name in downloads.values():
        nbformat.write(answered, str(archive / name))

    run_nbgrader(root, "zip_collect", course.ASSIGNMENT)
    for student, name in downloads.items():
        collected = root / "submitted" / student / course.ASSIGNMENT / f"{course.ASSIGNMENT}.ipynb"
        assert notebook.read(collected) == notebook.read(archive / name), student
