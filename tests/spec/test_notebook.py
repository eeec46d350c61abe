"""The master notebook runs top to bottom and prints the spec's expected values."""

import re
import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from cnnkit import course
from cnnkit.spec.parts import FUNCTIONS

# Expected output lines, copied from the specification (shared/ASSIGNMENT.md).
SPEC_LINES = [
    "x.shape = (4, 3, 3, 2)",
    "x_pad.shape = (4, 7, 7, 2)",
    "x[1,1] = [[ 0.90085595 -0.68372786]\n [-0.12289023 -0.93576943]\n [-0.26788808  0.53035547]]",
    "x_pad[1,1] = [[0. 0.]\n [0. 0.]\n [0. 0.]\n [0. 0.]\n [0. 0.]\n [0. 0.]\n [0. 0.]]",
    "Z = -6.99908945068",
    "Z's mean = 0.048995203528855794",
    "Z[3,2,1] = [-0.61490741 -6.7439236  -2.55153897  1.75698377  3.56208902  0.53036437\n  5.18531798  8.75898442]",
    "cache_conv[0][1][2][3] = [-0.20075807  0.18656139  0.41005165]",
    "A = [[[[1.74481176 0.86540763 1.13376944]]]\n\n\n [[[1.13162939 1.51981682 2.18557541]]]]",
    "A = [[[[ 0.02105773 -0.20328806 -0.40389855]]]\n\n\n [[[-0.22154621  0.51716526  0.48155844]]]]",
    "dA_mean = 1.4524377775388075",
    "dW_mean = 1.7269914583139097",
    "db_mean = 7.839232564616838",
    "x = [[ 1.62434536 -0.61175641 -0.52817175]\n [-1.07296862  0.86540763 -2.3015387 ]]",
    "mask = [[ True False False]\n [False False False]]",
    "distributed value = [[0.5 0.5]\n [0.5 0.5]]",
    "mean of dA = 0.14571390272918056",
    "dA_prev[1,1] = [[ 0.          0.        ]\n [ 5.05844394 -1.68282702]\n [ 0.          0.        ]]",
    "dA_prev[1,1] = [[ 0.08485462  0.2787552 ]\n [ 1.26461098 -0.25749373]\n [ 1.17975636 -0.53624893]]",
]


@pytest.fixture(scope="module")
def executed_master(tmp_path_factory):
    folder = tmp_path_factory.mktemp("master")
    shutil.copytree(course.SOURCE, folder, dirs_exist_ok=True)
    nb = nbformat.read(str(folder / course.MASTER.name), as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    return nb


def stdout_of(nb):
    return "".join(
        output.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream" and output.name == "stdout"
    )


def test_master_runs_without_errors_or_stderr(executed_master):
    for cell in executed_master.cells:
        if cell.cell_type == "code":
            kinds = [(o.output_type, o.get("name")) for o in cell.outputs]
            assert ("error", None) not in kinds, cell.source[:80]
            assert ("stream", "stderr") not in kinds, cell.source[:80]


@pytest.mark.parametrize("line", SPEC_LINES)
def test_demo_cells_print_the_spec_values(executed_master, line):
    assert line in stdout_of(executed_master)


def test_every_public_check_passes_on_the_master(executed_master):
    text = stdout_of(executed_master)
    for name in FUNCTIONS:
        assert re.search(rf"^{name}: all \d+ public checks passed", text, re.MULTILINE), name


def test_markdown_shows_the_expected_outputs():
    """Each spec line appears in a markdown 'Expected output' block, so students can compare."""
    markdown = "\n".join(
        cell.source for cell in nbformat.read(str(course.MASTER), 4).cells if cell.cell_type == "markdown"
    )
    for line in SPEC_LINES:
        assert line in markdown, line


def test_notebook_draws_its_figures_with_matplotlib(executed_master):
    images = [
        o
        for cell in executed_master.cells
        if cell.cell_type == "code"
        for o in cell.outputs
        if o.output_type == "display_data" and "image/png" in o.get("data", {})
    ]
    assert len(images) >= 3
    markdown = "\n".join(c.source for c in executed_master.cells if c.cell_type == "markdown")
    assert "![" not in markdown and "<img" not in markdown  # no images from elsewhere
