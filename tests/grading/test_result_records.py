"""Result records are attacker-controlled: every one is read into a case verdict, and nothing else happens.

A seeded fuzzer mutates the honest records of every function (as the kernel sends them, through
JSON) with hostile dtypes, shapes, data, types, keys and nesting, and checks that reading and
judging each one ends in a verdict: right, wrong, or unreadable with its reason. Tables pin the
variants the issue named; the in-process grading path (offline, with VerifyResults) shows that a
hostile record costs its own function's cases only.
"""

import base64
import json
import random

import numpy as np
import pytest

from cnnkit import course
from cnnkit.grading import offline
from cnnkit.grading.verify import judge_case, render, verdict_record
from cnnkit.records.result import RESULT_MIME, UNREADABLE, collect_outcomes, read_outcome
from cnnkit.spec import notebook
from cnnkit.spec.table import SPEC, score

CHECKS = course.load_checks()  # the instructor's checker


def honest_outcome(name, case):
    """The record the kernel writes for the reference's answer, after the trip through JSON."""
    args, kwargs = SPEC[name].make_inputs(case)
    return json.loads(json.dumps(CHECKS.encode_outcome(SPEC[name].reference, args, kwargs)))


def returned_array(dtype, shape, data):
    return {"returned": {"kind": "array", "dtype": dtype, "shape": shape, "data": data}, "seconds": 0.1}


def b64(raw):
    return base64.b64encode(raw).decode()


# The variants the issue lists, on zero_pad's demo case: each must fail the case with its reason.
HOSTILE = {
    "object dtype": returned_array("|O", [1], b64(bytes(8))),
    "void dtype": returned_array("|V8", [1], b64(bytes(8))),
    "structured dtype": returned_array([["a", "<f8"]], [1], b64(bytes(8))),
    "string dtype": returned_array("<U2", [1], b64(bytes(8))),
    "datetime dtype": returned_array("<M8[s]", [1], b64(bytes(8))),
    "complex dtype": returned_array("<c16", [1], b64(bytes(16))),
    "zero-size dtype": returned_array("|V0", [4], ""),
    "unknown dtype": returned_array("<f3", [1], b64(bytes(3))),
    "negative shape": returned_array("<f8", [-1], b64(bytes(8))),
    "huge shape": returned_array("<f8", [2**62, 2**62], ""),
    "overflowing shape": returned_array("<f8", [2**40, 2**40, 2**40, 0], ""),
    "empty but huge": returned_array("<f8", [0, 2**62, 2**62], ""),
    "bytes short of the shape": returned_array("<f8", [2, 2], b64(bytes(8))),
    "too many dimensions": returned_array("<f8", [1] * 40, b64(bytes(8))),
    "float shape": returned_array("<f8", [1.0], b64(bytes(8))),
    "boolean shape": returned_array("<f8", [True], b64(bytes(8))),
    "text shape": returned_array("<f8", ["1"], b64(bytes(8))),
    "shape not a list": returned_array("<f8", 1, b64(bytes(8))),
    "base64 junk": returned_array("<f8", [1], "!!!!not base64"),
    "data not text": returned_array("<f8", [1], [1, 2]),
    "missing data": {"returned": {"kind": "array", "dtype": "<f8", "shape": [1]}},
    "outcome not an object": 5,
    "returned not an object": {"returned": 5},
    "raised not an object": {"raised": "TypeError"},
    "raised without its type": {"raised": {}},
    "unknown kind": {"returned": {"kind": "pickle", "data": "gASV"}},
    "items not a list": {"returned": {"kind": "tuple", "items": 5}},
    "scalar not a number": {"returned": {"kind": "scalar", "type": "float", "value": "1"}},
    "scalar too large": {"returned": {"kind": "scalar", "type": "int", "value": 10**400}},
    "list of numbers, not an array": {"returned": {"kind": "list", "length": 1, "array": {"kind": "dict"}}},
    "changed not a list": {**returned_array("<f8", [1], b64(bytes(8))), "changed": {"a": 1}},
    "changed path of texts": {**returned_array("<f8", [1], b64(bytes(8))), "changed": [["x"]]},
    "nothing": {},
}


def deep_tuple(depth):
    encoded = {"kind": "scalar", "type": "float", "value": 1.0}
    for _ in range(depth):
        encoded = {"kind": "tuple", "items": [encoded]}
    return {"returned": encoded}


HOSTILE["nested 10,000 deep"] = deep_tuple(10_000)
HOSTILE["too many values"] = {"returned": {"kind": "list", "items": [{"kind": "other", "type": "x"}] * 20_000}}


