"""The notebook's illustrations: drawn by its own code cells, stored with their pictures so the release shows them.

A code cell tagged ``illustration`` draws a figure that needs nothing the student writes. ``make release``
runs the master notebook top to bottom in a fresh kernel (beside its support files) and keeps the outputs
of those cells in the master; every other output is cleared. nbgrader's release step then keeps the
illustrations' outputs (cnnkit.grading.part_policy.KeepIllustrations) and clears the rest, so a student
sees every figure on opening the notebook, even before running anything: a figure further down would
otherwise appear only once every exercise above it works, since "Run All" stops at the first stub.
"""

import ast
import functools
import shutil
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from cnnkit import course

TAG = "illustration"
# A cell tagged ``figure`` draws the student's own results (e.g. their padded array): the release stores
# nothing for it. Like an illustration, it only draws: grading runs neither's drawing (cnnkit.grading.execute).
FIGURE_TAG = "figure"


def is_illustration(cell):
    return cell.cell_type == "code" and TAG in cell.metadata.get("tags", [])


def only_draws(cell):
    """An illustration, or a figure of the student's work: a cell whose calls draw and do nothing else."""
    return cell.cell_type == "code" and bool({TAG, FIGURE_TAG} & set(cell.metadata.get("tags", [])))


def definitions_only(source):
    """source without its top-level expression statements: the calls that draw go, the functions stay."""
    tree = ast.parse(source)
    tree.body = [node for node in tree.body if not isinstance(node, ast.Expr)]
    return ast.unparse(tree)


def released_drawings(release_notebook):
    """The sources of the cells of a released notebook that only draw (read once per file version)."""
    path = Path(release_notebook)
    return _drawings_of(str(path), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _drawings_of(path, _version):
    return frozenset(cell.source for cell in nbformat.read(path, as_version=4).cells if only_draws(cell))


def images(cell):
    """The PNG images a cell's outputs hold."""
    return [output["data"]["image/png"] for output in cell.get("outputs", []) if "image/png" in output.get("data", {})]


def executed(master=course.MASTER, timeout=120):
    """The master notebook run top to bottom in a fresh kernel, in a copy of its folder (its support files)."""
    with tempfile.TemporaryDirectory(prefix="cnnkit-figures-") as scratch:
        folder = Path(scratch) / master.parent.name
        shutil.copytree(master.parent, folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        nb = nbformat.read(str(folder / master.name), as_version=4)
        NotebookClient(
            nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
        ).execute()
    return nb


def refresh(master=course.MASTER):
    """Store in the master the outputs of its illustration cells, freshly drawn; clear every other output.

    Returns how many illustrations were drawn. Raises when the master does not run, or an
    illustration draws nothing (a figure the release would promise and not show).
    """
    fresh_nb = executed(master)
    stored = nbformat.read(str(master), as_version=4)
    blank = [cell.source.splitlines()[0] for cell in fresh_nb.cells if is_illustration(cell) and not images(cell)]
    if blank:
        raise ValueError(f"illustration cells that draw no image: {blank}")
    for kept, fresh in zip(stored.cells, fresh_nb.cells):
        if kept.cell_type != "code":
            continue
        kept.outputs = fresh.outputs if is_illustration(fresh) else []
        kept.execution_count = None
    nbformat.write(stored, str(master))
    return sum(1 for cell in stored.cells if is_illustration(cell))
