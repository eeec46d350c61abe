"""The specification table, the check cells' case lists and their validation, the samples' expectations."""

import ast
import json
import re

import numpy as np
import pytest

from cnnkit import course
from cnnkit.grading import offline, time_policy
from cnnkit.spec import notebook, samples, validate
from cnnkit.spec.parts import CORE, FUNCTIONS, OPTIONAL, part_of
from cnnkit.spec.table import MISTAKE_WORDS, SPEC, score

CHECKS = course.load_checks()  # the instructor's checker

README = course.ROOT / "README.md"

MASTER_CELLS = notebook.check_cells()


# ---------------------------------------------------------------- find_grade_call


def test_find_grade_call_reads_positional_hidden_cases():
    assert notebook.find_grade_call('grade("zero_pad", zero_pad, [{"seed": 1}])') == ("zero_pad", [{"seed": 1}])


def test_find_grade_call_reads_the_keyword_form():
    source = 'from cnn_checks import grade\ngrade("zero_pad", zero_pad, hidden_cases=[{"seed": 1}], helpers={})'
    assert notebook.find_grade_call(source) == ("zero_pad", [{"seed": 1}])
    assert notebook.find_grade_call('cnn_checks.grade(name="pool_forward", function=f)') == ("pool_forward", [])


def test_find_grade_call_refuses_a_variable():
    with pytest.raises(ValueError, match="hidden cases as a literal, not 'CASES'"):
        notebook.find_grade_call('CASES = [{"seed": 1}]\ngrade("zero_pad", zero_pad, CASES)')


def test_find_grade_call_without_a_call():
    assert notebook.find_grade_call('check("zero_pad", zero_pad)') is None
    assert notebook.find_grade_call("def broken(:") is None


# ---------------------------------------------------------------- the table agrees with itself and with the master


def test_every_function_has_every_field():
    assert FUNCTIONS == tuple(CHECKS.FUNCTIONS) and set(CORE) | set(OPTIONAL) == set(FUNCTIONS)
    for name, row in SPEC.items():
        assert row.arguments and row.returns and row.public_cases and row.mistakes, name
        assert row.part in ("core", "optional") and callable(row.reference) and callable(row.model), name
        assert ("cache" in row.arguments) == bool(row.cache_items), name
        assert row.case_keys and not row.case_keys & row.optional_case_keys, name


def test_the_master_has_one_solution_and_one_check_cell_per_function():
    assert set(notebook.solutions()) == set(FUNCTIONS)
    assert {name for name, _, _ in MASTER_CELLS.values()} == set(FUNCTIONS)
    assert all(grade_id == f"test_{name}" for grade_id, (name, _, _) in MASTER_CELLS.items())
    assert {part_of(grade_id) for grade_id in MASTER_CELLS} == {"core", "optional"}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_case_builds_and_the_reference_returns_every_part(name):
    row = SPEC[name]
    hidden = next(cases for function, cases, _ in MASTER_CELLS.values() if function == name)
    for case in row.public_cases + hidden:
        assert validate.case_problems(name, case) == []
        args, kwargs = row.make_inputs(case)
        assert len(args) == len(row.arguments)
        parts = row.expected_parts(args, kwargs)
        assert set(parts) == set(row.returns) - {"cache"}
        assert row.describe(case)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_mistake_the_model_names_has_words_in_the_row(name):
    row = SPEC[name]
    hidden = next(cases for function, cases, _ in MASTER_CELLS.values() if function == name)
    named = set()
    for case in row.public_cases + hidden:
        args, kwargs = row.make_inputs(case)
        named |= set(row.model(*args, **kwargs))
    assert named <= set(row.mistakes), named - set(row.mistakes)
    assert set(row.mistakes) <= set(MISTAKE_WORDS)


def test_the_words_of_every_mistake_are_used_by_some_function():
    used = {key for row in SPEC.values() for key in row.mistakes}
    assert used == set(MISTAKE_WORDS)


def test_points_come_from_the_notebook_metadata():
    master = notebook.read(course.MASTER)
    metadata = {
        cell.metadata.nbgrader["grade_id"]: cell.metadata.nbgrader["points"]
        for cell in master.cells
        if cell.metadata.get("nbgrader", {}).get("grade")
    }
    assert notebook.points() == metadata == samples.FULL


def test_the_checkers_budget_is_the_time_policys():
    assert CHECKS.TIME_BUDGET_SECONDS == time_policy.CHECK_BUDGET


