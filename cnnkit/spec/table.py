"""The registry of graded functions: every module of cnnkit/spec/functions/, found there, in exercise order.

Each module defines ``FUNCTION``, a ``cnnkit.spec.graded.GradedFunction``: the kit's half of what is known about
one function (part, reference, mistake model and words, case keys, sample behaviour); its other half is its
row in the student checker (``source/<assignment>/cnn_checks.py:FUNCTIONS``), read on first use. Adding a
function is a new module there, its checker row and its notebook cells (docs/extending.md): nothing here.
"""

import importlib
import pkgutil

from cnnkit.spec import functions


def discover(package=functions):
    """Every graded function of the package (cnnkit/spec/functions/), in the order of the notebook's exercises."""
    found = [
        importlib.import_module(f"{package.__name__}.{module.name}").FUNCTION
        for module in pkgutil.iter_modules(package.__path__)
    ]
    numbers = [function.exercise for function in found]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"two graded functions share an exercise number: {sorted(numbers)}")
    return sorted(found, key=lambda function: function.exercise)


def mistake_words(graded):
    """key -> Mistake over every function; a key shared by two functions must have the same words in both."""
    words = {}
    for function in graded:
        for key, mistake in function.mistakes.items():
            if words.setdefault(key, mistake) != mistake:
                raise ValueError(f"the mistake {key!r} has two sets of words ({function.name} and another function)")
    return words


SPEC = {function.name: function for function in discover()}
FUNCTIONS = tuple(SPEC)
MISTAKE_WORDS = mistake_words(SPEC.values())


def score(points, passed, total):
    """Partial credit: points times the fraction of cases passed, rounded down to 0.01."""
    return int(points * passed * 100 // total) / 100 if total else 0.0