@pytest.mark.parametrize("variant", sorted(HOSTILE))
def test_a_hostile_record_fails_its_case_with_a_reason(variant):
    case = SPEC["zero_pad"].public_cases[0]
    verdict = judge_case("zero_pad", case, read_outcome(HOSTILE[variant]))
    assert verdict is not None and verdict["kind"] == UNREADABLE
    assert verdict["message"].startswith("the value returned could not be read: ")
    assert len(verdict["message"]) < 400


@pytest.mark.parametrize(
    "dtype", ["<f8", ">f8", "<f4", "<f2", "|b1", "<i8", ">i4", "|u1", "|i1", "<u8"], ids=lambda d: d.replace("|", "")
)
def test_every_number_dtype_in_either_byte_order_is_read_and_judged_by_value(dtype):
    """What the checker can write (any endianness, any number type) is judged, right or wrong, not refused."""
    name, case = "zero_pad", SPEC["zero_pad"].public_cases[1]
    expected = SPEC[name].expected_parts(*SPEC[name].make_inputs(case))["X_pad"]
    got = expected.astype(dtype)
    outcome = read_outcome(returned_array(got.dtype.str, list(got.shape), b64(got.tobytes())))
    verdict = judge_case(name, case, outcome)
    if np.allclose(got.astype(float), expected):
        assert verdict is None
    else:
        assert verdict is not None and verdict["kind"] != UNREADABLE


def test_an_honest_record_reads_back_unchanged_and_passes():
    for name, row in SPEC.items():
        for case in row.public_cases:
            outcome = honest_outcome(name, case)
            assert read_outcome(outcome) == outcome
            assert judge_case(name, case, read_outcome(outcome)) is None


# ---------------------------------------------------------------- the fuzzer

PALETTE = [
    None,
    True,
    0,
    -1,
    2**64,
    1e308,
    float("nan"),
    "",
    "|O",
    "<U8",
    "|V8",
    ">f8",
    "<c8",
    "x" * 10_000,
    "!!",
    [],
    [-1],
    [2**62, 2**62],
    [[1]],
    {},
    {"kind": "array"},
    {"kind": "scalar", "value": None},
    {"kind": "tuple", "items": [{}]},
    {"kind": "dict", "items": {"a": 5}},
]


def nodes(value, path=()):
    """Every (path, value) inside a JSON value."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nodes(item, (*path, index))


def mutate(value, rng):
    """value with one node replaced, deleted or wrapped deep, chosen by rng."""
    value = json.loads(json.dumps(value))
    path, node = rng.choice(list(nodes(value)))
    if not path:
        return rng.choice(PALETTE)
    parent = value
    for step in path[:-1]:
        parent = parent[step]
    action = rng.randrange(4)
    if action == 0 and isinstance(parent, dict):
        del parent[path[-1]]
    elif action == 1:
        parent[path[-1]] = [node] if rng.random() < 0.5 else {"kind": "tuple", "items": [node]}
    elif action == 2 and isinstance(node, str) and node:
        parent[path[-1]] = node[: rng.randrange(len(node))] + rng.choice("!=A/é\0")
    else:
        parent[path[-1]] = rng.choice(PALETTE)
    return value


NUMBER_DTYPES = ["<f8", ">f8", "<f4", "<f2", "|b1", "<i8", ">i2", "|u1", "<u8"]
SPECIAL_VALUES = [0.0, -0.0, 1.0, np.nan, np.inf, -np.inf, 1e300, -1e-300]


def random_array(rng):
    """An encoded array the reader accepts: any number dtype and shape (empty ones too), any values."""
    shape = [rng.choice([0, 1, 1, 2, 3, 4, 7]) for _ in range(rng.randrange(0, 5))]
    values = np.array(
        [rng.choice(SPECIAL_VALUES) if rng.random() < 0.1 else rng.gauss(0, 3) for _ in range(int(np.prod(shape)))]
    )
    with np.errstate(all="ignore"):
        array = values.reshape(shape).astype(rng.choice(NUMBER_DTYPES))
    return {"kind": "array", "dtype": array.dtype.str, "shape": list(array.shape), "data": b64(array.tobytes())}


def random_returned(rng, depth=0):
    """A returned value of the checker's format, well formed but of any kind, shape and content."""
    kind = rng.choice(["array", "array", "scalar", "tuple", "list", "numbers", "dict", "other", "none"])
    if kind == "array" or depth > 2:
        return random_array(rng)
    if kind == "scalar":
        return {
            "kind": "scalar",
            "type": rng.choice(["float", "int", "bool", "float64"]),
            "value": rng.choice(SPECIAL_VALUES),
        }
    if kind in ("tuple", "list"):
        return {"kind": kind, "items": [random_returned(rng, depth + 1) for _ in range(rng.randrange(0, 5))]}
    if kind == "numbers":
        array = random_array(rng)
        return {"kind": rng.choice(["tuple", "list"]), "length": rng.randrange(0, 9), "array": array}
    if kind == "dict":
        keys = rng.sample(["pad", "stride", "f", "mode", "x"], rng.randrange(0, 4))
        return {"kind": "dict", "items": {key: random_returned(rng, depth + 1) for key in keys}}
    return {
        "kind": "other",
        "type": "NoneType" if kind == "none" else "str",
        "repr": "None" if kind == "none" else "'x'",
    }


