"""Rebuilding the graded notebook on the release's cell sequence (cnnkit.grading.rebuild)."""

import copy

import nbformat
import pytest

from cnnkit.grading import offline
from cnnkit.grading.rebuild import rebuild
from cnnkit.spec import notebook, samples

RELEASE = samples.release_notebook()
SOLUTIONS = notebook.solutions()


def honest():
    return notebook.fill_in(RELEASE, SOLUTIONS)


def sources(nb):
    return [(cell.cell_type, cell.source) for cell in nb.cells]


def cell(nb, grade_id):
    return next(c for c in nb.cells if notebook.grade_id(c) == grade_id)


def grades(nb):
    """grade_id -> score when the notebook's cells run in-process and are judged as autograde judges them."""
    judged = offline.run_cells(copy.deepcopy(nb), offline.kernel_checks())
    judged, _ = offline.VerifyResults().preprocess(judged, {})
    return {grade_id: record["score"] for grade_id, record in offline.verdicts(judged).items()}


def test_an_honest_notebook_is_unchanged_and_needs_no_repair():
    nb, repairs = rebuild(honest(), RELEASE)
    assert repairs == [] and sources(nb) == sources(honest())
    nbformat.validate(nb)


def test_check_cells_moved_to_the_top_go_back_after_the_answers_they_check():
    """The attack: nothing implemented, two check cells moved first so their trusted helpers become globals."""
    attack = copy.deepcopy(RELEASE)
    moved = [cell(attack, "test_conv_forward"), cell(attack, "test_pool_backward")]
    attack.cells = moved + [
        c for c in attack.cells if notebook.grade_id(c) not in ("test_conv_forward", "test_pool_backward")
    ]
    nb, repairs = rebuild(attack, RELEASE)
    assert sources(nb) == sources(RELEASE)
    assert any("moved" in repair for repair in repairs)


@pytest.mark.parametrize(
    "edit, repaired",
    [
        ("check-cell-as-markdown", "test_zero_pad"),
        ("answer-as-1000-point-test", "zero_pad: nbgrader metadata edited"),
        ("duplicated-grade-id", "zero_pad"),
        ("check-cell-deleted", "test_conv_forward"),
    ],
)
def test_edited_nbgrader_metadata_is_undone(edit, repaired):
    attack = honest()
    if edit == "check-cell-as-markdown":
        cell(attack, "test_zero_pad").cell_type = "markdown"
    elif edit == "answer-as-1000-point-test":
        cell(attack, "zero_pad").metadata.nbgrader.update(grade=True, points=1000)
    elif edit == "duplicated-grade-id":
        attack.cells.insert(3, copy.deepcopy(cell(attack, "zero_pad")))
        attack.cells[3].id = "dup"
    else:
        attack.cells.remove(cell(attack, "test_conv_forward"))
    nb, repairs = rebuild(attack, RELEASE)
    assert [c.metadata.get("nbgrader") for c in nb.cells if notebook.grade_id(c)] == [
        c.metadata.get("nbgrader") for c in RELEASE.cells if notebook.grade_id(c)
    ]
    assert cell(nb, "zero_pad").source == SOLUTIONS["zero_pad"]
    assert repaired is None or any(repaired in repair for repair in repairs)
    nbformat.validate(nb)


def test_cells_the_student_added_stay_where_they_were():
    attack = honest()
    index = attack.cells.index(cell(attack, "zero_pad"))
    attack.cells.insert(index + 1, nbformat.v4.new_code_cell("scratch = 1", id="mine"))
    attack.cells.insert(0, nbformat.v4.new_markdown_cell("my notes", id="top"))
    nb, repairs = rebuild(attack, RELEASE)
    assert repairs == []
    assert nb.cells[0].source == "my notes"
    assert nb.cells[nb.cells.index(cell(nb, "zero_pad")) + 1].source == "scratch = 1"


BORROWED = {  # answers that only call the trusted helpers the check cells' hidden parts define
    "zero_pad": "def zero_pad(X, pad):\n    return _trusted_zero_pad(X, pad)",
    "conv_single_step": "def conv_single_step(a_slice_prev, W, b):\n    return _trusted_conv_single_step(a_slice_prev, W, b)",
    "create_mask_from_window": "def create_mask_from_window(x):\n    return _trusted_mask(x)",
    "distribute_value": "def distribute_value(dz, shape):\n    return _trusted_distribute(dz, shape)",
}


def test_the_moved_check_cell_attack_scores_nothing_once_rebuilt():
    attack = notebook.fill_in(RELEASE, BORROWED)
    moved = [cell(attack, "test_conv_forward"), cell(attack, "test_pool_backward")]
    attack.cells = moved + [c for c in attack.cells if c not in moved]
    master = notebook.read(offline.course.MASTER)
    hidden = {notebook.grade_id(c): c.source for c in master.cells if notebook.is_check(c)}
    nb, _ = rebuild(attack, RELEASE)
    for c in nb.cells:  # what nbgrader's OverwriteCells does next: the check cells get their hidden tests back
        if notebook.grade_id(c) in hidden:
            c.source = hidden[notebook.grade_id(c)]
    assert sum(grades(nb).values()) == 0
