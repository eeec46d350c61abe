"""Sample submissions, made from the master notebook, with the per-cell scores they must get.

Each sample is a release notebook whose solution cells are filled with the
master's solutions, optionally edited to plant mistakes. Because they are made
from the source, they follow it when the notebook changes.
"""

import shutil

import nbformat

from cnnkit import course
from cnnkit.spec import notebook

FULL = {
    "test_zero_pad": 10,
    "test_conv_single_step": 10,
    "test_conv_forward": 40,
    "test_pool_forward": 40,
    "test_conv_backward": 25,
    "test_create_mask_from_window": 5,
    "test_distribute_value": 5,
    "test_pool_backward": 15,
}
ZERO = {grade_id: 0 for grade_id in FULL}


def _mistaken(answers):
    """A half-done submission with the slips students make most often."""
    edited = dict(answers)
    # Bias forgotten in the single step: every case of conv_single_step fails.
    edited["conv_single_step"] = notebook.edit(answers["conv_single_step"], "Z = Z + b.item()", "Z = Z")
    # Windows start at h instead of h * stride: only the stride-1 cases pass (4 of 10).
    edited["conv_forward"] = notebook.edit(answers["conv_forward"], "vert_start = h * stride", "vert_start = h")
    # Average pooling branch missing: the max cases pass (5 of 10).
    edited["pool_forward"] = notebook.edit(answers["pool_forward"], 'elif mode == "average":', 'elif mode == "avg":')
    for name in ("conv_backward", "distribute_value", "pool_backward"):
        del edited[name]  # left as the release stub
    return edited


# name -> (how to make the answers from the master's, expected score of every check cell)
SAMPLES = {
    "sample-complete": (lambda answers: answers, FULL),
    "sample-untouched": (lambda answers: {}, ZERO),
    "sample-partial": (
        _mistaken,
        {
            **ZERO,
            "test_zero_pad": 10,
            "test_conv_single_step": 0,
            "test_conv_forward": 16,
            "test_pool_forward": 20,
            "test_create_mask_from_window": 5,
        },
    ),
}


def release_notebook():
    return notebook.read(course.RELEASE / f"{course.ASSIGNMENT}.ipynb")


def write_submission(root, student, nb):
    """Write nb as student's submission under root/submitted, with the release's other files."""
    folder = root / "submitted" / student / course.ASSIGNMENT
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(course.RELEASE, folder)
    nbformat.write(nb, str(folder / f"{course.ASSIGNMENT}.ipynb"))
    return folder


def write_samples(root=course.ROOT):
    """Put every sample into root/submitted; returns the student ids written."""
    answers = notebook.solutions()
    release = release_notebook()
    for student, (make_answers, _) in SAMPLES.items():
        write_submission(root, student, notebook.fill_in(release, make_answers(answers)))
    return list(SAMPLES)
