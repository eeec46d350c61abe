"""Small helpers to read the master notebook and write submissions made from it."""

import ast
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


def is_check(cell):
    """True for an autograded test cell (nbgrader's "grade" flag on a code cell)."""
    return cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade", False)


def points(master=course.MASTER):
    """grade_id -> points of every check cell, from the notebook's nbgrader metadata (the only place)."""
    return {grade_id(cell): cell.metadata.nbgrader["points"] for cell in read(master).cells if is_check(cell)}


def _is_grade_call(node):
    return isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "grade"


def _literal(node, what):
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        text = ast.unparse(node) if node is not None else "nothing"
        text = text if len(text) <= 60 else text[:57] + "..."
        raise ValueError(f"grade(...) must be given {what} as a literal, not {text!r}") from None


def find_grade_call(source):
    """(function name, hidden cases) of the cell's grade(...) call, or None when it has none.

    The hidden cases are the third positional argument or the ``hidden_cases`` keyword. Raises
    ValueError when the name or the cases are not literals (a variable, a call): the grader reads
    them from the source and never runs it.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if not _is_grade_call(node):
            continue
        keywords = {keyword.arg: keyword.value for keyword in node.keywords}
        name_node = node.args[0] if node.args else keywords.get("name")
        hidden_node = node.args[2] if len(node.args) > 2 else keywords.get("hidden_cases")
        hidden = _literal(hidden_node, "the hidden cases") if hidden_node is not None else []
        return _literal(name_node, "the function name"), hidden
    return None


def check_cells(master=course.MASTER):
    """grade_id -> (function name, hidden cases, points) of every check cell that calls grade(...)."""
    found = {}
    for cell in read(master).cells:
        call = find_grade_call(cell.source) if is_check(cell) else None
        if call is not None:
            found[grade_id(cell)] = (*call, cell.metadata.nbgrader["points"])
    return found


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
