"""The Part B policy, set once (c.PartBPolicy.mode): the release states it, totals and exports follow it,
autograde and feedback word a skipped optional part as not attempted. Each mode, through the real steps."""

import shutil

import nbformat
import numpy as np
import pytest
from nbgrader import utils
from traitlets.config import Config

from cnnkit import course
from cnnkit.grading import offline, part_policy
from cnnkit.results import export, lms
from cnnkit.spec import notebook, part_b, public_data, totals
from cnnkit.spec.parts import CORE, OPTIONAL, part_of
from tests.spec.test_totals import FULL, POINTS, FakeGradebook, assignment, student, submission
from tests.support import run_nbgrader

PART_A_ONLY = {grade_id: value for grade_id, value in FULL.items() if grade_id in {f"test_{n}" for n in CORE}}


def config(mode):
    return Config({"PartBPolicy": {"mode": mode}})


# ---------------------------------------------------------------- one place, stated in the release


def test_the_course_sets_the_policy_in_its_config_and_the_default_is_required():
    assert part_b.configured_mode() in part_b.MODES
    assert part_b.PartBPolicy().mode == part_b.DEFAULT == "required"
    assert part_b.mode_in(config("not_graded")) == "not_graded"


def test_the_release_states_the_configured_policy_where_the_notebook_asks_for_it():
    nb = notebook.read(course.RELEASE / f"{course.ASSIGNMENT}.ipynb")
    stated = [cell.source for cell in part_policy.policy_cells(nb)]
    points = part_policy.part_points(nb)
    assert len(stated) == 2  # at the top, and at Part B's heading
    assert set(stated) == {part_b.statement(part_b.configured_mode(), points["core"], points["optional"])}
    assert "ask your instructor" not in "\n".join(cell.source for cell in nb.cells).lower()


def test_the_self_checks_data_carries_the_configured_policy():
    with np.load(course.RELEASE / "public_cases.npz") as data:
        assert str(data["part_b/policy"]) == part_b.configured_mode()
        assert sorted(str(name) for name in data["part_b/functions"]) == sorted(OPTIONAL)


@pytest.mark.parametrize("mode", part_b.MODES)
def test_generating_the_release_writes_each_modes_sentence(mode):
    nb = notebook.read(course.MASTER)
    nb, _ = part_policy.StatePartBPolicy(config=config(mode)).preprocess(nb, {})
    [first, *_] = part_policy.policy_cells(nb)
    assert first.source == part_b.statement(mode, 100, 50)
    assert {"required": "150", "extra_credit": "extra credit", "not_graded": "not graded"}[mode] in first.source


# ---------------------------------------------------------------- totals and exports


@pytest.mark.parametrize(
    ("mode", "score", "maximum"),
    [("required", 150, 150), ("extra_credit", 150, 100), ("not_graded", 100, 100)],
)
def test_totals_and_maxima_follow_the_policy(mode, score, maximum):
    scored = totals.totals(FULL, mode=mode)
    assert (scored.total, scored.core, scored.optional) == (score, 100, 50)
    assert totals.graded_maximum(totals.part_maxima(POINTS), mode) == maximum


def test_a_skipped_part_b_costs_nothing_out_of_the_core_maximum_when_optional():
    for mode in ("extra_credit", "not_graded"):
        scored = totals.totals(PART_A_ONLY, mode=mode)
        assert scored.total == totals.graded_maximum(totals.part_maxima(POINTS), mode) == 100
    assert totals.totals(PART_A_ONLY, mode="required").total == 100  # ... of 150


def test_not_graded_keeps_part_b_out_of_the_total_and_out_of_the_penalty():
    scored = totals.totals(FULL, penalty=10, mode="not_graded")
    assert (scored.total, scored.core, scored.optional) == (90, 90, 50)


