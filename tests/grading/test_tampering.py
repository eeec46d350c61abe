"""Tricks played from inside the student's kernel earn nothing.

Each submission implements one function as a trick (the rest correctly); the trick
must score 0 on that function, the others keep full marks, and no hidden test
code reaches the autograded notebook or the feedback.
"""

import json

import pytest

from cnnkit import course
from cnnkit.grading.scrub import hidden_lines
from cnnkit.results import scores
from cnnkit.spec import notebook, samples
from tests.support import clone_course, db_url, run_nbgrader

FULL = samples.SAMPLES["sample-complete"][1]

TRICKS = {
    # numpy's comparison functions patched to always agree; zero_pad returns zeros of the right shape.
    "numpy-patched": (
        "zero_pad",
        """
import numpy.testing
np.allclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool)
numpy.testing.assert_allclose = lambda *args, **kwargs: None
numpy.testing.assert_array_equal = lambda *args, **kwargs: None

def zero_pad(X, pad):
    m, n_H, n_W, n_C = X.shape
    return np.zeros((m, n_H + 2 * pad, n_W + 2 * pad, n_C))
""",
    ),
    # An ndarray subclass that claims to equal anything.
    "subclass-permissive-eq": (
        "conv_single_step",
        """
class AlwaysEqual(np.ndarray):
    def __eq__(self, other):
        return True
    __ne__ = lambda self, other: False

def conv_single_step(a_slice_prev, W, b):
    return np.zeros(()).view(AlwaysEqual)
""",
    ),
    # A non-array object that claims to equal anything and converts to anything.
    "object-permissive-eq": (
        "pool_forward",
        """
class Chameleon:
    shape = property(lambda self: None)
    def __eq__(self, other):
        return True
    def __array__(self, dtype=None, copy=None):
        return np.zeros((1,))

def pool_forward(A_prev, hparameters, mode="max"):
    return Chameleon(), (A_prev, hparameters)
""",
    ),
    # Inputs zeroed in place, so a check computing its expectation afterwards would agree.
    "mutates-inputs": (
        "conv_forward",
        """
def conv_forward(A_prev, W, b, hparameters):
    f, pad, stride = W.shape[0], hparameters["pad"], hparameters["stride"]
    n_H = (A_prev.shape[1] - f + 2 * pad) // stride + 1
    n_W = (A_prev.shape[2] - f + 2 * pad) // stride + 1
    A_prev[...] = 0
    W[...] = 0
    b[...] = 0
    return np.zeros((A_prev.shape[0], n_H, n_W, W.shape[3])), (A_prev, W, b, hparameters)
""",
    ),
    # Looks through every caller frame for an array of the right shape to hand back.
    "reads-caller-frames": (
        "conv_backward",
        """
import sys

def conv_backward(dZ, cache):
    A_prev, W, b, hparameters = cache
    wanted = {"dA_prev": A_prev.shape, "dW": W.shape, "db": b.shape}
    found = {}
    frame = sys._getframe(1)
    while frame is not None:
        for name, value in frame.f_locals.items():
            if isinstance(value, np.ndarray) and value is not A_prev and value is not W and value is not b:
                for key, shape in wanted.items():
                    if value.shape == shape and key not in found:
                        found[key] = value
        frame = frame.f_back
    return (found.get("dA_prev", np.zeros(A_prev.shape)), found.get("dW", np.zeros(W.shape)),
            found.get("db", np.zeros(b.shape)))
""",
    ),
    # Searches the notebook's globals and every loaded module for expected values.
    "reads-notebook-globals": (
        "distribute_value",
        """
import sys

def distribute_value(dz, shape):
    for module in list(sys.modules.values()) + [sys.modules["__main__"]]:
        for name, value in list(getattr(module, "__dict__", {}).items()):
            if "expect" in name.lower() and isinstance(value, np.ndarray) and value.shape == tuple(shape):
                return value
    return np.zeros(shape)
""",
    ),
    # Replaces the collector with one that prints a success message and a fake score.
    "fake-collector-and-score": (
        "create_mask_from_window",
        """
import cnn_checks
from IPython.display import display

_real_grade = cnn_checks.grade

def _fake_grade(name, function, hidden_cases, helpers=None):
    if name != "create_mask_from_window":
        return _real_grade(name, function, hidden_cases, helpers)
    print(name + ": all public checks passed.")
    display({"text/plain": "5"}, raw=True)

cnn_checks.grade = _fake_grade
cnn_checks.check = lambda name, function: None

def create_mask_from_window(x):
    return np.zeros(x.shape, dtype=bool)
""",
    ),
    # Echoes every cell's source from a hook, then prints what it saw in a later cell.
    # Registered in the first answer cell, so every later cell prints all the sources seen so far
    # (the demo cells after a check cell would repeat its hidden tests).
    "hook-echoes-hidden-tests": (
        "zero_pad",
        """
_seen = []
get_ipython().events.register("pre_run_cell", lambda info: (_seen.append(info.raw_cell), print(info.raw_cell)))
get_ipython().events.register("post_run_cell", lambda result: print("\\n".join(_seen)))

def zero_pad(X, pad):
    m, n_H, n_W, n_C = X.shape
    return np.ones((m, n_H + 2 * pad, n_W + 2 * pad, n_C))
""",
    ),
}


