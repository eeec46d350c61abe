"""The student release: generated from source, no answers, no hidden tests, stubs that raise."""

import copy
import html
import json
import platform
import re
from pathlib import Path

import matplotlib
import nbformat
import numpy as np
import pytest
from matplotlib import font_manager
from nbgrader import utils

from cnnkit import course
from cnnkit.grading import kernel_info, rebuild, sanitize
from cnnkit.grading.feedback_page import FeedbackExporter
from cnnkit.spec import figures, notebook, public_data
from cnnkit.spec.parts import CORE, FUNCTIONS, OPTIONAL

RELEASE_NB = course.RELEASE / f"{course.ASSIGNMENT}.ipynb"


@pytest.fixture(scope="module")
def release_nb():
    return notebook.read(RELEASE_NB)


def solution_lines():
    """Lines the student must write: those between the master's solution markers."""
    lines = set()
    for cell in notebook.read(course.MASTER).cells:
        if notebook.is_solution(cell):
            blocks = cell.source.split("### BEGIN SOLUTION")[1:]
            for block in blocks:
                code = block.split("### END SOLUTION")[0]
                lines.update(line.strip() for line in code.splitlines() if line.strip())
    return lines


def test_release_has_no_solution_code(release_nb):
    text = "\n".join(cell.source for cell in release_nb.cells if cell.cell_type == "code")
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    leaked = [line for line in solution_lines() if line in text]
    assert leaked == [], f"solution lines in the release: {leaked}"


def test_release_has_no_hidden_tests(release_nb):
    text = "\n".join(cell.source for cell in release_nb.cells)
    for marker in ("HIDDEN TESTS", "grade(", "_trusted_", '"seed": 3'):
        assert marker not in text


def test_every_stub_raises_not_implemented(release_nb):
    namespace = {"np": np}
    for cell in release_nb.cells:
        if notebook.is_solution(cell):
            exec(cell.source, namespace)
    checks = course.load_checks()
    for name in FUNCTIONS:
        args, kwargs = checks.make_inputs(name, checks.PUBLIC_CASES[name][0])
        with pytest.raises(NotImplementedError):
            namespace[name](*args, **kwargs)


def test_every_function_has_a_locked_check_cell_with_points(release_nb):
    points = {}
    for cell in release_nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            assert meta["locked"], meta["grade_id"]
            points[meta["grade_id"]] = meta["points"]
    assert set(points) == {f"test_{name}" for name in FUNCTIONS}
    assert all(value > 0 for value in points.values())
    assert points == notebook.points(course.MASTER)  # the release carries the master's points
    assert sum(points[f"test_{name}"] for name in CORE) > 0 and sum(points[f"test_{name}"] for name in OPTIONAL) > 0


def normalized(nb):
    """Notebook content without what legitimately changes between runs (ids, counts, the machine's Python)."""
    data = json.loads(nbformat.writes(nb))
    data["metadata"]["language_info"].pop("version", None)  # the Python that made it (the hub makes its own)
    for cell in data["cells"]:
        cell.pop("id", None)
        cell.pop("execution_count", None)
    return data


def test_release_matches_what_source_generates(released_course):
    """Fails when release/ drifts from source/: refresh with `make release`.

    released_course (tests/conftest.py) is what `nbgrader generate_assignment` makes of this checkout's source/.
    """
    fresh = released_course / "release" / course.ASSIGNMENT
    # Key for key what this environment's kernel tells JupyterLab: else the release opens marked changed.
    fresh_nb = notebook.read(fresh / f"{course.ASSIGNMENT}.ipynb")
    assert fresh_nb.metadata.language_info == kernel_info.kernel_language_info()
    assert fresh_nb.metadata.language_info.version == platform.python_version()
    committed = sorted(p.name for p in course.RELEASE.iterdir())
    assert sorted(p.name for p in fresh.iterdir()) == committed
    for name in committed:
        if name.endswith(".ipynb"):
            assert normalized(notebook.read(fresh / name)) == normalized(notebook.read(course.RELEASE / name)), (
                "release/ is out of date: run `make release` and commit it"
            )
        else:
            assert (fresh / name).read_bytes() == (course.RELEASE / name).read_bytes(), name


