"""Sample submissions, made from the master notebook, with the per-cell scores they must get.

Each sample is a release notebook whose solution cells are filled with the master's
solutions, optionally edited to plant mistakes. Because they are made from the source,
they follow it when the notebook changes, and so do their expected scores: those are
worked out from the check cells' cases and points (which cases a planted mistake fails
follows from the cases' properties), never typed in.
"""

import shutil

import nbformat

from cnnkit import course
from cnnkit.spec import notebook, reference
from cnnkit.spec.table import SPEC, score


def expected_scores(passes, master=course.MASTER):
    """grade_id -> score of every check cell when passes(function, case) says which cases pass."""
    scores = {}
    for grade_id, (name, hidden, points) in notebook.check_cells(master).items():
        cases = SPEC[name].public_cases + list(hidden)
        scores[grade_id] = score(points, sum(bool(passes(name, case)) for case in cases), len(cases))
    return scores


def _mistaken(answers):
    """A half-done submission with the slips students make most often."""
    edited = dict(answers)
    # Bias forgotten in the single step.
    edited["conv_single_step"] = notebook.edit(answers["conv_single_step"], "Z = Z + b.item()", "Z = Z")
    # Windows start at h instead of h * stride (rows only).
    edited["conv_forward"] = notebook.edit(answers["conv_forward"], "vert_start = h * stride", "vert_start = h")
    # Average pooling branch missing: A stays 0 in average mode.
    edited["pool_forward"] = notebook.edit(answers["pool_forward"], 'elif mode == "average":', 'elif mode == "avg":')
    for name in ("conv_backward", "distribute_value", "pool_backward"):
        del edited[name]  # left as the release stub
    return edited


def _mistaken_passes(name, case):
    """Which cases the half-done submission passes, from what each planted slip changes."""
    if name in ("zero_pad", "create_mask_from_window"):
        return True  # untouched
    if name == "conv_single_step":
        return case.get("bias_scale", 1.0) == 0  # a forgotten bias shows unless the bias is 0
    if name == "conv_forward":  # rows start right when they step by 1, or when there is one row
        rows = reference.output_size(case["n_H"], case["f"], case["pad"], case["stride"])
        return case["stride"] == 1 or rows == 1
    if name == "pool_forward":
        return case["mode"] == "max"
    return False  # left as stubs


FULL = notebook.points()
ZERO = {grade_id: 0 for grade_id in FULL}

# name -> (how to make the answers from the master's, expected score of every check cell)
SAMPLES = {
    "sample-complete": (lambda answers: answers, FULL),
    "sample-untouched": (lambda answers: {}, ZERO),
    "sample-partial": (_mistaken, expected_scores(_mistaken_passes)),
}
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
    for student, (make_answers, _) in SAMPLES.items():
        write_submission(root, student, notebook.fill_in(release, make_answers(answers)))
    return list(SAMPLES)
