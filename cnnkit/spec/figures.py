"""The notebook's figures: pictures drawn when the release is made, and figures the student draws.

Code cells of the master notebook that draw carry a tag:

- ``illustration``: a picture that needs nothing the student writes (the plan, padding an image, one step
  in numbers ...). The release carries the picture only: ``make release`` (nbgrader's generate_assignment,
  step cnnkit.grading.illustrations.DrawIllustrations) runs the cell's drawing code and puts, in the cell's
  place, a markdown cell with the PNG attached (``![...](attachment:plan.png)``) and the cell's caption.
  So the student has no plotting code to scroll past, and Run All has no output to clear: a picture
  stays whatever stops the notebook. The drawing code stays ours, matplotlib in the master notebook.
  The picture cell is an nbgrader read-only cell (grade_id picture_<name>): students cannot delete or
  edit it, grading puts it back as released, and it is the instructor's cell to the sanitiser
  (cnnkit.grading.sanitize keeps it as it is, attachment included).
- ``figure``: a figure the student draws, kept as a live code cell (their own padded array). Tagged
  ``illustration`` as well (show_window), the cell also gets its picture, drawn with the numbers it comes
  with, just before it: the student changes the numbers and draws their own window.

An illustration cell starts with its caption, as comment lines ("# Figure: the plan. ..."), imports what it
uses beyond ``np`` and ``plt`` (the names the notebook's first cell gives every cell), and draws one figure.
Its picture is byte-identical from run to run (tests/spec/test_release.py compares releases): drawn with
matplotlib's own defaults (never a machine's matplotlibrc), its bundled DejaVu fonts, the Agg renderer,
and saved without the PNG's "Software" stamp.

Grading draws nothing: a ``figure`` cell left as released runs its definitions only (cnnkit.grading.execute).
"""

import ast
import base64
import contextlib
import functools
import io
import re
import warnings
from pathlib import Path

import matplotlib
import nbformat
import numpy as np

TAG = "illustration"
FIGURE_TAG = "figure"
DPI = 90  # the notebook's plt.rcParams["figure.dpi"]: pictures the size of the figures drawn live
FONT = "DejaVu Sans"  # matplotlib's default, bundled with it: the same glyphs on every machine
CAPTION = re.compile(r"\A((?:#[^\n]*\n)+)")


class IllustrationError(ValueError):
    """An illustration cell that cannot become a picture; the message names the cell and what to fix."""


def tags(cell):
    return set(cell.metadata.get("tags", []))


def is_illustration(cell):
    return cell.cell_type == "code" and TAG in tags(cell)


def only_draws(cell):
    """A code cell whose calls only draw: an illustration, or a figure of the student's work."""
    return cell.cell_type == "code" and bool({TAG, FIGURE_TAG} & tags(cell))


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


# ---------------------------------------------------------------- an illustration's words


def caption(source):
    """The caption an illustration cell starts with: its leading comment lines, as one sentence."""
    match = CAPTION.match(source)
    if not match:
        return ""
    return " ".join(line.lstrip("#").strip() for line in match.group(1).splitlines()).strip()


def picture_name(source):
    """The attachment's file name: after the function the cell defines, show_plan -> plan.png."""
    functions = [node.name for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)]
    name = functions[0].removeprefix("show_") if functions else "picture"
    return f"{name}.png"


# ---------------------------------------------------------------- drawing


@contextlib.contextmanager
def fixed_style():
    """matplotlib as it is out of the box, whatever this machine's matplotlibrc says; put back afterwards."""
    import matplotlib.pyplot as plt

    if matplotlib.get_backend().lower() != "agg":
        plt.switch_backend("agg")
    with matplotlib.rc_context(), warnings.catch_warnings():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update({"figure.dpi": DPI, "font.family": [FONT]})
        warnings.filterwarnings("ignore", message=".*non-interactive.*cannot be shown")  # plt.show() on Agg
        yield plt


def png(figure):
    """The figure as PNG bytes, the same from run to run (no "Software" stamp: it names the version)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", facecolor="white", metadata={"Software": None})
    return buffer.getvalue()


def draw(source):
    """The PNG of the one figure an illustration's code draws, run in a namespace of its own."""
    with fixed_style() as plt:
        before = set(plt.get_fignums())
        try:
            exec(compile(source, "<illustration>", "exec"), {"__name__": "__main__", "np": np, "plt": plt})
            drawn = [number for number in plt.get_fignums() if number not in before]
            if len(drawn) != 1:
                raise IllustrationError(f"it draws {len(drawn)} figures; an illustration draws exactly one")
            return png(plt.figure(drawn[0]))
        finally:
            for number in set(plt.get_fignums()) - before:
                plt.close(number)


# ---------------------------------------------------------------- the release's cells


def read_only(grade_id):
    """nbgrader's metadata of a read-only cell (its "Read-only" cell type)."""
    return {"grade": False, "solution": False, "locked": True, "grade_id": grade_id, "schema_version": 3}


def picture_cell(cell):
    """The read-only markdown cell that shows an illustration's picture, attached, with its caption."""
    words, name = caption(cell.source), picture_name(cell.source)
    if not words:
        raise IllustrationError('it does not start with its caption ("# Figure: what it shows.")')
    picture = nbformat.v4.new_markdown_cell(
        f"![{words.replace('[', '(').replace(']', ')')}](attachment:{name})\n\n*{words}*",
        metadata={"tags": [TAG], "nbgrader": read_only(f"picture_{name.removesuffix('.png')}")},
        attachments={name: {"image/png": base64.b64encode(draw(cell.source)).decode("ascii")}},
    )
    picture["id"] = cell["id"] if FIGURE_TAG not in tags(cell) else f"{cell['id']}-picture"[:64]
    return picture


def with_pictures(cells):
    """The release's cells: each illustration as its picture; a figure that is an illustration too, after it."""
    released, grade_ids = [], {cell.metadata.get("nbgrader", {}).get("grade_id") for cell in cells}
    for cell in cells:
        if not is_illustration(cell):
            released.append(cell)
            continue
        first = cell.source.splitlines()[0] if cell.source else "(empty)"
        try:
            picture = picture_cell(cell)
        except Exception as error:  # the instructor's to fix: name the cell
            raise IllustrationError(f"illustration cell {first!r}: {error}") from error
        if picture.metadata.nbgrader["grade_id"] in grade_ids:
            raise IllustrationError(f"illustration cell {first!r}: another cell has its grade_id: rename its function")
        grade_ids.add(picture.metadata.nbgrader["grade_id"])
        released.append(picture)
        if FIGURE_TAG in tags(cell):
            released.append(cell)
    return released
