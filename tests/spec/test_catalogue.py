"""Grading that is right and says why, over a catalogue of submissions (tests/spec/catalogue.py).

One submission per realistic mistake (the master's solutions with one function edited) and one per
correct alternative solution. Each is judged in this process by cnnkit.grading.offline: the master
notebook with the entry's answers, its cells run in order, then autograde's own VerifyResults.
Each mistake must cost points on its own function's check cell and nowhere else, and the feedback
must name the case and, where the checker knows the mistake, the mistake. Every alternative must
earn full marks.

A few entries (catalogue.REAL_NBGRADER) also go through real nbgrader, in the session's one
autograde batch (tests/conftest.py, graded_course): it must give them the very verdicts the
in-process judging gives. The fast tests at the end pin the checker's wording of the common
near-misses.
"""

import time
from functools import cache

import numpy as np
import pytest

from cnnkit import course
from cnnkit.grading import offline
from cnnkit.grading.verify import judge_case
from cnnkit.records.verdict import VERDICT_MIME
from cnnkit.results import scores
from cnnkit.spec import notebook, samples
from cnnkit.spec.parts import FUNCTIONS
from cnnkit.spec.table import SPEC
from tests.spec.catalogue import ALTERNATIVES, MUTANTS, REAL_NBGRADER, entry_answers
from tests.support import db_url

CHECKS = course.load_checks()  # the instructor's checker

pytestmark = pytest.mark.slow(55)  # about a minute of in-process grading: scheduled early (tests/conftest.py)

FULL = samples.SAMPLES["sample-complete"][1]
SOLUTIONS = notebook.solutions()
MUTANT_IDS = [mutant.id for mutant in MUTANTS]


@cache
def judged(entry):
    """The entry's notebook after in-process grading: each check cell holds its verdict (record and text)."""
    return offline.graded_notebook(entry_answers(entry, SOLUTIONS))


def cell_scores(entry):
    """grade_id -> score of every check cell, as in-process grading gives it."""
    return {grade_id: record["score"] for grade_id, record in offline.verdicts(judged(entry)).items()}


def verdict(nb, function):
    """(report text, verdict record) that grading wrote into the check cell of `function`."""
    for cell in nb.cells:
        if notebook.grade_id(cell) == f"test_{function}":
            for output in cell.outputs:
                data = output.get("data", {})
                if VERDICT_MIME in data:
                    return data["text/plain"], data[VERDICT_MIME]
    raise AssertionError(f"no verdict for {function}")


def lost_points(got, function):
    return got[f"test_{function}"] < FULL[f"test_{function}"] - 1e-9


def others_intact(got, function):
    return all(got[cell] == pytest.approx(points) for cell, points in FULL.items() if cell != f"test_{function}")


# ---------------------------------------------------------------- mutants


@pytest.mark.parametrize("mutant", MUTANTS, ids=MUTANT_IDS)
def test_a_mistake_costs_points_on_its_function(mutant):
    got = cell_scores(mutant.id)
    assert lost_points(got, mutant.function), f"{mutant.id} ({mutant.why}) kept full marks: {got}"


@pytest.mark.parametrize("mutant", MUTANTS, ids=MUTANT_IDS)
def test_a_mistake_costs_nothing_elsewhere(mutant):
    got = cell_scores(mutant.id)
    assert others_intact(got, mutant.function), f"{mutant.id} ({mutant.why}) lost points elsewhere: {got}"


