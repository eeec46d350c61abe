"""Exercise 8, pool_backward: the gradient of the pooling layer.

Its trusted reference, the model of its known mistakes and their words, the keys of its cases and what
the sample-partial submission does with it; its row in cnn_checks.py:FUNCTIONS holds the rest.
"""

import numpy as np

from cnnkit.spec import slips
from cnnkit.spec.functions.pool_forward import POOL_KEYS, other_mode
from cnnkit.spec.graded import SEED_KEYS, STUB, VALUE_KEYS, GradedFunction, Mistake, mistakes
from cnnkit.spec.reference import window_origins, windows


def reference(dA, cache, mode="max"):
    """Gradient of the pooling layer with respect to its input."""
    A_prev, hparameters = cache
    f, stride = hparameters["f"], hparameters["stride"]
    m, n_H, n_W, n_C = dA.shape
    patches = windows(A_prev, f, stride)[:, :n_H, :n_W]  # (m, n_H, n_W, n_C, f, f)
    if mode == "max":
        share = patches == patches.max(axis=(4, 5), keepdims=True)
    else:
        share = np.full(patches.shape, 1.0 / (f * f))
    contributions = share * dA[..., None, None]  # (m, n_H, n_W, n_C, f, f)
    dA_prev = np.zeros(A_prev.shape, dtype=float)
    rows = window_origins(n_H, stride)[:, None] + np.arange(f)[None, :]
    cols = window_origins(n_W, stride)[:, None] + np.arange(f)[None, :]
    r = rows[:, None, :, None]
    c = cols[None, :, None, :]
    moved = np.moveaxis(contributions, 3, -1)  # (m, n_H, n_W, f, f, n_C)
    for i in range(m):
        np.add.at(dA_prev[i], (r, c), moved[i])
    return dA_prev


def pool_backward_loop(
    dA,
    cache,
    mode="max",
    accumulate=True,
    stride_in_index=True,
    use_mask=True,
    mask_channel=None,
    share=True,
    size=None,
):
    """A loop-based pool_backward with switches for the classic slips (None: the slip would crash here).

    size: the windows' size, f unless a slip makes them smaller (the share of an average is still f x f).
    """
    A_prev, hparameters = cache
    f = hparameters["f"]
    size = f if size is None else size
    stride = hparameters["stride"] if stride_in_index else 1
    m, n_H, n_W, n_C = dA.shape
    dA_prev = np.zeros(A_prev.shape)
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    r, s = h * stride, w * stride
                    window = A_prev[i, r : r + size, s : s + size, c if mask_channel is None else mask_channel]
                    if mode == "max":
                        part = (window == window.max()) if use_mask else np.ones_like(window)
                        part = part * dA[i, h, w, c]
                    else:
                        part = np.full((f, f), dA[i, h, w, c] / (f * f if share else 1))
                    target = dA_prev[i, r : r + size, s : s + size, c]
                    if target.shape != part.shape:
                        return None  # numpy refuses to add arrays of these shapes
                    if accumulate:
                        target += part
                    else:
                        target[...] = part
    return {"dA_prev": dA_prev}


def model(dA, cache, mode="max"):
    """The known slips of pool_backward: mistake key -> the parts it returns on these inputs (None: it crashes)."""
    found = {
        f"mode_swapped_{mode}": {"dA_prev": reference(dA, cache, other_mode(mode))},
        "assign_not_accumulate": pool_backward_loop(dA, cache, mode, accumulate=False),
        "window_not_strided": pool_backward_loop(dA, cache, mode, stride_in_index=False),
        "window_one_short": pool_backward_loop(dA, cache, mode, size=cache[1]["f"] - 1),
    }
    if mode == "max":
        found["mask_ignored"] = pool_backward_loop(dA, cache, mode, use_mask=False)
        found["mask_wrong_channel"] = pool_backward_loop(dA, cache, mode, mask_channel=0)
    else:
        found["average_not_shared"] = pool_backward_loop(dA, cache, mode, share=False)
    return found


FUNCTION = GradedFunction(
    name="pool_backward",
    exercise=8,
    part="optional",
    reference=reference,
    model=model,
    mistakes=mistakes(
        slips.MODE_SWAPPED_MAX,
        slips.MODE_SWAPPED_AVERAGE,
        slips.ASSIGN_NOT_ACCUMULATE,
        slips.WINDOW_NOT_STRIDED,
        slips.WINDOW_ONE_SHORT,
        Mistake(
            "mask_ignored",
            "the whole window got the gradient in max mode",
            "Only the entry that won the max receives the gradient: that is what the mask is for (figure: pooling "
            "gradients).",
            "mask * dA[i, h, w, c]",
        ),
        Mistake(
            "mask_wrong_channel",
            "the mask was taken from the wrong channel of A_prev",
            "The max of output channel c was taken in channel c of the window: its mask comes from there too.",
            "create_mask_from_window(A_prev[i, vert_start:vert_end, horiz_start:horiz_end, c])",
        ),
        Mistake(
            "average_not_shared",
            "in average mode every cell of the window got the whole gradient",
            "In average mode every cell contributed 1 / (f * f) of the output, so each gets that share of the "
            "gradient (figure: pooling gradients).",
            "distribute_value(dA[i, h, w, c], (f, f))",
        ),
    ),
    case_keys=POOL_KEYS,
    optional_case_keys=SEED_KEYS | VALUE_KEYS,
    partial_sample=STUB,
)
