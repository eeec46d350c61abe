"""The release teaches and its self-checks never mislead (issue 12): run in real kernels, beside the support files."""

import ast
import re
import shutil

import pytest
from nbclient import NotebookClient

from cnnkit import course
from cnnkit.spec import figures, notebook
from tests.spec.test_notebook import SPEC_LINES, stdout_of

RELEASE_NB = course.RELEASE / f"{course.ASSIGNMENT}.ipynb"
SUPPORT_FILES = ("cnn_checks.py", "public_cases.npz")
# The demo's extra self-check row: row 2 of the padded second image is x[1, 0] framed by zeros (not all zeros).
X_PAD_ROW = (
    "x_pad[1,2] = [[ 0.          0.        ]\n [ 0.          0.        ]\n [ 0.04221375  0.58281521]\n"
    " [-1.10061918  1.14472371]\n [ 0.90159072  0.50249434]\n [ 0.          0.        ]\n [ 0.          0.        ]]"
)


def run(nb, folder, allow_errors=False):
    NotebookClient(
        nb, timeout=120, kernel_name="python3", allow_errors=allow_errors, resources={"metadata": {"path": str(folder)}}
    ).execute()
    return nb


def release_copy(folder, answers=None):
    """The release folder copied to folder, its notebook completed with answers; returns the notebook."""
    shutil.copytree(course.RELEASE, folder)
    nb = notebook.read(folder / RELEASE_NB.name)
    return notebook.fill_in(nb, answers) if answers else nb


@pytest.fixture(scope="module")
def completed_release(tmp_path_factory):
    """The released notebook completed with the master's solutions, run top to bottom beside its support files."""
    folder = tmp_path_factory.mktemp("completed") / "work"
    return run(release_copy(folder, notebook.solutions()), folder)


def errors(nb):
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs if o.output_type == "error"]


def figure_cells(nb):
    """The cells that draw: tagged illustrations, and the cells whose code calls plt.show()."""
    return [cell for cell in nb.cells if figures.is_illustration(cell) or "plt.show()" in cell.source]


# ---------------------------------------------------------------- the completed release


def test_the_completed_release_raises_nothing_and_writes_nothing_to_stderr(completed_release):
    assert errors(completed_release) == []
    streams = [o.get("name") for cell in completed_release.cells for o in cell.get("outputs", [])]
    assert "stderr" not in streams


@pytest.mark.parametrize("line", [*SPEC_LINES, X_PAD_ROW])
def test_the_completed_release_prints_the_spec_values(completed_release, line):
    assert line in stdout_of(completed_release)


def test_the_extra_padding_row_is_shown_as_expected_output_and_is_not_all_zeros():
    markdown = "\n".join(c.source for c in notebook.read(RELEASE_NB).cells if c.cell_type == "markdown")
    assert X_PAD_ROW in markdown
    assert re.search(r"[1-9]", X_PAD_ROW.split("=", 1)[1])


def test_every_figure_cell_draws_an_image_in_a_fresh_kernel(completed_release):
    cells = figure_cells(completed_release)
    assert len(cells) >= 9  # plan, padding (2), one step, volumes, corners, stops, pooling, pooling gradients
    blank = [cell.source.splitlines()[0] for cell in cells if not figures.images(cell)]
    assert blank == []


def test_the_release_shows_every_illustration_before_anything_is_run():
    """make release keeps the outputs of illustration cells only; every other cell comes without outputs."""
    cells = [cell for cell in notebook.read(RELEASE_NB).cells if cell.cell_type == "code"]
    illustrations = [cell for cell in cells if figures.is_illustration(cell)]
    assert len(illustrations) >= 8
    assert all(figures.images(cell) for cell in illustrations)
    assert all(cell.outputs == [] for cell in cells if not figures.is_illustration(cell))


def test_the_stored_illustrations_are_what_their_code_draws_now(completed_release):
    """Stale pictures (code changed, `make release` not run) fail here."""
    stored = [figures.images(c) for c in notebook.read(RELEASE_NB).cells if figures.is_illustration(c)]
    fresh = [figures.images(c) for c in completed_release.cells if figures.is_illustration(c)]
    assert stored == fresh


def test_illustrations_leave_no_names_behind_for_a_students_function_to_pick_up():
    """A figure's h, w, f or stride left as a global would hide a student's forgotten assignment."""
    for cell in notebook.read(RELEASE_NB).cells:
        if figures.is_illustration(cell):
            tree = ast.parse(cell.source)
            assigned = [node for node in tree.body if isinstance(node, (ast.Assign, ast.AugAssign, ast.For))]
            assert assigned == [], cell.source.splitlines()[0]


# ---------------------------------------------------------------- what the notebook says


def test_all_eight_exercises_are_numbered_in_order():
    headings = [
        line
        for cell in notebook.read(RELEASE_NB).cells
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if line.startswith("### Exercise")
    ]
    names = [cell for cell in notebook.check_cells().values()]
    assert headings == [f"### Exercise {i}: `{name}`" for i, (name, _, _) in enumerate(names, start=1)]


@pytest.mark.parametrize(
    "phrase",
    [
        "cache",  # the outline says why the caches exist
        "Filter `c` makes output\nchannel `c`",
        "vert_start",
        "applies an activation",
        "less sensitive to exactly where they appear",
        r"dW_{p,q,k,c} = \sum",
        r"db_c = \sum",
        r"dA^{pad}_{i,\,r,\,t,\,k} = \sum",
        r"\frac{dz}{f \cdot f}",
        "need not|do not write code to split",
        "np.ones(shape)",
        "Keep the two support files beside this notebook",
    ],
)
def test_the_notebook_explains(phrase):
    markdown = "\n".join(c.source for c in notebook.read(RELEASE_NB).cells if c.cell_type == "markdown")
    assert any(option in markdown for option in phrase.split("|")), phrase


def test_section_6_2_keeps_n_H_and_n_W_for_the_layer():
    cells = notebook.read(course.MASTER).cells
    start = next(i for i, c in enumerate(cells) if c.source.startswith("### 6.2"))
    section = [c for c in cells[start:] if notebook.grade_id(c) != "test_distribute_value"][:2]
    assert "n_H" not in notebook.solutions()["distribute_value"]
    assert all("(n_H, n_W)" not in cell.source and "n_H * n_W" not in cell.source for cell in section)


def test_the_checker_names_nothing_students_do_not_have():
    text = (course.RELEASE / "cnn_checks.py").read_text()
    assert "README" not in text and "instructor" not in text.lower()


def test_the_conv_backward_check_does_not_call_its_random_dz_case_the_demo():
    checks = course.load_checks()
    words = checks.describe_case("conv_backward", checks.PUBLIC_CASES["conv_backward"][0])
    assert "(the demo case)" not in words and "random dZ" in words


# ---------------------------------------------------------------- support files


@pytest.mark.parametrize("missing", [SUPPORT_FILES, SUPPORT_FILES[:1], SUPPORT_FILES[1:]])
def test_missing_support_files_are_named_by_the_first_cell(tmp_path, missing):
    folder = tmp_path / "work"
    nb = release_copy(folder)
    for name in missing:
        (folder / name).unlink()
    first_code = next(index for index, cell in enumerate(nb.cells) if cell.cell_type == "code")
    nb.cells = nb.cells[: first_code + 1]
    [error] = errors(run(nb, folder, allow_errors=True))
    assert error.ename == "FileNotFoundError"
    assert all(name in error.evalue for name in missing)
    assert all(name not in error.evalue.split(":")[0] for name in set(SUPPORT_FILES) - set(missing))
    assert "ModuleNotFoundError" not in "\n".join(error.traceback)