@pytest.mark.parametrize("mutant", MUTANTS, ids=MUTANT_IDS)
def test_the_feedback_names_the_case_and_the_mistake(mutant):
    text, record = verdict(judged(mutant.id), mutant.function)
    assert record["failures"], text
    # Each failing case is named by its shapes and hyperparameters (at least the first of a group in full).
    first = record["failures"][0]
    assert f"Case {first['case']} ({first['description']})" in text
    if mutant.function in ("conv_forward", "conv_backward"):
        assert "pad=" in text and "stride=" in text
    if mutant.function in ("pool_forward", "pool_backward"):
        assert "f=" in text and "stride=" in text and "mode=" in text
    # It says what was expected and what came back, or what went wrong instead.
    assert any(word in text for word in ("expected", "raised", "came back", "returned", "changed its input")), text
    if mutant.mistake:
        named = {mistake["key"] for failure in record["failures"] for mistake in failure["mistakes"]}
        assert mutant.mistake in named, f"{mutant.id}: mistake not named ({named}):\n{text}"
        assert SPEC[mutant.function].mistakes[mutant.mistake].what in text, f"{mutant.id}: mistake not told:\n{text}"
    for phrase in mutant.says:
        assert phrase in text, f"{mutant.id}: {phrase!r} missing from:\n{text}"


# ---------------------------------------------------------------- correct alternatives


@pytest.mark.parametrize("name", sorted(ALTERNATIVES))
def test_a_correct_alternative_gets_full_marks(name):
    got = cell_scores(name)
    if got != pytest.approx(FULL):
        reports = [verdict(judged(name), function)[0] for function in FUNCTIONS if lost_points(got, function)]
        raise AssertionError(f"{name} lost points: {got}\n" + "\n".join(reports))


# ---------------------------------------------------------------- the numbers


def test_kill_and_localisation_rates(record_property):
    started = time.perf_counter()
    got = {entry: cell_scores(entry) for entry in [*MUTANT_IDS, *ALTERNATIVES]}
    seconds = time.perf_counter() - started
    killed = [m.id for m in MUTANTS if lost_points(got[m.id], m.function)]
    local = [m.id for m in MUTANTS if m.id in killed and others_intact(got[m.id], m.function)]
    full = [name for name in ALTERNATIVES if got[name] == pytest.approx(FULL)]
    kill_rate, local_rate = len(killed) / len(MUTANTS), len(local) / len(MUTANTS)
    record_property("kill_rate", kill_rate)
    record_property("localisation_rate", local_rate)
    record_property(
        "summary",
        f"[catalogue] {len(MUTANTS)} mutants: kill rate {len(killed)}/{len(MUTANTS)} = {kill_rate:.0%}, "
        f"localisation rate {len(local)}/{len(MUTANTS)} = {local_rate:.0%}; "
        f"{len(full)}/{len(ALTERNATIVES)} correct alternatives with full marks; "
        f"{len(got)} submissions judged in-process (new ones in {seconds:.0f} s)",
    )
    assert kill_rate == 1 and local_rate == 1 and len(full) == len(ALTERNATIVES)


# ---------------------------------------------------------------- real nbgrader agrees


def autograded(root, student):
    return notebook.read(root / "autograded" / student / course.ASSIGNMENT / f"{course.ASSIGNMENT}.ipynb")


def without_timings(record):
    return {key: value for key, value in record.items() if key != "seconds"}


@pytest.mark.parametrize("entry", REAL_NBGRADER)
def test_real_nbgrader_gives_the_in_process_verdicts(graded_course, entry):
    """Same score in the gradebook, same verdict record (failures, cases, mistakes, messages) in every check cell."""
    assert scores.cell_scores(db_url(graded_course), entry) == pytest.approx(cell_scores(entry))
    real, in_process = offline.verdicts(autograded(graded_course, entry)), offline.verdicts(judged(entry))
    assert set(real) == set(FULL)
    for grade_id in FULL:
        assert without_timings(real[grade_id]) == without_timings(in_process[grade_id]), (entry, grade_id)


def test_stderr_and_warnings_from_correct_code_cost_nothing(graded_course):
    """The noisy alternative really wrote to stderr while it ran under nbgrader, and still has full marks."""
    streams = [
        output.get("text", "")
        for cell in autograded(graded_course, "alt-noisy-stderr-warnings").cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream" and output.name == "stderr"
    ]
    assert any("RuntimeWarning" in text for text in streams) and any("zero_pad: padding" in text for text in streams)
    assert scores.cell_scores(db_url(graded_course), "alt-noisy-stderr-warnings") == pytest.approx(FULL)


