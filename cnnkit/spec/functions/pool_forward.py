"""Exercise 4, pool_forward: max or average pooling, forward.

Its trusted reference, the model of its known mistakes and their words, the keys of its cases and what
the sample-partial submission does with it; its row in cnn_checks.py:FUNCTIONS holds the rest.
"""

import numpy as np

from cnnkit.spec import slips
from cnnkit.spec.graded import SEED_KEYS, VALUE_KEYS, GradedFunction, Mistake, PartialSample, mistakes
from cnnkit.spec.reference import output_size, windows

POOL_KEYS = frozenset({"shape", "f", "stride", "mode"})


def reference(A_prev, hparameters, mode="max"):
    """Pooling forward pass: (A, cache) with A of shape (m, n_H, n_W, n_C)."""
    f, stride = hparameters["f"], hparameters["stride"]
    n_H = output_size(A_prev.shape[1], f, 0, stride)
    n_W = output_size(A_prev.shape[2], f, 0, stride)
    patches = windows(A_prev, f, stride)[:, :n_H, :n_W]
    reduce = {"max": np.max, "average": np.mean}[mode]
    return reduce(patches, axis=(4, 5)), (A_prev, hparameters)


def other_mode(mode):
    return "average" if mode == "max" else "max"


def pool(A_prev, f, stride, mode):
    return reference(A_prev, {"f": f, "stride": stride}, mode)[0]


def pool_forward_loop(A_prev, f, mode, shape, step, size):
    """Pooled output of the given shape from size x size windows stepping by step (None: one is empty, a crash)."""
    reduce = np.max if mode == "max" else np.mean
    A = np.zeros(shape)
    for i in range(shape[0]):
        for h in range(shape[1]):
            for w in range(shape[2]):
                window = A_prev[i, h * step : h * step + size, w * step : w * step + size]
                if window.shape[0] * window.shape[1] == 0:
                    return None  # this slip would crash, not return
                A[i, h, w] = reduce(window, axis=(0, 1))
    return {"A": A}


def model(A_prev, hparameters, mode="max"):
    """The known slips of pool_forward: mistake key -> the parts it returns on these inputs (None: it crashes)."""
    f, stride = hparameters["f"], hparameters["stride"]
    A = pool(A_prev, f, stride, mode)
    reduce = np.max if mode == "max" else np.mean
    across = reduce(windows(A_prev, f, stride)[:, : A.shape[1], : A.shape[2]], axis=(3, 4, 5))
    found = {
        f"mode_swapped_{mode}": {"A": pool(A_prev, f, stride, other_mode(mode))},
        "window_not_strided": pool_forward_loop(A_prev, f, mode, A.shape, step=1, size=f),
        "stride_ignored": {"A": pool(A_prev, f, 1, mode)},
        "stride_as_f": pool_forward_loop(A_prev, f, mode, A.shape, step=f, size=f),
        "pooled_across_channels": {"A": np.repeat(across[..., None], A.shape[3], axis=3)},
        "output_one_short": {"A": A[:, :-1, :-1]},
    }
    if mode == "max":
        found["max_from_zero"] = {"A": np.maximum(A, 0.0)}
    if f > 1:
        found["window_one_short"] = pool_forward_loop(A_prev, f, mode, A.shape, step=stride, size=f - 1)
    return found


FUNCTION = GradedFunction(
    name="pool_forward",
    exercise=4,
    part="core",
    reference=reference,
    model=model,
    mistakes=mistakes(
        slips.MODE_SWAPPED_MAX,
        slips.MODE_SWAPPED_AVERAGE,
        slips.WINDOW_NOT_STRIDED,
        slips.STRIDE_IGNORED,
        Mistake(
            "stride_as_f",
            "the window stepped by f instead of stride",
            "The step between windows is hparameters['stride']; f is only the window's size (here they differ).",
            "vert_start = h * stride and horiz_start = w * stride",
        ),
        Mistake(
            "pooled_across_channels",
            "the window was pooled across all channels at once",
            "Pooling never mixes channels: channel c of the output summarises channel c of the window alone.",
            "A_prev[i, vert_start:vert_end, horiz_start:horiz_end, c]",
        ),
        slips.OUTPUT_ONE_SHORT,
        slips.WINDOW_ONE_SHORT,
        Mistake(
            "max_from_zero",
            "the maximum started at 0, so a window whose values are all negative gave 0",
            "The maximum of a window is one of its own values, even when they are all negative.",
            "np.max(a_prev_slice) (a running maximum starts at -np.inf, not 0)",
        ),
    ),
    case_keys=POOL_KEYS,
    optional_case_keys=SEED_KEYS | VALUE_KEYS,
    partial_sample=PartialSample(
        edits=(('elif mode == "average":', 'elif mode == "avg":'),),  # the average branch missing: A stays 0
        passes=lambda case: case["mode"] == "max",
    ),
)
