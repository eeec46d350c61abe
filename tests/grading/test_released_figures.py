"""A figure cell (the student's own figure) left as released runs its definitions only, and says where its picture is.

The release's illustrations are pictures in markdown cells (cnnkit.spec.figures): nothing runs for them.
ContainedExecute runs directly here, in the stock python3 kernel, on a notebook whose "release" has one
figure cell: a function that prints "drawn", and a call to it.
"""

import ast

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from cnnkit import course
from cnnkit.grading import execute
from cnnkit.spec import figures

RELEASED = "def show():\n    print('drawn')\n\nshow()"


@pytest.fixture
def release(monkeypatch):
    monkeypatch.setattr(
        execute.ContainedExecute, "_release_drawings", staticmethod(lambda resources: frozenset({RELEASED}))
    )


def graded(tmp_path, source, tags=("figure",)):
    """The outputs of [the cell as given; a later cell calling show()]."""
    nb = new_notebook(
        cells=[new_code_cell(source, metadata={"tags": list(tags)}), new_code_cell("show()")],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )
    nb, _ = execute.ContainedExecute(kernel_name="python3", timeout=60).preprocess(
        nb, {"metadata": {"path": str(tmp_path)}}
    )
    return [cell.outputs for cell in nb.cells]


def printed(outputs):
    return "".join(output.get("text", "") for output in outputs if output["output_type"] == "stream")


def test_a_figure_left_as_released_defines_without_drawing_and_says_so(tmp_path, release):
    figure, later = graded(tmp_path, RELEASED)
    assert printed(figure) == execute.NOT_DRAWN
    assert printed(later) == "drawn\n"  # what it defines is there for later cells


def test_an_edited_figure_runs_whole(tmp_path, release):
    figure, later = graded(tmp_path, RELEASED + "\nprint('mine')")
    assert printed(figure) == "drawn\nmine\n"
    assert printed(later) == "drawn\n"


def test_a_cell_that_is_no_figure_runs_whole(tmp_path, release):
    cell, _ = graded(tmp_path, RELEASED, tags=())
    assert printed(cell) == "drawn\n"


def test_definitions_only_drops_the_calls_and_keeps_the_rest():
    source = '"""A docstring."""\nimport math\ndef f():\n    return math.pi\nf()\nx = f()\nprint(x)'
    assert figures.definitions_only(source) == "import math\n\ndef f():\n    return math.pi\nx = f()"


def test_the_released_figures_only_import_define_functions_and_call_them():
    """So that running their definitions leaves the kernel with what running them whole leaves."""
    sources = figures.released_drawings(course.RELEASE / f"{course.ASSIGNMENT}.ipynb")
    assert len(sources) == 2  # the student's padding, and the window's corners
    for source in sources:
        kinds = {type(node) for node in ast.parse(source).body}
        assert kinds <= {ast.FunctionDef, ast.Expr, ast.ImportFrom}, source.splitlines()[0]