def test_the_shipped_checker_stands_alone():
    """One file, no import of the kit (students do not have it)."""
    tree = ast.parse(course.CHECKS_FILE.read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(module.startswith("cnnkit") for module in imported), imported


# ---------------------------------------------------------------- value paths: signs and ties


def hidden_cases(name):
    return next(cases for function, cases, _ in MASTER_CELLS.values() if function == name)


def test_pool_forward_has_a_max_case_whose_windows_are_all_negative():
    cases = [case for case in hidden_cases("pool_forward") if case["mode"] == "max"]
    assert any((SPEC["pool_forward"].make_inputs(case)[0][0] < 0).all() for case in cases)


def test_no_case_has_tied_maxima_in_a_max_window():
    """The specification leaves ties open, so no case may depend on them (either marking passes)."""
    for case in SPEC["create_mask_from_window"].public_cases + hidden_cases("create_mask_from_window"):
        (x,), _ = SPEC["create_mask_from_window"].make_inputs(case)
        assert (x == x.max()).sum() == 1, case
    for case in SPEC["pool_backward"].public_cases + hidden_cases("pool_backward"):
        (dA, (A_prev, hparameters)), kwargs = SPEC["pool_backward"].make_inputs(case)
        windows = np.lib.stride_tricks.sliding_window_view(A_prev, (case["f"],) * 2, axis=(1, 2))
        windows = windows[:, :: case["stride"], :: case["stride"]]
        tied = (windows == windows.max(axis=(4, 5), keepdims=True)).sum((4, 5)) > 1
        assert kwargs["mode"] != "max" or not tied.any(), case


def test_distribute_value_has_a_whole_and_a_negative_dz():
    dzs = [SPEC["distribute_value"].make_inputs(case)[0][0] for case in hidden_cases("distribute_value")]
    assert any(type(dz) is int for dz in dzs) and any(dz < 0 for dz in dzs)


@pytest.mark.parametrize(
    "name, key",
    [
        ("pool_forward", "max_from_zero"),
        ("distribute_value", "kept_dz_type"),
    ],
)
def test_a_value_slip_shows_only_on_the_value_cases(name, key):
    """The slip's output equals the right one on every case but those built to show it."""
    row = SPEC[name]
    showing = [
        case for case in row.public_cases + hidden_cases(name) if key in row.known_mistakes(*row.make_inputs(case))
    ]
    built_to_show = [case for case in showing if set(case) & {"offset", "whole_dz"} or type(case.get("dz")) is int]
    assert showing and showing == built_to_show


# ---------------------------------------------------------------- release validation


def master_with(tmp_path, grade_id, old, new):
    nb = notebook.read(course.MASTER)
    cell = next(cell for cell in nb.cells if notebook.grade_id(cell) == grade_id)
    cell.source = notebook.edit(cell.source, old, new)
    path = tmp_path / course.MASTER.name
    path.write_text(json.dumps(nb))
    return path


def test_the_master_is_valid():
    assert validate.validate_master() == sorted(FUNCTIONS)


def test_the_keyword_form_is_valid(tmp_path):
    path = master_with(
        tmp_path, "test_zero_pad", 'grade("zero_pad", zero_pad, [', 'grade("zero_pad", zero_pad, hidden_cases=['
    )
    assert validate.validate_master(path) == sorted(FUNCTIONS)


@pytest.mark.parametrize(
    "old, new, says",
    [
        (
            'grade("zero_pad", zero_pad, [',
            'CASES = [1]\ngrade("zero_pad", zero_pad, CASES + [',
            'as a literal, not "CASES + [',
        ),
        ('grade("zero_pad", zero_pad,', 'grade("zero_padding", zero_pad,', "'zero_padding', ...) names no function"),
        (
            '{"seed": 12, "shape": (1, 4, 6, 3), "pad": 1}',
            '{"seed": 12, "shape": (1, 4, 6, 3), "padding": 1}',
            "'padding'",
        ),
        (
            '{"seed": 12, "shape": (1, 4, 6, 3), "pad": 1}',
            '{"seed": 12, "shape": (1, 4, 6), "pad": 1}',
            "cannot be built",
        ),
    ],
    ids=["variable", "unknown-name", "unknown-key", "case-that-cannot-be-built"],
)
def test_a_malformed_check_cell_stops_the_release(tmp_path, old, new, says):
    path = master_with(tmp_path, "test_zero_pad", old, new)
    with pytest.raises(validate.MasterError) as raised:
        validate.validate_master(path)
    assert "check cell 'test_zero_pad'" in str(raised.value) and says in str(raised.value)


# ---------------------------------------------------------------- samples: expectations computed, then confirmed


def test_sample_expectations_follow_from_cases_and_points():
    full = samples.SAMPLES["sample-complete"][1]
    assert full == notebook.points() and set(samples.ZERO) == set(full) and not any(samples.ZERO.values())
    partial = samples.SAMPLES["sample-partial"][1]
    forward = SPEC["conv_forward"].public_cases + hidden_cases("conv_forward")
    stride_one = sum(case["stride"] == 1 for case in forward)  # no conv_forward case has a single output row
    assert partial["test_conv_forward"] == score(full["test_conv_forward"], stride_one, len(forward))
    assert 0 < partial["test_conv_forward"] < full["test_conv_forward"]


def test_partial_credit_rounds_down_to_a_hundredth():
    assert score(40, 4, 10) == 16 and score(10, 1, 3) == 3.33 and score(5, 2, 3) == 3.33 and score(5, 0, 0) == 0


@pytest.mark.parametrize("student", sorted(samples.SAMPLES))
def test_judging_in_process_confirms_the_samples(student):
    make_answers, expected = samples.SAMPLES[student]
    records = offline.grade_answers(make_answers(notebook.solutions()))
    assert {grade_id: record["score"] for grade_id, record in records.items()} == expected


def test_mistake_models_differ_from_the_reference_on_the_public_demo_case():
    for name in FUNCTIONS:
        args, kwargs = SPEC[name].make_inputs(SPEC[name].public_cases[0])
        assert SPEC[name].model(*args, **kwargs), name


def test_the_readme_counts_each_functions_public_and_hidden_cases():
    """README's "Points and partial credit" table follows the spec's public cases and the check cells."""
    rows = re.findall(r"^\| (?:core|optional) \| `(\w+)` \| (\d+) \| (\d+) \| (\d+) \|$", README.read_text(), re.M)
    hidden = {name: len(cases) for name, cases, _ in notebook.check_cells().values()}
    points = {name: points for name, _, points in notebook.check_cells().values()}
    assert {name: (int(p), int(public), int(h)) for name, p, public, h in rows} == {
        name: (points[name], len(SPEC[name].public_cases), hidden[name]) for name in FUNCTIONS
    }
