"""Grading that is right and says why, over a catalogue of submissions (tests/catalogue.py).

One real ``nbgrader autograde`` batch grades one submission per realistic mistake (the
master's solutions with one function edited) and one per correct alternative solution.
Each mistake must cost points on its own function's check cell and nowhere else, and the
feedback must name the case and, where the checker knows the mistake, the mistake. Every
alternative must earn full marks. The fast tests at the end pin the checker's wording of
the common near-misses without nbgrader.
"""

import time

import numpy as np
import pytest

from cnnkit import course
from cnnkit.grading.verify import VERDICT_MIME
from cnnkit.results import scores
from cnnkit.spec import notebook, samples
from cnnkit.spec.parts import FUNCTIONS
from tests.spec.catalogue import ALTERNATIVES, MUTANTS, alternative_answers, mutant_answers
from tests.support import copy_course, db_url, run_nbgrader

FULL = samples.SAMPLES["sample-complete"][1]
CHECKS = course.load_checks()
MUTANT_IDS = [mutant.id for mutant in MUTANTS]


@pytest.fixture(scope="module")
def catalogue_course(tmp_path_factory):
    """The course after one autograde batch over every mutant and alternative; (root, seconds, nbgrader result)."""
    started = time.perf_counter()
    root = copy_course(tmp_path_factory.mktemp("catalogue"))
    run_nbgrader(root, "generate_assignment", course.ASSIGNMENT, "--force")
    release = samples.release_notebook()
    solutions = notebook.solutions()
    for mutant in MUTANTS:
        samples.write_submission(root, mutant.id, notebook.fill_in(release, mutant_answers(mutant, solutions)))
    for name in ALTERNATIVES:
        samples.write_submission(root, name, notebook.fill_in(release, alternative_answers(name)))
    result = run_nbgrader(root, "autograde", course.ASSIGNMENT, check=False)
    return root, time.perf_counter() - started, result


@pytest.fixture(scope="module")
def cell_scores(catalogue_course):
    root, _, result = catalogue_course
    found = {student: scores.cell_scores(db_url(root), student) for student in [*MUTANT_IDS, *ALTERNATIVES]}
    missing = [student for student, got in found.items() if not got]
    assert not missing, f"not graded: {missing}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return found


def verdict(root, student, function):
    """(report text, summary dict) that grading wrote into the student's check cell of `function`."""
    path = root / "autograded" / student / course.ASSIGNMENT / f"{course.ASSIGNMENT}.ipynb"
    for cell in notebook.read(path).cells:
        if notebook.grade_id(cell) == f"test_{function}":
            for output in cell.outputs:
                data = output.get("data", {})
                if VERDICT_MIME in data:
                    return data["text/plain"], data[VERDICT_MIME]
    raise AssertionError(f"no verdict for {function} in {student}'s autograded notebook")


def lost_points(got, function):
    return got[f"test_{function}"] < FULL[f"test_{function}"] - 1e-9


def others_intact(got, function):
    return all(got[cell] == pytest.approx(points) for cell, points in FULL.items() if cell != f"test_{function}")


# ---------------------------------------------------------------- the catalogue itself


def test_the_catalogue_covers_every_function():
    assert len(MUTANTS) >= 40 and len(set(MUTANT_IDS)) == len(MUTANTS)
    counts = {name: sum(mutant.function == name for mutant in MUTANTS) for name in FUNCTIONS}
    assert min(counts.values()) >= 4, counts
    for heavy in ("conv_forward", "pool_forward", "conv_backward", "pool_backward"):
        assert counts[heavy] >= 8, counts
    assert len(ALTERNATIVES) >= 5
    for name, answers in ALTERNATIVES.items():
        assert set(answers) == set(FUNCTIONS), name
    solutions = notebook.solutions()
    for mutant in MUTANTS:
        assert mutant.source(solutions) != solutions[mutant.function], mutant.id
        assert mutant.mistake is None or mutant.mistake in CHECKS.MISTAKES, mutant.id


# ---------------------------------------------------------------- mutants


@pytest.mark.parametrize("mutant", MUTANTS, ids=MUTANT_IDS)
def test_a_mistake_costs_points_on_its_function(cell_scores, mutant):
    got = cell_scores[mutant.id]
    assert lost_points(got, mutant.function), f"{mutant.id} ({mutant.why}) kept full marks: {got}"