# What the integrity report must say about each trick (tricks that are merely wrong code need no flag).
EXPECTED_FLAGS = {
    "numpy-patched": ["replaces functions of numpy", "numpy.allclose replaced by a function defined in the notebook"],
    "reads-caller-frames": ["inspects the caller's frames"],
    "reads-notebook-globals": ["touches sys.modules"],
    "fake-collector-and-score": ["replaces functions of numpy, builtins or the checker", "cnn_checks.grade replaced"],
    "hook-echoes-hidden-tests": ["registers IPython hooks", "IPython pre_run_cell hook registered"],
}


@pytest.fixture(scope="module")
def tricked_course(released_course, tmp_path_factory):
    root = clone_course(released_course, tmp_path_factory.mktemp("tampering"))
    release = samples.release_notebook()
    answers = notebook.solutions()
    for student, (function, code) in TRICKS.items():
        samples.write_submission(root, student, notebook.fill_in(release, {**answers, function: code.strip()}))
    samples.write_submission(root, "honest", notebook.fill_in(release, answers))
    run_nbgrader(root, "autograde", course.ASSIGNMENT)
    run_nbgrader(root, "generate_feedback", course.ASSIGNMENT)
    return root


@pytest.mark.parametrize("student", sorted(TRICKS))
def test_a_trick_scores_nothing_on_its_function(tricked_course, student):
    function = TRICKS[student][0]
    assert scores.cell_scores(db_url(tricked_course), student)[f"test_{function}"] == 0


@pytest.mark.parametrize("student", sorted(TRICKS))
def test_a_trick_changes_no_other_score(tricked_course, student):
    function = TRICKS[student][0]
    got = scores.cell_scores(db_url(tricked_course), student)
    assert {k: v for k, v in got.items() if k != f"test_{function}"} == pytest.approx(
        {k: v for k, v in FULL.items() if k != f"test_{function}"}
    )


@pytest.mark.parametrize("student", sorted(TRICKS))
def test_no_hidden_test_code_in_outputs_or_feedback(tricked_course, student):
    secrets = hidden_lines(notebook.read(course.MASTER))
    folder = course.ASSIGNMENT
    autograded = notebook.read(tricked_course / "autograded" / student / folder / f"{folder}.ipynb")
    outputs = str([cell.get("outputs", []) for cell in autograded.cells])
    feedback = (tricked_course / "feedback" / student / folder / f"{folder}.html").read_text()
    for secret in secrets:
        assert secret not in outputs
        assert secret.replace('"', "&quot;") not in feedback and secret not in feedback


def integrity_flags(root, student):
    path = root / "autograded" / student / course.ASSIGNMENT / "integrity.json"
    return [flag["reason"] for flag in json.loads(path.read_text())["flags"]]


@pytest.mark.parametrize("student", sorted(EXPECTED_FLAGS))
def test_the_integrity_report_names_the_trick(tricked_course, student):
    reasons = "\n".join(integrity_flags(tricked_course, student))
    for expected in EXPECTED_FLAGS[student]:
        assert expected in reasons


def test_an_honest_submission_raises_no_flag(tricked_course):
    assert integrity_flags(tricked_course, "honest") == []
    assert scores.cell_scores(db_url(tricked_course), "honest") == pytest.approx(FULL)


def test_integrity_flags_stay_out_of_student_feedback(tricked_course):
    assert not list((tricked_course / "feedback").rglob("integrity.json"))
