"""The release teaches and never contradicts itself (issues 12 and 19): run in real kernels, beside the support files."""

import ast
import re
import shutil

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from traitlets.config import Config

from cnnkit import course
from cnnkit.grading import part_policy
from cnnkit.grading.integrity import scan_code
from cnnkit.spec import figures, notebook, part_b
from cnnkit.spec.table import MISTAKE_WORDS
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


def images(cell):
    return [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]


def pictures(nb):
    """The release's pictures: markdown cells that show an illustration."""
    return [cell for cell in nb.cells if cell.cell_type == "markdown" and figures.TAG in figures.tags(cell)]


def live_figures(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code" and figures.FIGURE_TAG in figures.tags(cell)]


def code_cell(nb, start):
    [cell] = [cell for cell in nb.cells if cell.cell_type == "code" and cell.source.startswith(start)]
    return cell


def printed(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def setup_cell(nb):
    return next(cell for cell in nb.cells if notebook.grade_id(cell) == "setup_imports")


ANSI = re.compile(r"\x1b\[[0-9;]*m")
KIT_FRAME = re.compile(r"cnn_checks\.py(?::\d+|\", line)")


def kit_frames(error):
    """The lines of an error's traceback that show a frame of the kit's own file (what a student must never see)."""
    return [line for line in (ANSI.sub("", text) for text in error.traceback) if KIT_FRAME.search(line)]


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


def test_every_live_figure_draws_in_a_fresh_kernel(completed_release):
    cells = live_figures(completed_release)
    assert [cell.source.count("def show_") for cell in cells] == [1, 1]  # your padding, the window's corners
    assert all(len(images(cell)) == 1 for cell in cells)
    drawing = [cell for cell in completed_release.cells if cell.cell_type == "code" and "plt.show()" in cell.source]
    assert drawing == cells  # no other code cell draws: the illustrations are pictures


# ---------------------------------------------------------------- pictures that never vanish


def test_every_illustration_of_the_master_is_a_picture_in_the_release():
    master = [cell for cell in notebook.read(course.MASTER).cells if figures.is_illustration(cell)]
    release = notebook.read(RELEASE_NB)
    shown = pictures(release)
    assert len(master) >= 8 and len(shown) == len(master)
    for picture, drawn in zip(shown, master):
        [(name, bundle)] = picture.attachments.items()
        assert list(bundle) == ["image/png"] and bundle["image/png"].startswith("iVBORw0KGgo")  # a PNG, in base64
        assert f"(attachment:{name})" in picture.source and figures.caption(drawn.source) in picture.source
    assert not [
        cell for cell in release.cells if figures.is_illustration(cell) and not figures.tags(cell) >= {"figure"}
    ]
    code = "\n".join(cell.source for cell in release.cells if cell.cell_type == "code")
    assert "FancyBboxPatch" not in code and "def show_plan" not in code  # no plotting code for the pictures


def test_a_figure_that_is_also_an_illustration_stays_live_after_its_picture():
    release = notebook.read(RELEASE_NB)
    window = code_cell(release, "# Figure: the window's corners.")
    before = release.cells[release.cells.index(window) - 1]
    assert before in pictures(release) and "(attachment:window.png)" in before.source
    assert window.outputs == [] and "show_window(h=1, w=2, stride=2, f=3)" in window.source


def test_run_all_on_the_untouched_release_keeps_every_picture(tmp_path):
    """Run All stops at the first unfinished function; every picture is still there, as it was released."""
    folder = tmp_path / "work"
    nb = release_copy(folder)
    released = [dict(cell) for cell in pictures(nb)]
    with pytest.raises(CellExecutionError, match="NotImplementedError"):  # the zero_pad demo
        run(nb, folder)
    assert [dict(cell) for cell in pictures(nb)] == released
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "markdown")


def test_live_figures_leave_no_names_behind_for_a_students_function_to_pick_up():
    """A figure's h, w, f or stride left as a global would hide a student's forgotten assignment."""
    for cell in live_figures(notebook.read(RELEASE_NB)):
        assigned = [node for node in ast.parse(cell.source).body if isinstance(node, (ast.Assign, ast.For))]
        assert assigned == [], cell.source.splitlines()[0]


# ---------------------------------------------------------------- robust demo and figure cells


CONV_SINGLE_STEP = {
    "float": "    return float(np.sum(a_slice_prev * W) + b.item())",
    "float64": "    return np.sum(a_slice_prev * W) + b.item()",
    "0-d array": "    return np.asarray(np.sum(a_slice_prev * W) + b.item())",
    "(1, 1, 1) array": "    return np.sum(a_slice_prev * W) + b",
    "None": "    pass",
}


def test_the_conv_single_step_demo_prints_any_real_scalar_and_a_friendly_line_otherwise(tmp_path):
    folder = tmp_path / "work"
    nb = release_copy(folder)
    setup, demo = setup_cell(nb), code_cell(nb, "np.random.seed(1)\na_slice_prev")
    header = "def conv_single_step(a_slice_prev, W, b):\n"
    cells = [setup]
    for body in CONV_SINGLE_STEP.values():
        cells += [nbformat.v4.new_code_cell(header + body), nbformat.v4.new_code_cell(demo.source)]
    nb.cells = cells
    run(nb, folder)
    shown = [printed(cell) for cell in nb.cells[2::2]]
    assert shown[:3] == ["Z = -6.99908945068\n"] * 3
    assert all("is not one real number (see the NumPy 2 trap above" in text for text in shown[3:]), shown[3:]


def test_the_padding_figure_survives_a_missing_zero_pad_a_stub_and_a_reassigned_x(tmp_path):
    folder = tmp_path / "work"
    nb = release_copy(folder)
    new = nbformat.v4.new_code_cell
    setup, figure = setup_cell(nb), code_cell(nb, "# Your zero_pad, seen")
    stub = "def zero_pad(X, pad):\n    raise NotImplementedError()"
    nb.cells = [setup, figure, new(stub), new(figure.source), new(notebook.solutions()["zero_pad"])]
    nb.cells += [new("np.random.seed(1)\nx = np.random.randn(2, 3)"), new(figure.source)]  # the mask demo's x
    run(nb, folder)
    assert "Run the cell that defines zero_pad first" in printed(nb.cells[1]) and not images(nb.cells[1])
    assert "zero_pad is not written yet" in printed(nb.cells[3]) and not images(nb.cells[3])
    assert len(images(nb.cells[6])) == 1 and errors(nb) == []


def test_the_padding_figure_titles_the_real_shape_and_pad():
    namespace = {"np": figures.np, "zero_pad": notebook.solution_namespace()["zero_pad"]}
    source = code_cell(notebook.read(RELEASE_NB), "# Your zero_pad, seen").source
    with figures.fixed_style() as plt:
        namespace["plt"] = plt
        exec(figures.definitions_only(source), namespace)
        namespace["show_your_padding"](pad=1)
        titles = [ax.get_title() for ax in plt.gcf().axes]
        plt.close("all")
    assert titles == ["x[1, :, :, 0]: 3 x 3", "x_pad[1, :, :, 0]: 5 x 5 (pad = 1)"]


# ---------------------------------------------------------------- the words follow the Part B policy


def released_markdown(mode):
    """The markdown of the release as generate_assignment states it under the Part B policy `mode`."""
    nb = notebook.read(course.MASTER)
    config = Config({"PartBPolicy": {"mode": mode}})
    nb, _ = part_policy.StatePartBPolicy(config=config).preprocess(nb, {})
    return "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")