def test_public_data_matches_the_reference():
    """public_cases.npz holds what the reference computes now (and the mistakes' words): refresh with `make release`."""
    fresh = public_data.public_arrays()
    with np.load(course.PUBLIC_DATA) as stored:
        assert sorted(stored.files) == sorted(fresh)
        for key, value in fresh.items():
            np.testing.assert_array_equal(stored[key], value, err_msg=key)


# ---------------------------------------------------------------- the pictures, from release to feedback


def pictures(nb):
    return [cell for cell in nb.cells if cell.cell_type == "markdown" and figures.TAG in figures.tags(cell)]


def shown_in(page, nb):
    """For each picture of nb: is its PNG inlined in the HTML page, with its caption as alt text?"""
    shown = []
    for cell in pictures(nb):
        [bundle] = cell.attachments.values()
        alt = re.match(r"!\[([^\]]*)\]\(attachment:", cell.source).group(1)
        shown.append(
            f'src="data:image/png;base64,{bundle["image/png"][:80]}' in page
            and f'alt="{html.escape(alt, quote=False)}"' in page
        )
    return shown


def test_pictures_survive_the_rebuild_the_sanitiser_and_the_feedback_page(release_nb):
    """A student's copy may lose its attachments (JupyterLab drops those it no longer shows): grading puts
    the release's back, the sanitiser keeps them (raster images), and the feedback page shows them inline."""
    submitted = copy.deepcopy(release_nb)
    for cell in pictures(submitted):
        del cell["attachments"]
    graded, _ = rebuild.rebuild(submitted, release_nb)
    assert [cell.attachments for cell in pictures(graded)] == [cell.attachments for cell in pictures(release_nb)]
    sources = [cell.source for cell in pictures(graded)]
    gradebook = {notebook.grade_id(c): (c.cell_type, c.source) for c in release_nb.cells if utils.is_locked(c)}
    sanitize.sanitize_notebook(graded, gradebook)  # the instructor's read-only cells, as the gradebook holds them
    assert [cell.source for cell in pictures(graded)] == sources
    assert [cell.attachments for cell in pictures(graded)] == [cell.attachments for cell in pictures(release_nb)]
    page, _ = FeedbackExporter().from_notebook_node(graded)
    assert shown_in(page, graded) == [True] * len(pictures(release_nb)) and len(pictures(release_nb)) >= 8


def test_autograde_and_feedback_keep_every_picture(graded_course, release_nb):
    """Real nbgrader: the autograded notebook and the feedback page of a half-done submission show every picture."""
    folder = ("autograded", "feedback")
    autograded = notebook.read(graded_course / folder[0] / "sample-partial" / course.ASSIGNMENT / RELEASE_NB.name)
    assert [cell.attachments for cell in pictures(autograded)] == [cell.attachments for cell in pictures(release_nb)]
    page = (graded_course / folder[1] / "sample-partial" / course.ASSIGNMENT / f"{course.ASSIGNMENT}.html").read_text()
    assert shown_in(page, release_nb) == [True] * len(pictures(release_nb))


def test_a_picture_is_the_same_bytes_whatever_this_machines_matplotlib_settings():
    source = next(cell.source for cell in notebook.read(course.MASTER).cells if figures.is_illustration(cell))
    drawn = figures.draw(source)
    unusual = {"lines.linewidth": 7, "font.size": 20, "figure.facecolor": "black", "font.family": ["serif"]}
    with matplotlib.rc_context(unusual):
        assert figures.draw(source) == drawn
    assert drawn.startswith(b"\x89PNG") and b"Software" not in drawn and b"Matplotlib" not in drawn


def test_pictures_are_drawn_with_matplotlibs_own_font():
    """The font a picture uses ships with the pinned matplotlib: a system font of the same name is not used."""
    with figures.fixed_style():
        found = font_manager.findfont(font_manager.FontProperties(family=matplotlib.rcParams["font.family"]))
    assert Path(found).resolve().is_relative_to(Path(matplotlib.get_data_path()).resolve())


def test_an_illustration_without_its_caption_stops_the_release():
    cell = next(cell for cell in notebook.read(course.MASTER).cells if figures.is_illustration(cell))
    cell.source = "\n".join(line for line in cell.source.splitlines() if not line.startswith("#"))
    with pytest.raises(figures.IllustrationError, match="caption"):
        figures.with_pictures([cell])
