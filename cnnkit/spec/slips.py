"""The words of the mistakes several graded functions share (a slip made in more than one place).

A function's own mistakes are in its module (cnnkit/spec/functions/); a key has one set of words.
"""

from cnnkit.spec.graded import Mistake

BIAS_MISSING = Mistake("bias_missing", "the bias b was not added", "Add the bias once to every output value.")
STRIDE_IGNORED = Mistake(
    "stride_ignored",
    "the stride was ignored",
    "Windows start stride rows (and columns) apart, and the output size divides by stride: see the figures where "
    "the filter stops, and the window's corners.",
    "vert_start = h * stride, horiz_start = w * stride; n_H = (n_H_prev - f + 2 * pad) // stride + 1 (no pad in "
    "pooling)",
)
WINDOW_NOT_STRIDED = Mistake(
    "window_not_strided",
    "the windows move by 1 instead of by stride",
    "Your output size is right, but window h + 1 starts only 1 row below window h: it starts stride rows below it "
    "(figure: the window's corners).",
    "vert_start = h * stride and horiz_start = w * stride",
)
OUTPUT_ONE_SHORT = Mistake(
    "output_one_short",
    "the output is one row and one column short (the + 1 of the size formula is missing)",
    "Count the windows: the first window counts too, so the formula ends in + 1.",
    "n_H = (n_H_prev - f + 2 * pad) // stride + 1 (no pad in pooling)",
)
MODE_SWAPPED_MAX = Mistake(
    "mode_swapped_max",
    "mode 'max' was handled like 'average'",
    "Check the branches on mode: 'max' takes the maximum of the window (and, backward, routes dA through the mask).",
)
MODE_SWAPPED_AVERAGE = Mistake(
    "mode_swapped_average",
    "mode 'average' was handled like 'max'",
    "Check the branches on mode: 'average' takes the mean of the window (and, backward, shares dA evenly).",
)
WINDOW_ONE_SHORT = Mistake(
    "window_one_short",
    "the windows are one row and one column too small",
    "A window is f rows by f columns, and a Python slice a[start:end] stops *before* end (figure: the window's "
    "corners).",
    "vert_end = vert_start + f and horiz_end = horiz_start + f",
)
ACTIVATION_APPLIED = Mistake(
    "activation_applied",
    "negative results were replaced by 0 (an activation such as ReLU was applied)",
    "This step is linear: return the sum plus the bias as it is; the activation is a separate layer.",
)
ASSIGN_NOT_ACCUMULATE = Mistake(
    "assign_not_accumulate",
    "a gradient was assigned with = where it must be accumulated with +=",
    "Overlapping windows, examples and filters each add their share: every contribution is added to what is there, "
    "as the sums of section 5 say.",
    "+= in place of =",
)