@pytest.mark.parametrize(
    ("mode", "score", "max_score"),
    [("required", 135, 150), ("extra_credit", 135, 100), ("not_graded", 85, 100)],
)
def test_grades_csv_follows_the_policy(mode, score, max_score):
    found = assignment()
    plugin = export.PartsCsvExport(config=config(mode))
    gradebook = FakeGradebook({"ada": submission(FULL, 15)})
    row = dict(zip(export.COLUMNS, plugin.row(gradebook, found, student("ada"), totals.part_maxima(POINTS))))
    assert (row["score"], row["max_score"]) == (score, max_score)
    missing = dict(
        zip(export.COLUMNS, plugin.row(FakeGradebook({}), found, student("zoe"), totals.part_maxima(POINTS)))
    )
    assert missing["max_score"] == max_score


@pytest.mark.parametrize(
    ("mode", "whole", "separate"),
    [
        ("required", (150, "135"), [("cnn_step_by_step core", 100), ("cnn_step_by_step optional", 50)]),
        ("extra_credit", (100, "135"), [("cnn_step_by_step core", 100), ("cnn_step_by_step optional", 50)]),
        ("not_graded", (100, "85"), [("cnn_step_by_step core", 100)]),
    ],
)
def test_lms_columns_and_cells_follow_the_policy(mode, whole, separate):
    plugin = lms.MoodleExport(config=config(mode))
    scored = totals.submission_totals(submission(FULL, 15), plugin.mode)
    [column] = lms.assignment_columns(assignment(), "total", plugin.mode)
    assert (column.max_score, plugin.cell(scored, column)) == whole
    assert [(c.label, c.max_score) for c in lms.assignment_columns(assignment(), "separate", plugin.mode)] == separate


# ---------------------------------------------------------------- autograde and feedback wording


@pytest.fixture(scope="module")
def judged_core_only():
    """The master's answers for Part A only (Part B left as the release stubs), judged as autograde does."""
    answers = {name: source for name, source in notebook.solutions().items() if name in CORE}
    return offline.graded_notebook(answers)


def graded_cells(nb, part):
    return [cell for cell in nb.cells if utils.is_grade(cell) and part_of(notebook.grade_id(cell)) == part]


@pytest.mark.parametrize("mode", ["extra_credit", "not_graded"])
def test_autograde_reports_a_skipped_optional_part_as_not_attempted(judged_core_only, mode):
    nb = nbformat.from_dict(judged_core_only)
    nb, _ = part_policy.PartBVerdicts(config=config(mode)).preprocess(nb, {})
    for cell in graded_cells(nb, "optional"):
        text = "\n".join(o.get("data", {}).get("text/plain", "") for o in cell.outputs)
        assert "not attempted (optional)" in text and "costs you nothing" in text
        assert [o.output_type for o in cell.outputs if o.output_type == "error"] == []
        assert utils.determine_grade(cell)[0] == 0  # no points, and no failure shown
    assert all(utils.determine_grade(cell)[0] == utils.determine_grade(cell)[1] for cell in graded_cells(nb, "core"))


def test_autograde_reports_a_skipped_required_part_as_failed(judged_core_only):
    nb = nbformat.from_dict(judged_core_only)
    nb, _ = part_policy.PartBVerdicts(config=config("required")).preprocess(nb, {})
    for cell in graded_cells(nb, "optional"):
        assert any(o.output_type == "error" for o in cell.outputs)
        assert "not attempted" not in str(cell.outputs)


# ---------------------------------------------------------------- Validate, as the student presses it


def test_validate_does_not_fail_a_skipped_optional_part(tmp_path):
    """Real `nbgrader validate` on the release completed for Part A only, with the data made for extra credit."""
    folder = tmp_path / course.ASSIGNMENT
    shutil.copytree(course.RELEASE, folder)
    public_data.write(folder / "public_cases.npz", mode="extra_credit")
    answers = {name: source for name, source in notebook.solutions().items() if name in CORE}
    path = folder / f"{course.ASSIGNMENT}.ipynb"
    nbformat.write(notebook.fill_in(notebook.read(path), answers), str(path))
    result = run_nbgrader(tmp_path, "validate", str(path), check=False, cwd=tmp_path)
    assert "Success! Your notebook passes all the tests." in result.stdout, result.stdout + result.stderr