@pytest.mark.parametrize("mutant", MUTANTS, ids=MUTANT_IDS)
def test_a_mistake_costs_nothing_elsewhere(cell_scores, mutant):
    got = cell_scores[mutant.id]
    assert others_intact(got, mutant.function), f"{mutant.id} ({mutant.why}) lost points elsewhere: {got}"


@pytest.mark.parametrize("mutant", MUTANTS, ids=MUTANT_IDS)
def test_the_feedback_names_the_case_and_the_mistake(catalogue_course, cell_scores, mutant):
    root = catalogue_course[0]
    text, summary = verdict(root, mutant.id, mutant.function)
    assert summary["failures"], text
    # Each failing case is named by its shapes and hyperparameters (at least the first of a group in full).
    first = summary["failures"][0]
    assert f"Case {first['case']} ({first['description']})" in text
    if mutant.function in ("conv_forward", "conv_backward"):
        assert "pad=" in text and "stride=" in text
    if mutant.function in ("pool_forward", "pool_backward"):
        assert "f=" in text and "stride=" in text and "mode=" in text
    # It says what was expected and what came back, or what went wrong instead.
    assert any(word in text for word in ("expected", "raised", "came back", "returned", "changed its input")), text
    if mutant.mistake:
        assert CHECKS.MISTAKES[mutant.mistake][0] in text, f"{mutant.id}: mistake not named:\n{text}"
    for phrase in mutant.says:
        assert phrase in text, f"{mutant.id}: {phrase!r} missing from:\n{text}"


# ---------------------------------------------------------------- correct alternatives


@pytest.mark.parametrize("name", sorted(ALTERNATIVES))
def test_a_correct_alternative_gets_full_marks(catalogue_course, cell_scores, name):
    got = cell_scores[name]
    if got != pytest.approx(FULL):
        reports = {
            function: verdict(catalogue_course[0], name, function)[0]
            for function in FUNCTIONS
            if got[f"test_{function}"] != pytest.approx(FULL[f"test_{function}"])
        }
        raise AssertionError(f"{name} lost points: {got}\n" + "\n".join(reports.values()))


def test_stderr_and_warnings_from_correct_code_cost_nothing(catalogue_course, cell_scores):
    """The noisy alternative really wrote to stderr while it ran, and still has full marks."""
    root = catalogue_course[0]
    path = root / "autograded" / "alt-noisy-stderr-warnings" / course.ASSIGNMENT / f"{course.ASSIGNMENT}.ipynb"
    streams = [
        output.get("text", "")
        for cell in notebook.read(path).cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream" and output.name == "stderr"
    ]
    assert any("RuntimeWarning" in text for text in streams) and any("zero_pad: padding" in text for text in streams)
    assert cell_scores["alt-noisy-stderr-warnings"] == pytest.approx(FULL)


# ---------------------------------------------------------------- the numbers


def test_kill_and_localisation_rates(catalogue_course, cell_scores, capsys, record_property):
    _, seconds, _ = catalogue_course
    killed = [m.id for m in MUTANTS if lost_points(cell_scores[m.id], m.function)]
    local = [m.id for m in MUTANTS if m.id in killed and others_intact(cell_scores[m.id], m.function)]
    full = [name for name in ALTERNATIVES if cell_scores[name] == pytest.approx(FULL)]
    kill_rate, local_rate = len(killed) / len(MUTANTS), len(local) / len(MUTANTS)
    record_property("kill_rate", kill_rate)
    record_property("localisation_rate", local_rate)
    with capsys.disabled():
        print(
            f"\n[catalogue] {len(MUTANTS)} mutants: kill rate {len(killed)}/{len(MUTANTS)} = {kill_rate:.0%}, "
            f"localisation rate {len(local)}/{len(MUTANTS)} = {local_rate:.0%}; "
            f"{len(full)}/{len(ALTERNATIVES)} correct alternatives with full marks; "
            f"one autograde batch of {len(MUTANTS) + len(ALTERNATIVES)} submissions in {seconds:.0f} s"
        )
    assert kill_rate == 1 and local_rate == 1 and len(full) == len(ALTERNATIVES)


# ---------------------------------------------------------------- the checker's wording, without nbgrader


