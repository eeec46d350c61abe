"""Faults in one submission are contained: clear outcome for it, normal grading for the others.

One autograde batch holds a control submission and one submission per fault.
"""

import json
import time

import nbformat
import pytest

from cnnkit import course
from cnnkit.results import run_summary, scores
from cnnkit.spec import notebook, samples
from tests.support import clone_course, db_url, run_nbgrader

pytestmark = pytest.mark.slow(70)  # scheduled early, the longest first (tests/conftest.py)

FULL = samples.SAMPLES["sample-complete"][1]
NB_NAME = f"{course.ASSIGNMENT}.ipynb"
# Execute.timeout of this course. The looping zero_pad hangs every cell that calls it (six of them), so each
# second here costs six of busy CPU; the slowest cell of a correct notebook takes about 0.35 s.
CELL_TIMEOUT = 4


def answered(**replacements):
    """The release filled with correct answers, some replaced by the given code."""
    answers = {**notebook.solutions(), **{k: v.strip() for k, v in replacements.items()}}
    return notebook.fill_in(samples.release_notebook(), answers)


def without_cell(nb, grade_id):
    nb.cells = [cell for cell in nb.cells if notebook.grade_id(cell) != grade_id]
    return nb


def with_cell_source(nb, grade_id, source):
    for cell in nb.cells:
        if notebook.grade_id(cell) == grade_id:
            cell.source = source
    return nb


def with_kernel(nb, name):
    nb.metadata["kernelspec"] = {"name": name, "display_name": name, "language": name}
    return nb


# Submissions that are notebooks (graded): student -> (notebook, expected per-cell scores).
def notebook_faults():
    loop = "def zero_pad(X, pad):\n    while True:\n        pass"
    exits = "def conv_forward(A_prev, W, b, hparameters):\n    import os\n    os._exit(1)"
    segfault = 'def pool_forward(A_prev, hparameters, mode="max"):\n    import ctypes\n    return ctypes.string_at(0)'
    # One 20 MB line: nbgrader's LimitOutput counts lines, so only the kit's byte cap stops this.
    flood = 'print("spam" * 5_000_000)\n' + notebook.solutions()["distribute_value"]
    return {
        "control": (answered(), FULL),
        "infinite-loop": (answered(zero_pad=loop), {**FULL, "test_zero_pad": 0}),
        "kernel-exits": (answered(conv_forward=exits), {**FULL, "test_conv_forward": 0}),
        "segfault": (answered(pool_forward=segfault), {**FULL, "test_pool_forward": 0}),
        "output-flood": (answered(distribute_value=flood), FULL),
        "deleted-check-cell": (without_cell(answered(), "test_conv_forward"), FULL),
        "edited-check-cell": (with_cell_source(answered(), "test_zero_pad", 'print("all good, trust me")'), FULL),
        "changed-kernelspec": (with_kernel(answered(), "ir"), FULL),
    }


def write_raw(root, student, files):
    folder = root / "submitted" / student / course.ASSIGNMENT
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)


