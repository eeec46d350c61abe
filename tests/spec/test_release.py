"""The student release: generated from source, no answers, no hidden tests, stubs that raise."""

import json

import nbformat
import numpy as np
import pytest

from cnnkit import course
from cnnkit.spec import notebook, public_data
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
    """Notebook content without what legitimately changes between runs (ids, counts)."""
    data = json.loads(nbformat.writes(nb))
    for cell in data["cells"]:
        cell.pop("id", None)
        cell.pop("execution_count", None)
    return data


def test_release_matches_what_source_generates(released_course):
    """Fails when release/ drifts from source/: refresh with `make release`.

    released_course (tests/conftest.py) is what `nbgrader generate_assignment` makes of this checkout's source/.
    """
    fresh = released_course / "release" / course.ASSIGNMENT
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