def test_fuzzed_records_always_end_in_a_verdict():
    """Hostile mutations of honest records, and well-formed records of any content, on every function."""
    rng = random.Random(18)
    seeds = [(name, case, honest_outcome(name, case)) for name, row in SPEC.items() for case in row.public_cases]
    unreadable = judged = 0
    for _ in range(1500):
        name, case, outcome = rng.choice(seeds)
        if rng.random() < 0.5:
            for _ in range(rng.randrange(1, 4)):
                outcome = mutate(outcome, rng)
        else:
            changed = [[rng.randrange(5) for _ in range(rng.randrange(3))] for _ in range(rng.randrange(2))]
            outcome = {"returned": random_returned(rng), "changed": changed, "seconds": 0.0}
        read = read_outcome(outcome)
        verdict = judge_case(name, case, read)
        assert verdict is None or isinstance(verdict["message"], str), (name, outcome)
        unreadable += read.get("kind") == UNREADABLE
        judged += read.get("kind") != UNREADABLE
    assert unreadable > 300 and judged > 300  # both ways were taken


# ---------------------------------------------------------------- records in a cell


def record(case, outcome, name="zero_pad"):
    return {"output_type": "display_data", "data": {RESULT_MIME: {"function": name, "case": case, "outcome": outcome}}}


def test_many_records_with_strange_case_ids_leave_only_the_cells_own_cases():
    honest = honest_outcome("zero_pad", SPEC["zero_pad"].public_cases[0])
    outputs = [record(case, honest) for case in (-1, 3, 10**30, True, "0", 1.0, None, [0])] * 2000
    outputs += [record(0, honest), record(1, honest), record(1, honest), record(2, 5, name="conv_forward")]
    outcomes = collect_outcomes(outputs, "zero_pad", 3)
    assert sorted(outcomes) == [0, 1]
    assert outcomes[0] == honest and outcomes[1]["kind"] == "duplicate_results"


def test_the_verdict_of_a_cell_with_hostile_records_is_complete_and_rendered():
    name, cases = "zero_pad", SPEC["zero_pad"].public_cases
    honest = [honest_outcome(name, case) for case in cases]
    outputs = [record(0, HOSTILE["object dtype"]), record(1, honest[1]), record(2, {"returned": {"kind": "x"}})]
    outcomes = collect_outcomes(outputs, name, len(cases))
    verdicts = [judge_case(name, case, outcomes[index]) for index, case in enumerate(cases)]
    result = verdict_record(name, cases, len(cases), verdicts, 10.0)
    assert result["passed"] == 1 and result["score"] == score(10.0, 1, 3) > 0
    assert [failure["kind"] for failure in result["failures"]] == [UNREADABLE, UNREADABLE]
    assert "could not be read" in render(result, cases)


FORGE = """
import base64
import cnn_checks
_honest = cnn_checks.encode_outcome
def _forged(function, args, kwargs):
    if function.__name__ == "zero_pad":
        return {"returned": {"kind": "array", "dtype": "|O", "shape": [1], "data": base64.b64encode(bytes(8)).decode()}}
    return _honest(function, args, kwargs)
cnn_checks.encode_outcome = _forged
"""


def test_a_forged_record_costs_its_own_function_only_when_graded_in_process():
    """The checker's own encode_outcome, replaced from the student's zero_pad cell, as a hostile kernel would."""
    answers = notebook.solutions()
    verdicts = offline.grade_answers({**answers, "zero_pad": FORGE + answers["zero_pad"]})
    assert verdicts["test_zero_pad"]["passed"] == 0
    assert {failure["kind"] for failure in verdicts["test_zero_pad"]["failures"]} == {UNREADABLE}
    others = {grade_id: verdict for grade_id, verdict in verdicts.items() if grade_id != "test_zero_pad"}
    assert others and all(verdict["passed"] == verdict["total"] for verdict in others.values())
