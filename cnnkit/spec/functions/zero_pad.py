"""Exercise 1, zero_pad: a frame of pad zeros around every image of a batch.

Its trusted reference, the model of its known mistakes and their words, the keys of its cases and what
the sample-partial submission does with it; its row in cnn_checks.py:FUNCTIONS holds the rest.
"""

import numpy as np

from cnnkit.spec.graded import SEED_KEYS, VALUE_KEYS, GradedFunction, Mistake, mistakes


def reference(X, pad):
    """Pad height and width (axes 1 and 2) of an (m, n_H, n_W, n_C) batch with zeros."""
    m, n_H, n_W, n_C = X.shape
    X_pad = np.zeros((m, n_H + 2 * pad, n_W + 2 * pad, n_C), dtype=np.result_type(X, 0.0))
    X_pad[:, pad : pad + n_H, pad : pad + n_W, :] = X
    return X_pad


def model(X, pad):
    """The known slips of zero_pad: mistake key -> the parts it returns on these inputs (None: it crashes)."""
    none, both = (0, 0), (pad, pad)
    widths = {
        "pad_all_axes": (both, both, both, both),
        "pad_wrong_axes": (both, both, none, none),
        "pad_batch_axis": (both, both, both, none),
        "pad_channel_axis": (none, both, both, both),
        "pad_one_side": (none, (0, pad), (0, pad), none),
        "pad_before_only": (none, (pad, 0), (pad, 0), none),
        "pad_height_only": (none, both, none, none),
        "pad_width_only": (none, none, both, none),
    }
    found = {"pad_not_applied": {"X_pad": X}, "pad_doubled": {"X_pad": reference(X, 2 * pad)}}
    found.update({key: {"X_pad": np.pad(X, width)} for key, width in widths.items()})
    return found


FUNCTION = GradedFunction(
    name="zero_pad",
    exercise=1,
    part="core",
    reference=reference,
    model=model,
    mistakes=mistakes(
        Mistake(
            "pad_not_applied",
            "the padding was not added",
            "zero_pad returns a new, bigger array: X with a frame of pad zeros around every image (figure: padding "
            "an image).",
            'X_pad = np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="constant", constant_values=0)',
        ),
        Mistake(
            "pad_all_axes",
            "the examples and channels axes were padded too",
            "Only height and width get zeros: np.pad pads every axis it is given a (before, after) pair for, and "
            "(0, 0) leaves an axis alone.",
            "pad_width = ((0, 0), (pad, pad), (pad, pad), (0, 0))",
        ),
        Mistake(
            "pad_wrong_axes",
            "the wrong axes were padded (the examples axis instead of the width)",
            "X is (m, n_H, n_W, n_C): np.pad takes one (before, after) pair per axis, in that order, and only n_H "
            "and n_W are padded.",
            "pad_width = ((0, 0), (pad, pad), (pad, pad), (0, 0))",
        ),
        Mistake(
            "pad_batch_axis",
            "the examples axis (m) was padded too",
            "Padding the first axis invents whole images of zeros: the batch keeps its m examples, and only height "
            "and width get a frame.",
            "pad_width = ((0, 0), (pad, pad), (pad, pad), (0, 0))",
        ),
        Mistake(
            "pad_channel_axis",
            "the channel axis (n_C) was padded too",
            "Padding the last axis invents channels of zeros: every image keeps its n_C channels, and only height "
            "and width get a frame.",
            "pad_width = ((0, 0), (pad, pad), (pad, pad), (0, 0))",
        ),
        Mistake(
            "pad_one_side",
            "zeros were added after the image only (below and to the right)",
            "The frame goes all around: pad zeros before *and* after, on height and on width.",
            "(pad, pad) for axes 1 and 2: ((0, 0), (pad, pad), (pad, pad), (0, 0))",
        ),
        Mistake(
            "pad_before_only",
            "zeros were added before the image only (above and to the left)",
            "The frame goes all around: pad zeros before *and* after, on height and on width.",
            "(pad, pad) for axes 1 and 2: ((0, 0), (pad, pad), (pad, pad), (0, 0))",
        ),
        Mistake(
            "pad_height_only",
            "only the height was padded, not the width",
            "Both spatial axes get the frame: height (axis 1) and width (axis 2).",
            "pad_width = ((0, 0), (pad, pad), (pad, pad), (0, 0))",
        ),
        Mistake(
            "pad_width_only",
            "only the width was padded, not the height",
            "Both spatial axes get the frame: height (axis 1) and width (axis 2).",
            "pad_width = ((0, 0), (pad, pad), (pad, pad), (0, 0))",
        ),
        Mistake(
            "pad_doubled",
            "2 * pad was added on each side",
            "pad is the number of zeros on *each* side, so each side gets pad, and the size grows by 2 * pad in all.",
            "(pad, pad), not (2 * pad, 2 * pad)",
        ),
    ),
    case_keys=frozenset({"shape", "pad"}),
    optional_case_keys=SEED_KEYS | VALUE_KEYS,
)