def test_a_required_part_b_is_never_called_optional():
    text = released_markdown("required")
    assert "optional" not in text.lower() and "not attempted" not in text
    assert part_b.CHECKLISTS["required"] in text and "required" in text


@pytest.mark.parametrize("mode", ["extra_credit", "not_graded"])
def test_an_optional_part_b_is_never_called_required(mode):
    text = released_markdown(mode)
    assert "required" not in text.lower() and "Part B counts in this course" not in text
    assert part_b.CHECKLISTS[mode] in text and "not attempted (optional)" in text


def test_the_release_states_the_configured_checklist():
    text = "\n".join(cell.source for cell in notebook.read(RELEASE_NB).cells if cell.cell_type == "markdown")
    assert part_b.CHECKLISTS[part_b.configured_mode()] in text


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
        '`hint("zero_pad")`',
    ],
)
def test_the_notebook_explains(phrase):
    markdown = "\n".join(c.source for c in notebook.read(RELEASE_NB).cells if c.cell_type == "markdown")
    assert any(option in markdown for option in phrase.split("|")), phrase


def test_every_figure_a_hint_names_is_in_the_notebook():
    """Hints point at figures by their titles ("figure: the layer as volumes"): each must be a caption."""
    checks = course.load_checks()
    texts = [mistake.hint for mistake in MISTAKE_WORDS.values()] + [hint for _, _, hint, _ in checks._ERROR_HINTS]
    texts += [hint for hint, _ in checks._SHAPES_MET.values()]
    named = {title for text in texts for title in re.findall(r"figure: ([a-z' ,]+?)[.)]", text)}
    captions = [cell.source.lower() for cell in pictures(notebook.read(RELEASE_NB))]
    assert len(named) >= 5 and all(any(f"figure: {title}" in caption for caption in captions) for title in named)


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
def test_missing_support_files_are_named_and_the_students_own_code_still_runs(tmp_path, missing):
    folder = tmp_path / "work"
    nb = release_copy(folder, {"zero_pad": notebook.solutions()["zero_pad"]})
    for name in missing:
        (folder / name).unlink()
    check = next(cell for cell in nb.cells if notebook.grade_id(cell) == "test_zero_pad")
    nb.cells = nb.cells[: nb.cells.index(check) + 1]
    run(nb, folder, allow_errors=True)
    setup, demo = setup_cell(nb), code_cell(nb, "np.random.seed(1)\nx = np.random.randn(4, 3, 3, 2)")
    assert all(name in printed(setup) for name in missing) and [o.output_type for o in setup.outputs] == ["stream"]
    assert "x_pad.shape = (4, 7, 7, 2)" in printed(demo)  # numpy and the student's own code run
    [error] = errors(nbformat.v4.new_notebook(cells=[check]))
    assert error.ename in ("FileNotFoundError", "SupportFileMissing") and missing[0] in error.evalue
    assert kit_frames(error) == []


def test_the_release_raises_no_integrity_flag():
    """Our own code in the cells a student may edit (figures, demos) must not look like a trick to the scan."""
    release = notebook.read(RELEASE_NB)
    flags = [
        flag
        for index, cell in enumerate(release.cells)
        if cell.cell_type == "code"
        for flag in scan_code(cell.source, f"cell {index}")
    ]
    assert flags == []