def judged(name, value, case_index=0):
    """The checker's verdict on `value` returned for a public case of `name`."""
    from cnnkit.spec import mistakes

    case = CHECKS.PUBLIC_CASES[name][case_index]
    inputs = CHECKS.make_inputs(name, case)
    expected = mistakes.expected_parts(name, *inputs)
    outcome = CHECKS.encode_outcome(lambda *args, **kwargs: value, *CHECKS.make_inputs(name, case))
    return CHECKS.judge(name, case, inputs, expected, outcome, mistakes.mistake_parts(name, *inputs))


def right_value(name, case_index=0):
    from cnnkit.spec import reference

    args, kwargs = CHECKS.make_inputs(name, CHECKS.PUBLIC_CASES[name][case_index])
    return getattr(reference, name)(*args, **kwargs)


@pytest.mark.parametrize("kind", ["float", "float64", "float32", "0-d array"])
def test_any_real_scalar_from_conv_single_step_passes(kind):
    value = right_value("conv_single_step")
    returned = {
        "float": float(value),
        "float64": np.float64(value),
        "float32": np.float32(value),
        "0-d array": np.asarray(value),
    }[kind]
    assert judged("conv_single_step", returned) is None


def test_a_one_one_one_array_gets_a_friendly_message():
    message = judged("conv_single_step", np.full((1, 1, 1), right_value("conv_single_step")))
    assert (
        "(1, 1, 1)" in message
        and "(the right value, but as an array); expected a number" in message
        and "b.item()" in message
    )


def test_float_of_an_array_error_gets_the_numpy_2_hint():
    case = CHECKS.PUBLIC_CASES["conv_single_step"][0]

    def slip(a_slice_prev, W, b):
        return np.sum(a_slice_prev * W) + float(b)

    inputs = CHECKS.make_inputs("conv_single_step", case)
    outcome = CHECKS.encode_outcome(slip, *CHECKS.make_inputs("conv_single_step", case))
    message = CHECKS.judge("conv_single_step", case, inputs, {"Z": 0.0}, outcome)
    assert "TypeError" in message and "NumPy 2" in message and "b.item()" in message


def test_indices_instead_of_a_mask_are_named():
    for returned in (np.int64(0), (0, 0), np.argwhere(np.eye(2))):
        assert "looks like indices" in judged("create_mask_from_window", returned)


def test_a_list_instead_of_an_array_is_named_and_its_values_checked():
    right = right_value("distribute_value")
    assert "values are right" in judged("distribute_value", right.tolist())
    assert "would be wrong too" in judged("distribute_value", (right * 2).tolist())


def test_a_zero_one_mask_of_numbers_is_accepted():
    right = right_value("create_mask_from_window")
    assert judged("create_mask_from_window", right.astype(int)) is None
    assert judged("create_mask_from_window", right.astype(float)) is None


def test_none_returned_points_at_the_return_statement():
    assert "return statement" in judged("pool_forward", None)


def test_an_input_changed_in_place_is_reported():
    case = CHECKS.PUBLIC_CASES["conv_single_step"][0]

    def in_place(a_slice_prev, W, b):
        a_slice_prev *= W
        return float(np.sum(a_slice_prev) + b.item())

    inputs = CHECKS.make_inputs("conv_single_step", case)
    outcome = CHECKS.encode_outcome(in_place, *CHECKS.make_inputs("conv_single_step", case))
    expected = {"Z": float(right_value("conv_single_step"))}
    assert outcome["changed"] == [[0]]
    assert "changed its input a_slice_prev in place" in CHECKS.judge(
        "conv_single_step", case, inputs, expected, outcome
    )


def test_a_report_condenses_cases_that_fail_alike():
    cases = CHECKS.PUBLIC_CASES["pool_forward"] * 3
    same = ["pool_forward raised TypeError: 'float' object cannot be interpreted as an integer"] * len(cases)
    text = CHECKS.report("pool_forward", cases, same)
    assert text.count("raised TypeError") == 1 and f"All {len(cases)} cases fail alike" in text
    mixed = [None, "A is wrong at 3 of 6 entries", None, "A is wrong at 5 of 6 entries", None, "other"]
    text = CHECKS.report("pool_forward", cases, mixed)
    assert "Cases 2 and 4 fail alike" in text and "The others: case 4 (" in text and "Case 6 (" in text
