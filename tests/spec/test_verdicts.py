"""Verdicts are records: VerifyResults writes one per check cell, and its text is rendered from it."""

import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from cnnkit import course
from cnnkit.grading.verify import VerifyResults
from cnnkit.records.verdict import VERDICT_MIME
from cnnkit.spec.table import SPEC

CHECKS = course.load_checks()  # the instructor's checker

CELL = 'from cnn_checks import grade\ngrade("distribute_value", distribute_value, [{"seed": 71, "shape": (2, 3)}])'


def record_output(case, outcome, name="distribute_value"):
    data = {CHECKS.RESULT_MIME: {"function": name, "case": case, "outcome": outcome}}
    return new_output("display_data", data=data)


PUBLIC = len(SPEC["distribute_value"].public_cases)
CASES = PUBLIC + 1  # and CELL's one hidden case


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
    record, text, rest = verified([record_output(i, outcome_of(right, i)) for i in range(CASES)])
    assert (record["passed"], record["total"], record["score"], record["points"], record["failures"]) == (
        CASES,
        CASES,
        5,
        5,
        [],
    )
    assert text == f"distribute_value: {CASES} of {CASES} cases passed, 5 of 5 points" and rest == []


def test_failures_carry_kind_visibility_mistake_and_message():
    def copied(dz, shape):
        return np.full(shape, float(dz))

    record, text, rest = verified([record_output(i, outcome_of(copied, i)) for i in range(CASES)])
    assert record["passed"] == 0 and record["score"] == 0 and rest[0].ename == "ChecksFailed"
    assert [f["visibility"] for f in record["failures"]] == ["public"] * PUBLIC + ["hidden"]
    failure = record["failures"][PUBLIC]
    assert failure["kind"] == "wrong_values" and failure["case"] == CASES and failure["detail"] == ""
    words = SPEC["distribute_value"].mistakes["not_divided"]
    assert failure["mistakes"] == [{"key": "not_divided", "what": words.what, "hint": words.hint, "line": ""}]
    assert failure["show_me"] == []  # its hint says it all
    assert (
        record["failures"][0]["message"] in text and "Looks like dz was copied instead of shared" in failure["message"]
    )


def test_a_named_mistake_carries_its_line_apart_from_the_message():
    """The feedback can show the hint first and the exact line behind a "show me" fold: both are in the record."""

    def floored(dz, shape):
        return np.full(shape, float(dz // (shape[0] * shape[1])))

    record, text, _ = verified([record_output(i, outcome_of(floored, i)) for i in range(CASES)])
    words = SPEC["distribute_value"].mistakes["floor_division"]
    failure = record["failures"][0]
    assert failure["mistakes"] == [
        {"key": "floor_division", "what": words.what, "hint": words.hint, "line": words.line}
    ]
    assert failure["show_me"] == [words.line] and words.line
    assert words.hint in failure["message"] and words.line not in failure["message"] and words.line not in text


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
    record, _, _ = verified([record_output(i, outcome_of(function, i)) for i in range(CASES)])
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
        (case, "did_not_run", "CellTimeoutError") for case in range(2, CASES + 1)
    ]
    record, _, _ = verified([record_output(0, outcome_of(right, 0))])
    assert {(f["kind"], f["detail"]) for f in record["failures"]} == {("did_not_run", "")}


def test_a_spent_budget_and_duplicated_results_are_named():
    skipped = {"skipped": "not run: distribute_value used up its 20 s time budget"}
    twice = [record_output(0, outcome_of(right, 0))] * 2
    rest = [record_output(i, outcome_of(right, i)) for i in range(3, CASES)]
    record, text, _ = verified([*twice, record_output(1, outcome_of(right, 1)), record_output(2, skipped), *rest])
    kinds = {f["case"]: f["kind"] for f in record["failures"]}
    assert kinds == {1: "duplicate_results", 3: "budget_spent"} and "used up its 20 s time budget" in text


def test_a_malformed_record_fails_its_case_without_stopping_grading():
    record, _, _ = verified(
        [record_output(0, "not an outcome"), *[record_output(i, outcome_of(right, i)) for i in range(1, CASES)]]
    )
    assert [(f["case"], f["kind"]) for f in record["failures"]] == [(1, "unreadable_result")]
