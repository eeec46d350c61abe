"""Exercise 5, conv_backward: the gradients of the convolution layer.

Its trusted reference, the model of its known mistakes and their words, the keys of its cases and what
the sample-partial submission does with it; its row in cnn_checks.py:FUNCTIONS holds the rest.
"""

import numpy as np

from cnnkit.spec import slips
from cnnkit.spec.functions.conv_forward import CONV_KEYS
from cnnkit.spec.functions.zero_pad import reference as zero_pad
from cnnkit.spec.graded import SEED_KEYS, STUB, VALUE_KEYS, GradedFunction, Mistake, mistakes
from cnnkit.spec.reference import window_origins, windows


def reference(dZ, cache):
    """Gradients (dA_prev, dW, db) of the convolution, by scatter-adding each window."""
    A_prev, W, b, hparameters = cache
    f, stride, pad = W.shape[0], hparameters["stride"], hparameters["pad"]
    m, n_H, n_W, n_C = dZ.shape
    A_pad = zero_pad(A_prev, pad)
    patches = windows(A_pad, f, stride)[:, :n_H, :n_W]
    dW = np.einsum("mhwcij,mhwn->ijcn", patches, dZ)
    db = dZ.sum(axis=(0, 1, 2)).reshape(1, 1, 1, n_C)
    dA_pad = np.zeros_like(A_pad)
    # Each output position (h, w) sends W * dZ back into its own window.
    contributions = np.einsum("ijcn,mhwn->mhwijc", W, dZ)
    rows = window_origins(n_H, stride)[:, None] + np.arange(f)[None, :]  # (n_H, f)
    cols = window_origins(n_W, stride)[:, None] + np.arange(f)[None, :]  # (n_W, f)
    r = rows[:, None, :, None]  # broadcast to (n_H, n_W, f, f)
    c = cols[None, :, None, :]
    for i in range(m):
        np.add.at(dA_pad[i], (r, c), contributions[i])
    dA_prev = dA_pad[:, pad : pad + A_prev.shape[1], pad : pad + A_prev.shape[2], :]
    return dA_prev, dW, db


def conv_backward_loop(
    dZ, cache, accumulate=True, stride_in_index=True, unpad=True, dW_from_padded=True, flip=False, size=None
):
    """A loop-based conv_backward with switches for the classic slips (None: the slip would crash here).

    size: the windows' size, f unless a slip makes them smaller.
    """
    A_prev, W, b, hparameters = cache
    f, pad = W.shape[0], hparameters["pad"]
    size = f if size is None else size
    stride = hparameters["stride"] if stride_in_index else 1
    m, n_H, n_W, n_C = dZ.shape
    A_pad = zero_pad(A_prev, pad)
    source = A_pad if dW_from_padded else zero_pad(A_prev, 0)
    dA_pad, dW, db = np.zeros_like(A_pad), np.zeros_like(W), np.zeros_like(b)
    W_used = W[::-1, ::-1] if flip else W
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    r, s = h * stride, w * stride
                    window = source[i, r : r + size, s : s + size, :]
                    if window.shape != W.shape[:3]:
                        return None  # a window of another shape than the filter's: numpy refuses to add them
                    g = dZ[i, h, w, c]
                    if accumulate:
                        dA_pad[i, r : r + f, s : s + f, :] += W_used[:, :, :, c] * g
                        dW[:, :, :, c] += window * g
                        db[:, :, :, c] += g
                    else:
                        dA_pad[i, r : r + f, s : s + f, :] = W_used[:, :, :, c] * g
                        dW[:, :, :, c] = window * g
                        db[:, :, :, c] = g
    dA = dA_pad[:, pad : pad + A_prev.shape[1], pad : pad + A_prev.shape[2], :] if unpad else dA_pad
    return {"dA_prev": dA, "dW": dW, "db": db}


def model(dZ, cache):
    """The known slips of conv_backward: mistake key -> the parts it returns on these inputs (None: it crashes)."""
    variants = {
        "assign_not_accumulate": {"accumulate": False},
        "window_not_strided": {"stride_in_index": False},
        "dA_padded": {"unpad": False},
        "dW_from_unpadded": {"dW_from_padded": False},
        "filter_flipped": {"flip": True},
        "window_one_short": {"size": cache[1].shape[0] - 1},
    }
    found = {key: conv_backward_loop(dZ, cache, **switches) for key, switches in variants.items()}
    dA_prev, dW, db = reference(dZ, cache)
    m = dZ.shape[0]
    found["divided_by_m"] = {"dA_prev": dA_prev / m, "dW": dW / m, "db": db / m}
    last_only = np.zeros_like(dA_prev)
    last_only[-1] = dA_prev[-1]
    found["unpad_outside_loop"] = {"dA_prev": last_only}
    return found


FUNCTION = GradedFunction(
    name="conv_backward",
    exercise=5,
    part="optional",
    reference=reference,
    model=model,
    mistakes=mistakes(
        slips.ASSIGN_NOT_ACCUMULATE,
        slips.WINDOW_NOT_STRIDED,
        Mistake(
            "dA_padded",
            "dA_prev still has the padding",
            "dA_prev has A_prev's shape: the frame of zeros was no input of the layer, so cut it off at the end "
            "(careful: a[pad:-pad] is empty when pad == 0).",
            "dA_prev[i, :, :, :] = da_prev_pad[pad:pad + n_H_prev, pad:pad + n_W_prev, :]",
        ),
        Mistake(
            "dW_from_unpadded",
            "dW used windows of the unpadded A_prev",
            "dW reads the same windows as the forward pass, and those were cut from the padded input.",
            "a_slice = a_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :]",
        ),
        Mistake(
            "filter_flipped",
            "the filter was flipped (turned by 180 degrees)",
            "In the loop form no flip is needed: each window of da_prev_pad gets the filter as it is, times the "
            "gradient of its output.",
            "da_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :] += W[:, :, :, c] * dZ[i, h, w, c]",
        ),
        Mistake(
            "divided_by_m",
            "the gradients were divided by m, the number of examples",
            "dA_prev, dW and db are plain sums over the examples; any 1/m belongs to the cost, not to this layer.",
        ),
        Mistake(
            "unpad_outside_loop",
            "only the last example's dA_prev was filled in",
            "Every example i gets its own dA_prev[i]: fill it inside the loop over i.",
        ),
        slips.WINDOW_ONE_SHORT,
    ),
    case_keys=CONV_KEYS,
    optional_case_keys=SEED_KEYS | VALUE_KEYS | {"bias_scale"},
    partial_sample=STUB,
)