@pytest.fixture(scope="module")
def faulty_course(released_course, tmp_path_factory):
    root = clone_course(released_course, tmp_path_factory.mktemp("faults"))
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.Execute.timeout = {CELL_TIMEOUT}\nc.ContainedExecute.notebook_budget = 90\n")
    for student, (nb, _) in notebook_faults().items():
        samples.write_submission(root, student, nb)
    good = nbformat.writes(answered())
    write_raw(root, "malformed-json", {NB_NAME: "this is not a notebook"})
    write_raw(root, "truncated", {NB_NAME: good[: len(good) // 2]})
    write_raw(root, "missing-notebook", {"notes.txt": "forgot to upload"})
    write_raw(root, "renamed-notebook", {f"{course.ASSIGNMENT}-Copy1.ipynb": good})
    write_raw(root, "extra-notebook", {NB_NAME: good, "scratch.ipynb": good})
    started = time.perf_counter()
    result = run_nbgrader(root, "autograde", course.ASSIGNMENT, check=False)
    return root, result, time.perf_counter() - started


@pytest.mark.parametrize("student", sorted(notebook_faults()))
def test_fault_costs_only_its_own_function(faulty_course, student):
    root, result, _ = faulty_course
    assert scores.cell_scores(db_url(root), student) == pytest.approx(notebook_faults()[student][1]), result.stdout


def test_extra_notebook_is_ignored_and_the_right_one_graded(faulty_course):
    root, _, _ = faulty_course
    assert scores.cell_scores(db_url(root), "extra-notebook") == pytest.approx(FULL)


@pytest.mark.parametrize("student", ["missing-notebook", "renamed-notebook"])
def test_no_gradable_notebook_scores_zero(faulty_course, student):
    root, result, _ = faulty_course
    cells = scores.cell_scores(db_url(root), student)
    assert cells is None or sum(cells.values()) == 0
    assert student in result.stdout + result.stderr


@pytest.mark.parametrize("student", ["malformed-json", "truncated"])
def test_unreadable_notebook_is_reported_and_the_batch_goes_on(faulty_course, student):
    root, result, _ = faulty_course
    assert result.returncode == 1  # nbgrader says some submissions failed
    assert f"for student '{student}'" in result.stdout + result.stderr
    assert not (root / "autograded" / student / course.ASSIGNMENT / NB_NAME).exists()


def test_the_batch_finishes_in_bounded_time(faulty_course):
    _, _, seconds = faulty_course
    assert seconds < 400  # 13 submissions, one of them hanging in six cells, each cut at CELL_TIMEOUT


def test_a_dead_kernel_is_explained_in_the_graded_notebook(faulty_course):
    root, _, _ = faulty_course
    text = (root / "autograded" / "kernel-exits" / course.ASSIGNMENT / NB_NAME).read_text()
    assert "KernelDied" in text


def test_printed_output_is_capped(faulty_course):
    root, _, _ = faulty_course
    graded = notebook.read(root / "autograded" / "output-flood" / course.ASSIGNMENT / NB_NAME)
    cell = next(c for c in graded.cells if notebook.grade_id(c) == "distribute_value")
    assert len(json.dumps(cell.outputs)) < 1_200_000
    assert "output cut after" in json.dumps(cell.outputs)


@pytest.mark.parametrize(
    "student, reason",
    [
        ("edited-check-cell", "edited a read-only cell (restored for grading)"),
        ("deleted-check-cell", "deleted a read-only cell (put back for grading)"),
        ("changed-kernelspec", "changed the kernel to 'ir'"),
    ],
)
def test_changes_to_the_notebook_are_flagged(faulty_course, student, reason):
    root, _, _ = faulty_course
    report = json.loads((root / "autograded" / student / course.ASSIGNMENT / "integrity.json").read_text())
    assert any(reason in flag["reason"] for flag in report["flags"])


def test_the_control_submission_has_no_flags(faulty_course):
    root, _, _ = faulty_course
    report = json.loads((root / "autograded" / "control" / course.ASSIGNMENT / "integrity.json").read_text())
    assert report["flags"] == []


@pytest.mark.parametrize(
    "student, words",
    [
        ("control", "graded: core 100.00/100, optional 50.00/50"),
        ("malformed-json", "NOT GRADED (scores 0): cnn_step_by_step.ipynb is not a valid notebook"),
        ("truncated", "NOT GRADED (scores 0): cnn_step_by_step.ipynb is not a valid notebook"),
        ("missing-notebook", "NOT GRADED (scores 0): no notebook was submitted (found: notes.txt)"),
        ("renamed-notebook", "rename it to cnn_step_by_step.ipynb"),
        ("extra-notebook", "ignored extra notebook(s) scratch.ipynb"),
        ("edited-check-cell", "integrity flag(s): edited a read-only cell"),
    ],
)
def test_the_run_report_has_a_clear_line_per_submission(faulty_course, student, words):
    root, _, _ = faulty_course
    lines = {line.split(":")[0]: line for line in run_summary.run_report(root)}
    assert words in lines[student]
