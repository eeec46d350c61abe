"""Adding a graded function takes exactly the files docs/extending.md lists: a relu, end to end, for real.

In a copy of the course, the test follows the page: its code blocks become the kit's module, the checker's row
and the check cell (a solution cell is added beside it). It then checks that the files changed are the page's
list, releases through the kit's command (python -m cnnkit release: validation, public data, nbgrader
generate_assignment), and autogrades a correct and a wrong submission with real nbgrader.
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell
from nbgrader.api import Gradebook

from cnnkit import course
from cnnkit.spec import notebook
from tests.support import copy_course, db_url, run_nbgrader

PAGE = course.ROOT / "docs" / "extending.md"
NAME = "relu"
SOLUTION = '''def relu(Z):
    """The positive part of every value of Z."""
    ### BEGIN SOLUTION
    A = np.maximum(Z, 0)
    ### END SOLUTION
    return A
'''
WRONG = {NAME: "def relu(Z):\n    return np.abs(Z)\n"}  # a slip the new model names: abs_instead_of_max


def page_files():
    """The files the page says adding a function takes, for relu."""
    section = PAGE.read_text().split("## The files", 1)[1].split("\n## ", 1)[0]
    return {path.replace("<name>", NAME) for path in re.findall(r"^- `([^`]+)`", section, re.MULTILINE)}


def code_blocks():
    """The page's Python code blocks, in order: the module, the checker's row, the check cell."""
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.DOTALL)


def fingerprints(root):
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def changed(before, after):
    return {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}


def add_relu(root):
    """The three steps of the page, in a copy of the course."""
    module, row, check_cell = code_blocks()
    (root / "cnnkit" / "spec" / "functions" / f"{NAME}.py").write_text(module)
    checks = root / "source" / course.ASSIGNMENT / "cnn_checks.py"
    text = checks.read_text()
    end = "\n}\nPUBLIC_CASES = "
    assert text.count(end) == 1
    checks.write_text(text.replace(end, "\n" + row.rstrip("\n") + end))
    master = root / "source" / course.ASSIGNMENT / f"{course.ASSIGNMENT}.ipynb"
    nb = notebook.read(master)
    meta = {"schema_version": 3, "grade": False, "solution": True, "locked": False, "grade_id": NAME}
    tests = {"schema_version": 3, "grade": True, "solution": False, "locked": True, "grade_id": f"test_{NAME}"}
    nb.cells += [
        new_markdown_cell("### Exercise 9: `relu`\n\nKeep the positive values of `Z`; every other value becomes 0."),
        new_code_cell(SOLUTION, metadata={"nbgrader": meta}),
        new_code_cell(check_cell.strip(), metadata={"nbgrader": {**tests, "points": 5}}),
    ]
    nbformat.write(nb, str(master))


def submit(root, student, answers):
    folder = root / "submitted" / student / course.ASSIGNMENT
    shutil.copytree(root / "release" / course.ASSIGNMENT, folder)
    path = folder / f"{course.ASSIGNMENT}.ipynb"
    nbformat.write(notebook.fill_in(notebook.read(path), answers), str(path))


def cell_scores(root, student):
    with Gradebook(db_url(root)) as gradebook:
        submission = gradebook.find_submission_notebook(
            course.ASSIGNMENT, course.ASSIGNMENT, student
        )  # notebook, assignment, student
        return {grade.name: grade.score for grade in submission.grades}


@pytest.mark.slow
def test_a_new_function_takes_the_documented_files_and_is_graded(tmp_path):
    root = copy_course(tmp_path / "course")
    before = fingerprints(root)
    add_relu(root)
    assert changed(before, fingerprints(root)) == page_files()

    edited = fingerprints(root)
    env = {**os.environ, "PYTHONPATH": str(root)}  # the copy's kit, not this one
    released = subprocess.run(
        [sys.executable, "-m", "cnnkit", "release"], cwd=root, env=env, capture_output=True, text=True
    )
    assert released.returncode == 0, released.stdout[-3000:] + released.stderr[-3000:]
    generated = {path for path in changed(edited, fingerprints(root)) if not path.startswith(("logs/", "gradebook.db"))}
    assert generated and all(
        path.startswith(f"release/{course.ASSIGNMENT}/") or path == f"source/{course.ASSIGNMENT}/public_cases.npz"
        for path in generated
    ), generated

    answers = notebook.solutions(root / "source" / course.ASSIGNMENT / f"{course.ASSIGNMENT}.ipynb")
    assert NAME in answers
    submit(root, "right", answers)
    submit(root, "wrong", {**answers, **WRONG})
    run_nbgrader(root, "autograde", course.ASSIGNMENT)

    right, wrong = cell_scores(root, "right"), cell_scores(root, "wrong")
    points = notebook.points(root / "source" / course.ASSIGNMENT / f"{course.ASSIGNMENT}.ipynb")
    assert points[f"test_{NAME}"] == 5
    assert right == pytest.approx(points)
    assert wrong == pytest.approx({**points, f"test_{NAME}": 0})
    graded = root / "autograded" / "wrong" / course.ASSIGNMENT / f"{course.ASSIGNMENT}.ipynb"
    assert "negative values were made positive (np.abs)" in graded.read_text()
