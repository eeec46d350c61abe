"""Sample submissions, made from the master notebook, with the per-cell scores they must get.

Each sample is a release notebook whose solution cells are filled with the master's
solutions, optionally edited to plant mistakes. Because they are made from the source,
they follow it when the notebook changes, and so do their expected scores: those are
worked out from the check cells' cases and points (which cases a planted mistake fails
follows from the cases' properties), never typed in.
"""

import functools
import shutil

import nbformat

from cnnkit import course
from cnnkit.spec import notebook
from cnnkit.spec.table import SPEC, score


def expected_scores(passes, master=course.MASTER):
    """grade_id -> score of every check cell when passes(function, case) says which cases pass."""
    scores = {}
    for grade_id, (name, hidden, points) in notebook.check_cells(master).items():
        cases = SPEC[name].public_cases + list(hidden)
        scores[grade_id] = score(points, sum(bool(passes(name, case)) for case in cases), len(cases))
    return scores


def _mistaken(answers):
    """A half-done submission with the slips students make most often (each function's partial_sample)."""
    edited = dict(answers)
    for name, function in SPEC.items():
        sample = function.partial_sample
        if sample.stub:
            del edited[name]  # left as the release stub
            continue
        for old, new in sample.edits:
            edited[name] = notebook.edit(edited[name], old, new)
    return edited


def _mistaken_passes(name, case):
    """Which cases the half-done submission passes, from what each planted slip changes."""
    return SPEC[name].partial_sample.passes(case)


FULL = notebook.points()
ZERO = {grade_id: 0 for grade_id in FULL}


@functools.cache
def _samples():
    """name -> (how to make the answers from the master's, expected score of every check cell)."""
    return {
        "sample-complete": (lambda answers: answers, FULL),
        "sample-untouched": (lambda answers: {}, ZERO),
        "sample-partial": (_mistaken, expected_scores(_mistaken_passes)),
    }


def __getattr__(name):
    """SAMPLES, worked out on first use: the expected scores need the checker's public cases (never at import)."""
    if name == "SAMPLES":
        return _samples()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# The sample students' names, so the formgrader and the exports list people ("None, None" otherwise).
SAMPLE_NAMES = {
    "sample-complete": ("Ada", "Complete"),
    "sample-untouched": ("Ulla", "Untouched"),
    "sample-partial": ("Pat", "Partial"),
}
# nbgrader's submission time (timestamp.txt, as nbgrader submit writes it); no deadline is set, so never late.
SAMPLE_TIMESTAMP = "2026-01-15 12:00:00.000000 UTC\n"


def release_notebook():
    return notebook.read(course.RELEASE / f"{course.ASSIGNMENT}.ipynb")


def write_submission(root, student, nb):
    """Write nb as student's submission under root/submitted, with the release's other files."""
    folder = root / "submitted" / student / course.ASSIGNMENT
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(course.RELEASE, folder)
    nbformat.write(nb, str(folder / f"{course.ASSIGNMENT}.ipynb"))
    (folder / "timestamp.txt").write_text(SAMPLE_TIMESTAMP)
    return folder


def write_samples(root=course.ROOT):
    """Put every sample into root/submitted; returns the student ids written."""
    answers = notebook.solutions()
    release = release_notebook()
    for student, (make_answers, _) in _samples().items():
        write_submission(root, student, notebook.fill_in(release, make_answers(answers)))
    return list(_samples())
