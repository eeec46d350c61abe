"""The graded notebook is rebuilt on the release's cell sequence; only the student's answers are carried over.

nbgrader restores a locked cell's source, but not its place, its type or its nbgrader metadata. A
submission could move check cells above the answers they check, turn a check cell into markdown, give
one cell the grade_id of another, or make an answer cell a 1000-point test. ``rebuild`` makes those
edits meaningless: the result has the release's cells, in the release's order, with the release's
types and metadata, and takes from the submission only

- the source of each answer (solution) cell, matched by grade_id (the first cell of the right type);
- the source of each cell the release leaves unlocked and untagged (demo and note cells), matched by
  cell id;
- the cells the student added, with any nbgrader metadata removed, in place: after the release cell
  that precedes them in the submission.

Check and read-only cells come from the release (nbgrader's OverwriteCells then puts back the hidden
tests from the gradebook). ``RebuildFromRelease`` runs it in autograde's sanitize pass and records
every repair it made as a flag, so the instructor sees what was undone.
"""

import copy

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from cnnkit import course
from cnnkit.grading.integrity import METADATA_KEY
from cnnkit.spec import notebook

LEADING = None  # anchor of cells added before any release cell


def cell_key(cell):
    """How a release cell is found in a submission: ("grade_id", id) for nbgrader cells, else ("id", cell id)."""
    grade_id = notebook.grade_id(cell)
    return ("grade_id", grade_id) if grade_id else ("id", cell.get("id"))


def is_answer(cell):
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def carries_student_source(release_cell):
    """True for the release cells whose source is the student's: answers, and untagged unlocked cells."""
    return is_answer(release_cell) or not notebook.grade_id(release_cell)


def match_submission(release_cells, submitted_cells):
    """({release index: (position, submitted cell)}, [(anchor release index or LEADING, added cell)], repairs)."""
    wanted = {}
    for index, cell in enumerate(release_cells):
        key = cell_key(cell)
        if key[1]:
            wanted.setdefault(key, index)
    matched, added, repairs, anchor = {}, [], [], LEADING
    for position, cell in enumerate(submitted_cells):
        key = cell_key(cell)
        index = wanted.get(key) if key[1] else None
        if index is not None and index not in matched:
            release_cell = release_cells[index]
            if carries_student_source(release_cell) and cell.get("cell_type") != release_cell.cell_type:
                kind = cell.get("cell_type")
                repairs.append(f"{key[1]}: a {kind} cell where the release has a {release_cell.cell_type} cell")
                added.append((anchor, plain_copy(cell)))
                continue
            if cell.get("cell_type") != release_cell.cell_type:
                repairs.append(f"{key[1]}: turned into a {cell.get('cell_type')} cell (put back)")
            elif key[0] == "grade_id" and cell.get("metadata", {}).get("nbgrader") != release_cell.metadata.nbgrader:
                repairs.append(f"{key[1]}: nbgrader metadata edited (put back)")
            matched[index] = (position, cell)
            anchor = index
            continue
        if key[0] == "grade_id":
            why = (
                "a second cell with this grade_id" if index is not None else "nbgrader metadata unknown to the release"
            )
            repairs.append(f"{key[1]}: {why} (kept as a cell of the student's own, without it)")
        added.append((anchor, plain_copy(cell)))
    return matched, added, repairs


def plain_copy(cell):
    """A student's cell as an ordinary cell: no nbgrader metadata, no outputs of its own."""
    cell = copy.deepcopy(cell)
    cell.get("metadata", {}).pop("nbgrader", None)
    if cell.get("cell_type") == "code":
        cell["outputs"], cell["execution_count"] = [], None
    return cell


def release_copy(release_cell, submitted_cell):
    """The release cell, with the student's source where the student owns it."""
    cell = copy.deepcopy(release_cell)
    if submitted_cell is not None and carries_student_source(release_cell):
        cell.source = submitted_cell.get("source", "")
    return cell


def rebuild(submitted, release):
    """(the notebook to grade, [repairs]) for a submitted notebook and the release it was made from."""
    matched, added, repairs = match_submission(release.cells, submitted.cells)
    order = [index for index, _ in sorted(matched.items(), key=lambda item: item[1][0])]
    if order != sorted(order):
        repairs.append("cells of the release were moved (put back in the release's order)")
    for index, cell in enumerate(release.cells):
        if index not in matched and notebook.grade_id(cell) and not is_answer(cell):
            repairs.append(f"{notebook.grade_id(cell)}: missing (put back from the release)")
    cells = [cell for anchor, cell in added if anchor is LEADING]
    for index, release_cell in enumerate(release.cells):
        cells.append(release_copy(release_cell, matched.get(index, (None, None))[1]))
        cells += [cell for anchor, cell in added if anchor == index]
    rebuilt = NotebookNode({key: copy.deepcopy(value) for key, value in submitted.items() if key != "cells"})
    rebuilt.cells = unique_ids(cells)
    return rebuilt, repairs


def unique_ids(cells):
    """The cells, with a fresh id for any cell whose id an earlier cell has (nbformat requires unique ids)."""
    seen = set()
    for number, cell in enumerate(cells):
        if "id" in cell and cell["id"] in seen:
            cell["id"] = f"added-{number}"
        seen.add(cell.get("id"))
    return cells


class RebuildFromRelease(NbGraderPreprocessor):
    """Sanitize pass (after RecordSubmissionChanges): grade the release's cell sequence with the student's answers."""

    def preprocess(self, nb, resources):
        release = notebook.read(course.RELEASE / f"{resources['nbgrader']['notebook']}.ipynb")
        nb, repairs = rebuild(nb, release)
        flags = nb.metadata.setdefault(METADATA_KEY, {}).setdefault("submission_flags", [])
        flags += [{"reason": "notebook structure repaired for grading", "where": repair} for repair in repairs]
        for repair in repairs:
            self.log.warning("Repaired for grading: %s", repair)
        return nb, resources
