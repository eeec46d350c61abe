"""A cell that only draws, left as released, runs its definitions only: an illustration keeps the picture the
release stored, a figure of the student's work says where its picture is.

ContainedExecute runs directly here, in the stock python3 kernel, on a notebook whose "release" has one
such cell: a function that prints "drawn", and a call to it.
"""

import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from cnnkit.grading import execute
from cnnkit.spec import figures

RELEASED = "def show():\n    print('drawn')\n\nshow()"
STORED = new_output("display_data", data={"text/plain": "the release's picture"})


@pytest.fixture
def release(monkeypatch):
    monkeypatch.setattr(
        execute.ContainedExecute, "_release_drawings", staticmethod(lambda resources: frozenset({RELEASED}))
    )


def graded(tmp_path, source, tags=("illustration",), stored=(STORED,)):
    """The outputs of [the cell as given, with the release's stored outputs; a later cell calling show()]."""
    cell = new_code_cell(source, metadata={"tags": list(tags)})
    cell.outputs = list(stored)
    nb = new_notebook(
        cells=[cell, new_code_cell("show()")], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    )
    nb, _ = execute.ContainedExecute(kernel_name="python3", timeout=60).preprocess(
        nb, {"metadata": {"path": str(tmp_path)}}
    )
    return [cell.outputs for cell in nb.cells]


def printed(outputs):
    return "".join(output.get("text", "") for output in outputs if output["output_type"] == "stream")


def test_an_unchanged_illustration_defines_without_drawing_and_keeps_its_picture(tmp_path, release):
    illustration, later = graded(tmp_path, RELEASED)
    assert illustration == [STORED]
    assert printed(later) == "drawn\n"  # what it defines is there for later cells


def test_a_figure_of_the_students_work_is_not_drawn_and_says_so(tmp_path, release):
    figure, later = graded(tmp_path, RELEASED, tags=("figure",), stored=())
    assert printed(figure) == execute.NOT_DRAWN
    assert printed(later) == "drawn\n"


def test_an_edited_illustration_runs_whole(tmp_path, release):
    illustration, later = graded(tmp_path, RELEASED + "\nprint('mine')")
    assert printed(illustration) == "drawn\nmine\n" and STORED not in illustration
    assert printed(later) == "drawn\n"


def test_a_cell_that_is_no_illustration_runs_whole(tmp_path, release):
    cell, _ = graded(tmp_path, RELEASED, tags=())
    assert printed(cell) == "drawn\n"


def test_definitions_only_drops_the_calls_and_keeps_the_rest():
    source = '"""A docstring."""\nimport math\ndef f():\n    return math.pi\nf()\nx = f()\nprint(x)'
    assert figures.definitions_only(source) == "import math\n\ndef f():\n    return math.pi\nx = f()"


def test_the_released_drawings_only_define_functions_and_call_them():
    """So that running their definitions leaves the kernel with what running them whole leaves."""
    import ast

    from cnnkit import course

    sources = figures.released_drawings(course.RELEASE / f"{course.ASSIGNMENT}.ipynb")
    assert len(sources) >= 9  # eight illustrations and the figure of the student's padding
    for source in sources:
        kinds = {type(node) for node in ast.parse(source).body}
        assert kinds <= {ast.FunctionDef, ast.Expr}, source.splitlines()[0]
