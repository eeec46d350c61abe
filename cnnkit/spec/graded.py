"""What the kit knows of one graded function: the class every module of cnnkit/spec/functions/ fills in once.

A graded function joins two halves:
- the kit's (this object): the part it belongs to, the trusted reference, the model of known mistakes and
  their words, the keys its cases may have, and what the sample-partial submission does with it;
- the student checker's (its row in ``source/<assignment>/cnn_checks.py:FUNCTIONS``): arguments, returned
  parts, cache items, public cases, how a case becomes inputs and a case in words. Those are read from the
  checker on first use (``cnnkit.course.load_checks``), never when the kit is imported.

Points are in neither: they come from the notebook's nbgrader metadata (``cnnkit.spec.notebook.points``).

A mistake model takes the case's call arguments and returns, per mistake key, the parts the mistaken function
would return (part name -> array), or None when that slip would crash on these inputs instead of returning (its
error names it then: cnn_checks._ERROR_HINTS). A key left out does not apply to these inputs (another mode).
When a student's output equals a model's output, the feedback names that mistake with its words.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from cnnkit import course

SEED_KEYS = frozenset({"seed", "legacy_seed"})
VALUE_KEYS = frozenset({"scale", "offset"})  # signs and magnitudes of the drawn values


@dataclass(frozen=True)
class Mistake:
    key: str
    what: str  # what it looks like happened, completing "Looks like ..."
    hint: str  # how to fix it: the idea, or the figure to look at
    line: str = ""  # the exact code, shown only on request ("show me"); "" when the hint says it all


def _passes_all(case):
    return True


@dataclass(frozen=True)
class PartialSample:
    """What the sample-partial submission (cnnkit.spec.samples) does with a function, and which cases that passes.

    The default: the master's solution, untouched, passing every case.
    """

    edits: tuple = ()  # ((old, new), ...): a slip planted in the master's solution (cnnkit.spec.notebook.edit)
    stub: bool = False  # left as the release stub: passes nothing
    passes: Callable[[dict], bool] = _passes_all  # which cases the (edited) solution still passes


STUB = PartialSample(stub=True, passes=lambda case: False)


@dataclass(frozen=True)
class GradedFunction:
    name: str
    exercise: int  # its exercise number in the notebook: the order of every table of functions
    part: str  # "core" or "optional"
    reference: Callable  # the trusted implementation, never shipped to students
    model: Callable  # (*args, **kwargs) -> {mistake key: {part: array} or None}
    mistakes: dict[str, Mistake]  # key -> its words, every key the model can name
    case_keys: frozenset  # keys every case must have
    optional_case_keys: frozenset = field(default=SEED_KEYS)  # keys a case may have besides (seeds, value shapers)
    partial_sample: PartialSample = PartialSample()

    # ------------------------------------------------------------ the student checker's half, read on first use

    @property
    def _row(self):
        return course.load_checks().FUNCTIONS[self.name]

    @property
    def arguments(self) -> tuple:
        return tuple(self._row["arguments"])

    @property
    def returns(self) -> tuple:
        """Names of the returned parts, in order ("cache" is checked against the inputs)."""
        return tuple(self._row["returns"])

    @property
    def cache_items(self) -> tuple:
        """Names of the items of the cache argument (backward passes), else ()."""
        return tuple(self._row.get("cache", ()))

    @property
    def public_cases(self) -> list:
        """The cases check() runs in the notebook; hidden ones are in the check cells."""
        return list(self._row["public"])

    def make_inputs(self, case):
        """(args, kwargs) of the call on `case`: fresh arrays, as the kernel builds them."""
        return course.load_checks().make_inputs(self.name, case)

    def describe(self, case):
        return course.load_checks().describe_case(self.name, case)

    # ------------------------------------------------------------ what grading asks

    def expected_parts(self, args, kwargs):
        """What the reference returns, as part name -> value (the cache is judged apart)."""
        value = self.reference(*args, **kwargs)
        values = value if len(self.returns) > 1 else (value,)
        return {part: item for part, item in zip(self.returns, values) if part != "cache"}

    def known_mistakes(self, args, kwargs):
        """The mistakes whose output differs from the right answer on these inputs, as judge() takes them.

        key -> {"what", "hint", "line", "parts": {part: array}}. A mistake whose model says it would crash on
        these inputs (None) is left out: a crash is named by its error (cnn_checks._ERROR_HINTS).
        """
        right = self.expected_parts(args, kwargs)
        found = {}
        for key, parts in self.model(*args, **kwargs).items():
            if parts is None:
                continue
            if any(_differs(np.asarray(right[part]), np.asarray(value)) for part, value in parts.items()):
                arrays = {part: np.asarray(value) for part, value in parts.items()}
                words = self.mistakes[key]
                found[key] = {"what": words.what, "hint": words.hint, "line": words.line, "parts": arrays}
        return found


def mistakes(*words):
    """key -> Mistake, from the Mistakes a function's model names (its own, and shared ones of cnnkit.spec.slips)."""
    return {mistake.key: mistake for mistake in words}


def _differs(a, b):
    return a.shape != b.shape or not np.allclose(a, b)
