"""The Part B policy: whether the optional part (the backward passes) is required, extra credit or not graded.

The instructor sets it in one place, the course's nbgrader_config.py::

    c.PartBPolicy.mode = "extra_credit"   # or "required" (the default) or "not_graded"

Everything else follows that setting: the sentences the release states (``statement`` and the
``CHECKLISTS`` line before submitting, written into the notebook by ``make release``), the students'
self-checks (public_cases.npz carries the mode), the autograde and feedback steps
(cnnkit.grading.part_policy) and every total (cnnkit.spec.totals).

The default is "required": nbgrader's own total (every check cell's points, 150) is then the grade,
so the kit reports exactly what nbgrader reports, and no grade changes silently when the kit is
updated. A course that follows the original exercise (backward passes ungraded) sets "not_graded".
"""

import contextlib
import functools
import os
import sys

from traitlets import Enum
from traitlets.config import Configurable
from traitlets.config.loader import PyFileConfigLoader

from cnnkit import course

MODES = ("required", "extra_credit", "not_graded")
DEFAULT = "required"


class PartBPolicy(Configurable):
    """How Part B (the optional backward passes) counts: set c.PartBPolicy.mode in nbgrader_config.py."""

    mode = Enum(
        list(MODES),
        default_value=DEFAULT,
        help="'required': Part B's points count in the grade (out of core + Part B); 'extra_credit': the grade "
        "is out of the core points and Part B's points come on top; 'not_graded': only the core counts.",
    ).tag(config=True)


def counts_in_total(mode):
    """True when Part B's points are added into the grade (required and extra credit)."""
    return mode in ("required", "extra_credit")


def counts_in_maximum(mode):
    """True when Part B's points are part of the maximum (required only: extra credit is a bonus)."""
    return mode == "required"


def is_optional(mode):
    """True when a student may leave Part B out without being told they failed."""
    return mode != "required"


STATEMENTS = {
    "required": (
        "**Part B counts in this course: it is required.** Your grade is out of {total} points: {core} for "
        "Part A and {optional} for Part B. A Part B function you leave out scores 0."
    ),
    "extra_credit": (
        "**Part B is extra credit in this course.** Your grade is out of the {core} points of Part A; the "
        "{optional} points of Part B come on top as a bonus. If you leave Part B out, nothing is taken off, and "
        'its self-checks say "not attempted (optional)".'
    ),
    "not_graded": (
        "**Part B is not graded in this course.** Your grade is out of the {core} points of Part A. Do Part B "
        "to learn how the layers learn: its self-checks still tell you whether your answers are right, and if "
        'you leave it out they say "not attempted (optional)".'
    ),
}


# What the notebook's "Done" section asks of Part B before a submission (the cell tagged part_b_checklist).
CHECKLISTS = {
    "required": (
        '**Part B counts in this course.** Its check cells must print "all ... public checks passed" too: a Part '
        'B function you leave out says "not implemented yet" and scores 0.'
    ),
    "extra_credit": (
        "**Part B is extra credit in this course.** For a Part B function you left out, its check cell says "
        '"not attempted (optional)": that costs you nothing.'
    ),
    "not_graded": (
        "**Part B is not graded in this course.** For a Part B function you left out, its check cell says "
        '"not attempted (optional)": that costs you nothing.'
    ),
}


def statement(mode, core_points, optional_points):
    """The sentence the release states about Part B, for the given mode and points."""
    numbers = {"core": f"{core_points:g}", "optional": f"{optional_points:g}"}
    return STATEMENTS[mode].format(total=f"{core_points + optional_points:g}", **numbers)


@contextlib.contextmanager
def _environment_kept():
    """Loading nbgrader_config.py runs it (it sets the sandbox's variables): leave this process as it was."""
    saved_environ, saved_path = dict(os.environ), list(sys.path)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved_environ)
        sys.path[:] = saved_path


def mode_in(config):
    """The mode a traitlets Config sets; the course's setting when it sets none (a step made outside nbgrader)."""
    if "PartBPolicy" in config and "mode" in config.PartBPolicy:
        return PartBPolicy(config=config).mode
    return configured_mode()


@functools.cache
def configured_mode(root=course.ROOT):
    """The mode the course's nbgrader_config.py sets, read the way nbgrader reads it (cached per root)."""
    with _environment_kept():
        config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    return mode_in(config)
