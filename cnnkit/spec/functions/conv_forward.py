"""Exercise 3, conv_forward: the convolution layer's forward pass.

Its trusted reference, the model of its known mistakes and their words, the keys of its cases and what
the sample-partial submission does with it; its row in cnn_checks.py:FUNCTIONS holds the rest.
"""

import numpy as np

from cnnkit.spec import slips
from cnnkit.spec.functions.zero_pad import reference as zero_pad
from cnnkit.spec.graded import SEED_KEYS, VALUE_KEYS, GradedFunction, Mistake, PartialSample, mistakes
from cnnkit.spec.reference import output_size, windows

CONV_KEYS = frozenset({"m", "n_H", "n_W", "n_C_prev", "n_C", "f", "pad", "stride"})


def reference(A_prev, W, b, hparameters):
    """Convolution forward pass: (Z, cache) with Z of shape (m, n_H, n_W, n_C)."""
    f, stride, pad = W.shape[0], hparameters["stride"], hparameters["pad"]
    n_H = output_size(A_prev.shape[1], f, pad, stride)
    n_W = output_size(A_prev.shape[2], f, pad, stride)
    patches = windows(zero_pad(A_prev, pad), f, stride)[:, :n_H, :n_W]
    Z = np.einsum("mhwcij,ijcn->mhwn", patches, W) + b.reshape(1, 1, 1, -1)
    return Z, (A_prev, W, b, hparameters)


def model(A_prev, W, b, hparameters):
    """The known slips of conv_forward: mistake key -> the parts it returns on these inputs (None: it crashes)."""
    pad, stride = hparameters["pad"], hparameters["stride"]
    Z = reference(A_prev, W, b, hparameters)[0]
    unit = reference(A_prev, W, b, {"pad": pad, "stride": 1})[0]
    same_filter = np.repeat(W[..., :1], W.shape[-1], axis=-1)
    same_bias = np.repeat(b[..., :1], b.shape[-1], axis=-1)
    return {
        "stride_ignored": {"Z": unit},
        "window_not_strided": {"Z": unit[:, : Z.shape[1], : Z.shape[2]]},
        "padding_ignored": {"Z": reference(A_prev, W, b, {"pad": 0, "stride": stride})[0]},
        "bias_missing": {"Z": Z - b.reshape(1, 1, 1, -1)},
        "filter_not_selected": {"Z": reference(A_prev, same_filter, b, hparameters)[0]},
        "bias_not_selected": {"Z": reference(A_prev, W, same_bias, hparameters)[0]},
        "output_one_short": {"Z": Z[:, :-1, :-1]},
        "activation_applied": {"Z": np.maximum(Z, 0.0)},
    }


def _rows_start_right(case):
    """Which cases the sample's slip (rows start at h) still passes: rows step by 1, or there is one row."""
    rows = output_size(case["n_H"], case["f"], case["pad"], case["stride"])
    return case["stride"] == 1 or rows == 1


FUNCTION = GradedFunction(
    name="conv_forward",
    exercise=3,
    part="core",
    reference=reference,
    model=model,
    mistakes=mistakes(
        slips.STRIDE_IGNORED,
        slips.WINDOW_NOT_STRIDED,
        Mistake(
            "padding_ignored",
            "the input was not padded before the windows were taken",
            "Pad A_prev with zero_pad first, count 2 * pad in the output size, and take every slice from the "
            "padded array.",
            "A_prev_pad = zero_pad(A_prev, pad), then a_prev_pad = A_prev_pad[i]",
        ),
        slips.BIAS_MISSING,
        Mistake(
            "filter_not_selected",
            "every output channel used the same filter",
            "Filter c makes output channel c (figure: the layer as volumes): each channel needs its own filter and "
            "its own bias.",
            "conv_single_step(a_slice_prev, W[:, :, :, c], b[:, :, :, c])",
        ),
        Mistake(
            "bias_not_selected",
            "every output channel got the first filter's bias",
            "Filter c makes output channel c, with its own bias (figure: the layer as volumes).",
            "b[:, :, :, c] for output channel c",
        ),
        slips.OUTPUT_ONE_SHORT,
        slips.ACTIVATION_APPLIED,
    ),
    case_keys=CONV_KEYS,
    optional_case_keys=SEED_KEYS | VALUE_KEYS | {"bias_scale"},
    partial_sample=PartialSample(
        edits=(("vert_start = h * stride", "vert_start = h"),),  # windows start at h instead of h * stride (rows only)
        passes=_rows_start_right,
    ),
)
