"""Verdicts are records: VerifyResults writes one per check cell, and its text is rendered from it."""

import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from cnnkit.grading.verify import VerifyResults
from cnnkit.records.verdict import VERDICT_MIME
from cnnkit.spec.table import CHECKS, SPEC

CELL = 'from cnn_checks import grade\ngrade("distribute_value", distribute_value, [{"seed": 71, "shape": (2, 3)}])'


def record_output(case, outcome, name="distribute_value"):
    data = {CHECKS.RESULT_MIME: {"function": name, "case": case, "outcome": outcome}}
    return new_output("display_data", data=data)


def outcome_of(function, case_index=0):
    case = (SPEC["distribute_value"].public_cases + [{"seed": 71, "shape": (2, 3)}])[case_index]
    return CHECKS.encode_outcome(function, *SPEC["distribute_value"].make_inputs(case))


def verified(outputs):
    cell = new_code_cell(CELL, outputs=outputs)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "test_distribute_value", "points": 5, "solution": False}
    nb, _ = VerifyResults().preprocess(new_notebook(cells=[cell]), {})
    (shown, *rest) = nb.cells[0].outputs
    return shown.data[VERDICT_MIME], shown.data["text/plain"], rest


def right(dz, shape):
    return np.full(shape, dz / (shape[0] * shape[1]))


def test_a_right_answer_scores_full_points():
    record, text, rest = verified([record_output(i, outcome_of(right, i)) for i in range(3)])
    assert (record["passed"], record["total"], record["score"], record["points"], record["failures"]) == (
        3,
        3,
        5,
        5,
        [],
    )
    assert text == "distribute_value: 3 of 3 cases passed, 5 of 5 points" and rest == []


def test_failures_carry_kind_visibility_mistake_and_message():
    def copied(dz, shape):
        return np.full(shape, float(dz))

    record, text, rest = verified([record_output(i, outcome_of(copied, i)) for i in range(3)])
    assert record["passed"] == 0 and record["score"] == 0 and rest[0].ename == "ChecksFailed"
    assert [f["visibility"] for f in record["failures"]] == ["public", "public", "hidden"]
    failure = record["failures"][2]
    assert failure["kind"] == "wrong_values" and failure["case"] == 3 and failure["detail"] == ""
    assert failure["mistakes"] == [
        {"key": "not_divided", "what": SPEC["distribute_value"].mistakes["not_divided"].what}
    ]
    assert (
        record["failures"][0]["message"] in text and "Looks like dz was copied instead of shared" in failure["message"]
    )


@pytest.mark.parametrize(
    "function, kind, detail",
    [
        (lambda dz, shape: (_ for _ in ()).throw(NotImplementedError()), "not_implemented", ""),
        (lambda dz, shape: {}[0], "raised", "KeyError"),
        (lambda dz, shape: np.ones((1, 1)), "wrong_shape", ""),
        (lambda dz, shape: [1.0], "wrong_type", ""),
        (lambda dz, shape: np.full(shape, np.nan), "nan_or_inf", ""),
        (lambda dz, shape: np.zeros(shape), "all_zeros", ""),
        (lambda dz, shape: np.full(shape, "a"), "wrong_type", ""),
    ],
)
def test_the_kind_of_a_failure(function, kind, detail):
    record, _, _ = verified([record_output(i, outcome_of(function, i)) for i in range(3)])
    assert {(f["kind"], f["detail"]) for f in record["failures"]} == {(kind, detail)}


def test_an_input_changed_in_place():
    case = SPEC["conv_single_step"].public_cases[0]
    inputs = SPEC["conv_single_step"].make_inputs(case)

    def changes(a_slice_prev, W, b):
        a_slice_prev *= 1.0001
        return float(np.sum(a_slice_prev / 1.0001 * W) + b.item())

    outcome = CHECKS.encode_outcome(changes, *SPEC["conv_single_step"].make_inputs(case))
    verdict = CHECKS.judge("conv_single_step", case, inputs, SPEC["conv_single_step"].expected_parts(*inputs), outcome)
    assert verdict["kind"] == "changed_input" and "changed its input a_slice_prev in place" in verdict["message"]


def test_cases_without_a_result_did_not_run_and_say_why():
    error = new_output("error", ename="CellTimeoutError", evalue="cell timed out", traceback=[])
    record, _, _ = verified([record_output(0, outcome_of(right, 0)), error])
    assert [(f["case"], f["kind"], f["detail"]) for f in record["failures"]] == [
        (2, "did_not_run", "CellTimeoutError"),
        (3, "did_not_run", "CellTimeoutError"),
    ]
    record, _, _ = verified([record_output(0, outcome_of(right, 0))])
    assert {(f["kind"], f["detail"]) for f in record["failures"]} == {("did_not_run", "")}


def test_a_spent_budget_and_duplicated_results_are_named():
    skipped = {"skipped": "not run: distribute_value used up its 20 s time budget"}
    twice = [record_output(0, outcome_of(right, 0))] * 2
    record, text, _ = verified([*twice, record_output(1, outcome_of(right, 1)), record_output(2, skipped)])
    kinds = {f["case"]: f["kind"] for f in record["failures"]}
    assert kinds == {1: "duplicate_results", 3: "budget_spent"} and "used up its 20 s time budget" in text


def test_a_malformed_record_fails_its_case_without_stopping_grading():
    record, _, _ = verified(
        [record_output(0, "not an outcome"), *[record_output(i, outcome_of(right, i)) for i in (1, 2)]]
    )
    assert [(f["case"], f["kind"]) for f in record["failures"]] == [(1, "unreadable_result")]