# ---------------------------------------------------------------- the checker's wording, without nbgrader


def judged_call(name, function, case_index=0):
    """Autograde's verdict (None when right) on `function` called as the check of a public case of `name`."""
    case = SPEC[name].public_cases[case_index]
    return judge_case(name, case, CHECKS.encode_outcome(function, *SPEC[name].make_inputs(case)))


def message(name, value, case_index=0):
    """The verdict's message on `value` returned for a public case of `name` (None when right)."""
    found = judged_call(name, lambda *args, **kwargs: value, case_index)
    return found and found["message"]


def right_value(name, case_index=0):
    args, kwargs = SPEC[name].make_inputs(SPEC[name].public_cases[case_index])
    return SPEC[name].reference(*args, **kwargs)


@pytest.mark.parametrize("kind", ["float", "float64", "float32", "0-d array"])
def test_any_real_scalar_from_conv_single_step_passes(kind):
    value = right_value("conv_single_step")
    returned = {
        "float": float(value),
        "float64": np.float64(value),
        "float32": np.float32(value),
        "0-d array": np.asarray(value),
    }[kind]
    assert message("conv_single_step", returned) is None


def test_a_one_one_one_array_gets_a_friendly_message():
    text = message("conv_single_step", np.full((1, 1, 1), right_value("conv_single_step")))
    assert (
        "(1, 1, 1)" in text and "(the right value, but as an array); expected a number" in text and "b.item()" in text
    )


def test_float_of_an_array_error_gets_the_numpy_2_hint():
    def slip(a_slice_prev, W, b):
        return np.sum(a_slice_prev * W) + float(b)

    found = judged_call("conv_single_step", slip)
    assert found["kind"] == "raised" and found["detail"] == "TypeError"
    assert "TypeError" in found["message"] and "NumPy 2" in found["message"] and "b.item()" in found["message"]


def test_indices_instead_of_a_mask_are_named():
    for returned in (np.int64(0), (0, 0), np.argwhere(np.eye(2))):
        assert "looks like indices" in message("create_mask_from_window", returned)


def test_a_list_instead_of_an_array_is_named_and_its_values_checked():
    right = right_value("distribute_value")
    assert "values are right" in message("distribute_value", right.tolist())
    assert "would be wrong too" in message("distribute_value", (right * 2).tolist())


def test_a_zero_one_mask_of_numbers_is_accepted():
    right = right_value("create_mask_from_window")
    assert message("create_mask_from_window", right.astype(int)) is None
    assert message("create_mask_from_window", right.astype(float)) is None


def test_none_returned_points_at_the_return_statement():
    assert "return statement" in message("pool_forward", None)


def test_an_input_changed_in_place_is_reported():
    def in_place(a_slice_prev, W, b):
        a_slice_prev *= W
        return float(np.sum(a_slice_prev) + b.item())

    found = judged_call("conv_single_step", in_place)
    assert found["kind"] == "changed_input"
    assert "changed its input a_slice_prev in place" in found["message"]


def test_a_report_condenses_cases_that_fail_alike():
    cases = SPEC["pool_forward"].public_cases * 3
    same = ["pool_forward raised TypeError: 'float' object cannot be interpreted as an integer"] * len(cases)
    text = CHECKS.report("pool_forward", cases, same)
    assert text.count("raised TypeError") == 1 and f"All {len(cases)} cases fail alike" in text
    mixed = [None, "A is wrong at 3 of 6 entries", None, "A is wrong at 5 of 6 entries", None, "other"]
    text = CHECKS.report("pool_forward", cases, mixed)
    assert "Cases 2 and 4 fail alike" in text and "The others: case 4 (" in text and "Case 6 (" in text
