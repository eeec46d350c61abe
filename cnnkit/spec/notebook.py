"""Small helpers to read the master notebook and write submissions made from it."""

import re

import nbformat

from cnnkit import course

SOLUTION_MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*\n", re.MULTILINE)


def read(path):
    return nbformat.read(str(path), as_version=4)


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def is_solution(cell):
    return cell.metadata.get("nbgrader", {}).get("solution", False)


def solutions(master=course.MASTER):
    """grade_id -> the solution cell's code, with the solution markers removed."""
    return {grade_id(cell): SOLUTION_MARKERS.sub("", cell.source) for cell in read(master).cells if is_solution(cell)}


def solution_namespace(master=course.MASTER):
    """The eight solution functions, defined in a fresh namespace with numpy as np."""
    import numpy as np

    namespace = {"np": np}
    for source in solutions(master).values():
        exec(compile(source, "<master solution>", "exec"), namespace)
    return namespace


def fill_in(release_nb, answers):
    """A copy of a release notebook with the given solution cells' code replaced."""
    nb = nbformat.from_dict(release_nb)
    for cell in nb.cells:
        if is_solution(cell) and grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return nb


def edit(source, old, new):
    """Replace exactly one occurrence of old in source; fail loudly if it is not there once."""
    count = source.count(old)
    if count != 1:
        raise ValueError(f"expected exactly one {old!r} in the solution, found {count}")
    return source.replace(old, new)
