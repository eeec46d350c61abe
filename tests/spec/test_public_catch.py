"""Every slip that grading knows fails a public self-check first, so Validate never says "Success!" to it.

The kit knows two lists of mistakes: the mistake models of cnnkit/spec/functions/ (grading names a failure with
them) and the catalogue of realistic submissions (tests/spec/catalogue.py, each mutant one slip in one
function). Each goes through the student's own check() here: the release's cnn_checks.py and
public_cases.npz, in this process, on the function with the slip (the master's solutions for the others).

A model is turned into a function by calling it: the function returns what the model says the slip
returns, raises where the model says the slip crashes (None), and returns the right answer where the slip
does not apply (a model of the other mode). No slip is left that only the hidden cases catch: the set
PUBLICLY_UNCAUGHT below is empty, and stays so unless a slip is added whose reason is written there.
"""

import numpy as np
import pytest

from cnnkit.spec import notebook
from cnnkit.spec.table import SPEC
from tests.spec.catalogue import MUTANTS, mutant_answers
from tests.spec.test_self_checks import defined, load_checker

SOLUTIONS = notebook.solutions()
MODELLED = [(name, key) for name, row in SPEC.items() for key in row.mistakes]
# (function, mistake key or mutant id) -> why no public case can show it. Empty: every known slip shows.
PUBLICLY_UNCAUGHT = {}


@pytest.fixture(scope="module")
def checker(tmp_path_factory):
    return load_checker(tmp_path_factory.mktemp("checker"))


class SlipCrashed(ValueError):
    """Raised where a model says the slip would crash rather than return."""


def with_slip(name, key):
    """A function of `name` that makes the slip `key`: it returns what the slip's model says it returns."""
    row = SPEC[name]

    def slipped(*args, **kwargs):
        right = row.reference(*args, **kwargs)
        right = right if len(row.returns) > 1 else (right,)
        models = row.model(*args, **kwargs)
        if key in models and models[key] is None:
            raise SlipCrashed(f"{key} crashes on these inputs")
        parts = models.get(key) or {}
        returned = tuple(parts.get(part, value) for part, value in zip(row.returns, right))
        return returned if len(returned) > 1 else returned[0]

    return slipped


def public_failure(checker, name, function):
    """The message of the public check of `name` on function (None when every public case passes)."""
    try:
        checker.check(name, function)
    except checker.CheckFailed as failed:
        return str(failed)
    return None


def shows_publicly(name, key):
    """True when the slip's model returns something other than the right answer on some public case."""
    row = SPEC[name]
    return any(key in row.known_mistakes(*row.make_inputs(case)) for case in row.public_cases)


@pytest.mark.parametrize("name, key", MODELLED, ids=[f"{name}-{key}" for name, key in MODELLED])
def test_every_modelled_slip_fails_a_public_check(checker, capsys, name, key):
    if (name, key) in PUBLICLY_UNCAUGHT:
        pytest.fail(f"{name}/{key} is listed as publicly uncaught: {PUBLICLY_UNCAUGHT[(name, key)]}")
    message = public_failure(checker, name, with_slip(name, key))
    assert message, f"{name} with the slip {key!r} passes every public check:\n{capsys.readouterr().out}"
    if shows_publicly(name, key):  # a slip that returns a wrong value is named, as grading names it
        assert f"Looks like {SPEC[name].mistakes[key].what}" in message, message


@pytest.mark.parametrize("mutant", MUTANTS, ids=[mutant.id for mutant in MUTANTS])
def test_every_catalogue_mutant_fails_its_public_check(checker, capsys, mutant):
    functions = defined(mutant_answers(mutant, SOLUTIONS))
    message = public_failure(checker, mutant.function, functions[mutant.function])
    assert message, f"{mutant.id} ({mutant.why}) passes every public check:\n{capsys.readouterr().out}"
    named = [f"Looks like {SPEC[mutant.function].mistakes[mutant.mistake].what}"] if mutant.mistake else []
    unsaid = [words for words in [*named, *mutant.says] if words not in message]
    assert unsaid == [], message  # the student reads first what grading would say (the slip, its hint)


def test_the_stride_slips_of_the_issue_fail_their_public_checks(checker):
    """Issue 19: windows starting at (h, w) passed both public checks of pool_forward and of pool_backward."""
    for name in ("pool_forward", "pool_backward"):
        edits = [
            (name, "vert_start = h * stride", "vert_start = h"),
            (name, "horiz_start = w * stride", "horiz_start = w"),
        ]
        functions = defined(SOLUTIONS, edits)
        message = public_failure(checker, name, functions[name])
        assert message and "stride=2" in message and "Looks like the windows move by 1 instead of by stride" in message


def test_a_modelled_slip_that_crashes_is_a_function_that_raises():
    """The conversion above is faithful: a crash is a raise, a slip of the other mode is the right answer."""
    row = SPEC["conv_backward"]
    case = next(case for case in row.public_cases if case["pad"] > 0)
    args, kwargs = row.make_inputs(case)
    with pytest.raises(SlipCrashed):
        with_slip("conv_backward", "window_one_short")(*args, **kwargs)
    pool = SPEC["pool_forward"]
    average = next(case for case in pool.public_cases if case["mode"] == "average")
    args, kwargs = pool.make_inputs(average)
    right = pool.reference(*args, **kwargs)[0]
    assert np.array_equal(with_slip("pool_forward", "mode_swapped_max")(*args, **kwargs)[0], right)
