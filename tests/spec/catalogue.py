"""A catalogue of student submissions: realistic mistakes, and correct solutions written differently.

Mutants: each is one small text edit (or a few) of one master solution, the slip a student
makes; every other function stays the master's. Grading must take points off that
function's check cell, and only there, and say why (the case, and the named mistake
when the checker knows it).

Alternatives: sets of the eight functions, correct but written unlike the master
(whole-array numpy, other loop orders, other return types, noisy on stderr), with the master's
solution for a function an alternative does not rewrite (one added later). Grading must give
them full marks.
"""

import re
from dataclasses import dataclass, field

from cnnkit.spec import notebook


@dataclass(frozen=True)
class Mutant:
    id: str
    function: str
    edits: tuple  # ((old, new), ...) applied in order to the master's solution of `function`
    why: str
    mistake: str | None = None  # key of cnn_checks.MISTAKES the feedback must name
    says: tuple = field(default=())  # further phrases the feedback must contain

    def source(self, solutions):
        code = solutions[self.function]
        for old, new in self.edits:
            code = notebook.edit(code, old, new)
        return code


def _horizontal(line):
    return re.sub(r"\bh\b", "w", line.replace("vert_", "horiz_").replace("n_H", "n_W"))


def both(old_vertical, new_vertical):
    """The same edit for the vertical line and its horizontal twin (vert_/horiz_, h/w, n_H/n_W)."""
    return ((old_vertical, new_vertical), (_horizontal(old_vertical), _horizontal(new_vertical)))


CONV_SIZE = "n_H = (n_H_prev - f + 2 * pad) // stride + 1"
POOL_SIZE = "n_H = (n_H_prev - f) // stride + 1"
MASK_LINE = "dA_prev[i, vert_start:vert_end, horiz_start:horiz_end, c] += mask * dA[i, h, w, c]"
AVERAGE_LINE = "dA_prev[i, vert_start:vert_end, horiz_start:horiz_end, c] += distribute_value(da, (f, f))"

MUTANTS = [
    # ------------------------------------------------------------ zero_pad
    Mutant("zp-not-applied", "zero_pad", (("return X_pad", "return X"),), "returns X unpadded", "pad_not_applied"),
    Mutant(
        "zp-all-axes",
        "zero_pad",
        (("((0, 0), (pad, pad), (pad, pad), (0, 0))", "pad"),),
        "np.pad(X, pad) pads every axis",
        "pad_all_axes",
    ),
    Mutant(
        "zp-wrong-axes",
        "zero_pad",
        (("((0, 0), (pad, pad), (pad, pad), (0, 0))", "((pad, pad), (pad, pad), (0, 0), (0, 0))"),),
        "pads axes 0 and 1",
        "pad_wrong_axes",
    ),
    Mutant(
        "zp-one-side",
        "zero_pad",
        (("(pad, pad), (pad, pad)", "(0, pad), (0, pad)"),),
        "pads after only",
        "pad_one_side",
    ),
    Mutant(
        "zp-before-only",
        "zero_pad",
        (("(pad, pad), (pad, pad)", "(pad, 0), (pad, 0)"),),
        "pads before only",
        "pad_before_only",
    ),
    Mutant(
        "zp-batch-axis",
        "zero_pad",
        (("((0, 0), (pad, pad), (pad, pad), (0, 0))", "((pad, pad), (pad, pad), (pad, pad), (0, 0))"),),
        "pads the examples axis too",
        "pad_batch_axis",
    ),
    Mutant(
        "zp-height-only",
        "zero_pad",
        (("((0, 0), (pad, pad), (pad, pad), (0, 0))", "((0, 0), (pad, pad), (0, 0), (0, 0))"),),
        "pads the height only",
        "pad_height_only",
    ),
    Mutant(
        "zp-doubled",
        "zero_pad",
        (("(pad, pad), (pad, pad)", "(2 * pad, 2 * pad), (2 * pad, 2 * pad)"),),
        "2 * pad on each side",
        "pad_doubled",
    ),
    Mutant(
        "zp-list",
        "zero_pad",
        (("return X_pad", "return X_pad.tolist()"),),
        "returns a nested list",
        says=("must be a numpy array", "values are right"),
    ),
    # ------------------------------------------------------------ conv_single_step
    Mutant("css-bias-missing", "conv_single_step", (("Z = Z + b.item()", "Z = Z"),), "no bias", "bias_missing"),
    Mutant(
        "css-bias-per-element",
        "conv_single_step",
        (("products = a_slice_prev * W", "products = a_slice_prev * W + b"), ("Z = Z + b.item()", "Z = Z")),
        "bias inside the sum",
        "bias_per_element",
    ),
    Mutant(
        "css-float-b",
        "conv_single_step",
        (("Z = Z + b.item()", "Z = Z + float(b)"),),
        "float(b) of a (1, 1, 1) array: TypeError on NumPy 2",
        says=("TypeError", "b.item()"),
    ),
    Mutant(
        "css-array-111",
        "conv_single_step",
        (("Z = Z + b.item()", "Z = Z + b"),),
        "returns a (1, 1, 1) array",
        says=("(1, 1, 1)", "the right value, but as an array", "expected a number", "b.item()"),
    ),
    Mutant(
        "css-not-summed",
        "conv_single_step",
        (("Z = np.sum(products)", "Z = products"),),
        "the product is never summed",
        "product_not_summed",
    ),
    Mutant("css-mean", "conv_single_step", (("np.sum(products)", "np.mean(products)"),), "mean", "mean_instead_of_sum"),
    Mutant(
        "css-relu",
        "conv_single_step",
        (("Z = Z + b.item()", "Z = max(Z + b.item(), 0.0)"),),
        "applies ReLU to the step",
        "activation_applied",
    ),
    Mutant(
        "css-in-place",
        "conv_single_step",
        (("products = a_slice_prev * W", "a_slice_prev *= W\n    products = a_slice_prev"),),
        "multiplies the window in place",
        says=("changed its input a_slice_prev in place",),
    ),
    # ------------------------------------------------------------ conv_forward
    Mutant(
        "cf-window-not-strided",
        "conv_forward",
        both("vert_start = h * stride", "vert_start = h"),
        "windows start at h, w",
        "window_not_strided",
    ),
    Mutant(
        "cf-stride-ignored",
        "conv_forward",
        both("vert_start = h * stride", "vert_start = h") + both(CONV_SIZE, CONV_SIZE.replace(" // stride", "")),
        "stride left out everywhere",
        "stride_ignored",
        says=("Size:",),
    ),
    Mutant(
        "cf-padding-ignored",
        "conv_forward",
        (("A_prev_pad = zero_pad(A_prev, pad)", "A_prev_pad = A_prev"),)
        + both(CONV_SIZE, CONV_SIZE.replace(" + 2 * pad", "")),
        "no padding at all",
        "padding_ignored",
    ),
    Mutant(
        "cf-window-unpadded",
        "conv_forward",
        (("a_prev_pad = A_prev_pad[i]", "a_prev_pad = A_prev[i]"),),
        "windows cut from the unpadded example",
        says=("smaller than f x f", "padded example"),
    ),
    Mutant(
        "cf-bias-missing",
        "conv_forward",
        (("conv_single_step(a_slice_prev, W[:, :, :, c], b[:, :, :, c])", "np.sum(a_slice_prev * W[:, :, :, c])"),),
        "inline product without the bias",
        "bias_missing",
    ),
    Mutant(
        "cf-same-filter",
        "conv_forward",
        (("W[:, :, :, c], b[:, :, :, c]", "W[:, :, :, 0], b[:, :, :, c]"),),
        "wrong channel index: filter 0 for every channel",
        "filter_not_selected",
    ),
    Mutant(
        "cf-same-bias",
        "conv_forward",
        (("W[:, :, :, c], b[:, :, :, c]", "W[:, :, :, c], b[:, :, :, 0]"),),
        "wrong channel index: bias 0 for every channel",
        "bias_not_selected",
    ),
    Mutant(
        "cf-ceil",
        "conv_forward",
        both(CONV_SIZE, "n_H = int(np.ceil((n_H_prev - f + 2 * pad) / stride)) + 1"),
        "output size rounded up",
        says=("smaller than f x f",),
    ),
    Mutant(
        "cf-no-plus-one",
        "conv_forward",
        both(CONV_SIZE, CONV_SIZE.replace(" + 1", "")),
        "output size without the + 1",
        "output_one_short",
        says=("the + 1 is missing",),
    ),
    Mutant(
        "cf-true-division",
        "conv_forward",
        both(CONV_SIZE, CONV_SIZE.replace("//", "/")),
        "output size as a float",
        says=("floor division",),
    ),
    Mutant(
        "cf-cache-padded",
        "conv_forward",
        (("cache = (A_prev, W, b, hparameters)", "cache = (A_prev_pad, W, b, hparameters)"),),
        "cache keeps the padded input",
        says=("unpadded A_prev",),
    ),
    Mutant(
        "cf-relu-applied",
        "conv_forward",
        (
            (
                "Z[i, h, w, c] = conv_single_step(a_slice_prev, W[:, :, :, c], b[:, :, :, c])",
                "Z[i, h, w, c] = max(0.0, conv_single_step(a_slice_prev, W[:, :, :, c], b[:, :, :, c]))",
            ),
        ),
        "applies ReLU to Z",
        "activation_applied",
    ),
    Mutant(
        "cf-returns-z-only",
        "conv_forward",
        (("return Z, cache", "return Z"),),
        "forgets the cache",
        says=("must return a tuple (Z, cache)",),
    ),
    # ------------------------------------------------------------ pool_forward
    Mutant(
        "pf-mode-swapped",
        "pool_forward",
        (('if mode == "max":', 'if mode == "average":'), ('elif mode == "average":', 'elif mode == "max":')),
        "modes swapped",
        "mode_swapped_max",
    ),
    Mutant(
        "pf-average-always",
        "pool_forward",
        (("A[i, h, w, c] = np.max(a_prev_slice)", "A[i, h, w, c] = np.mean(a_prev_slice)"),),
        "average whatever the mode",
        "mode_swapped_max",
    ),
    Mutant(
        "pf-mode-typo",
        "pool_forward",
        (('elif mode == "average":', 'elif mode == "avg":'),),
        "average branch never runs",
        says=("is 0: nothing was written",),
    ),
    Mutant(
        "pf-window-not-strided",
        "pool_forward",
        both("vert_start = h * stride", "vert_start = h"),
        "windows start at h, w",
        "window_not_strided",
    ),
    Mutant(
        "pf-stride-ignored",
        "pool_forward",
        both("vert_start = h * stride", "vert_start = h") + both(POOL_SIZE, "n_H = n_H_prev - f + 1"),
        "stride left out everywhere",
        "stride_ignored",
    ),
    Mutant(
        "pf-stride-as-f",
        "pool_forward",
        both("vert_start = h * stride", "vert_start = h * f"),
        "steps by f",
        "stride_as_f",
    ),
    Mutant(
        "pf-ceil",
        "pool_forward",
        both(POOL_SIZE, "n_H = int(np.ceil((n_H_prev - f) / stride)) + 1"),
        "output size rounded up",
        says=("rounded up",),
    ),
    Mutant(
        "pf-across-channels",
        "pool_forward",
        (("horiz_start:horiz_end, c]", "horiz_start:horiz_end, :]"),),
        "pools all channels together",
        "pooled_across_channels",
    ),
    Mutant(
        "pf-window-one-short",
        "pool_forward",
        both("vert_end = vert_start + f", "vert_end = vert_start + f - 1"),
        "windows of f - 1",
        "window_one_short",
    ),
    Mutant(
        "pf-output-view-of-input",
        "pool_forward",
        (("A = np.zeros((m, n_H, n_W, n_C))", "A = A_prev[:, :n_H, :n_W, :]"),),
        "writes the output into the input",
        says=("changed its input A_prev in place",),
    ),
    Mutant(
        "pf-max-from-zero",
        "pool_forward",
        (("A[i, h, w, c] = np.max(a_prev_slice)", "A[i, h, w, c] = max(0.0, np.max(a_prev_slice))"),),
        "the maximum starts at 0: an all-negative window gives 0",
        "max_from_zero",
    ),
    # ------------------------------------------------------------ conv_backward
    Mutant(
        "cb-dA-assigned",
        "conv_backward",
        (("horiz_start:horiz_end, :] += W", "horiz_start:horiz_end, :] = W"),),
        "dA_prev window assigned with =",
        "assign_not_accumulate",
    ),
    Mutant(
        "cb-dW-assigned",
        "conv_backward",
        (("dW[:, :, :, c] += ", "dW[:, :, :, c] = "),),
        "dW assigned with =",
        "assign_not_accumulate",
    ),
    Mutant(
        "cb-db-assigned",
        "conv_backward",
        (("db[:, :, :, c] += ", "db[:, :, :, c] = "),),
        "db assigned with =",
        "assign_not_accumulate",
    ),
    Mutant(
        "cb-pad-slicing",
        "conv_backward",
        (("da_prev_pad[pad:pad + n_H_prev, pad:pad + n_W_prev, :]", "da_prev_pad[pad:-pad, pad:-pad, :]"),),
        "a[pad:-pad] is empty when pad == 0",
        says=("pad == 0",),
    ),
    Mutant(
        "cb-dA-padded",
        "conv_backward",
        (("return dA_prev, dW, db", "return dA_prev_pad, dW, db"),),
        "returns the padded dA_prev",
        "dA_padded",
    ),
    Mutant(
        "cb-window-not-strided",
        "conv_backward",
        both("vert_start = h * stride", "vert_start = h"),
        "windows start at h, w",
        "window_not_strided",
    ),
    Mutant(
        "cb-window-end-short",
        "conv_backward",
        both("vert_end = vert_start + f", "vert_end = vert_start + f - 1"),
        "windows end one row and column early",
        says=("the window you add into and what you add into it have different shapes",),
    ),
    Mutant(
        "cb-dW-unpadded",
        "conv_backward",
        (("a_prev_pad = A_prev_pad[i]", "a_prev_pad = A_prev[i]"),),
        "dW from windows of the unpadded input",
        says=("smaller than f x f",),
    ),
    Mutant(
        "cb-filter-flipped",
        "conv_backward",
        (("+= W[:, :, :, c] * dZ", "+= W[::-1, ::-1, :, c] * dZ"),),
        "flips the filter",
        "filter_flipped",
    ),
    Mutant(
        "cb-db-divided-by-m",
        "conv_backward",
        (("db[:, :, :, c] += dZ[i, h, w, c]", "db[:, :, :, c] += dZ[i, h, w, c] / m"),),
        "averages db over the batch",
        "divided_by_m",
    ),
    Mutant(
        "cb-unpad-outside-loop",
        "conv_backward",
        (("        dA_prev[i, :, :, :] = da_prev_pad", "    dA_prev[i, :, :, :] = da_prev_pad"),),
        "unpadding dedented out of the loop over examples",
        "unpad_outside_loop",
    ),
    # ------------------------------------------------------------ create_mask_from_window
    Mutant(
        "mask-min", "create_mask_from_window", (("np.max(x)", "np.min(x)"),), "marks the minimum", "min_instead_of_max"
    ),
    Mutant(
        "mask-argmax",
        "create_mask_from_window",
        (("mask = (x == np.max(x))", "mask = np.argmax(x)"),),
        "index of the maximum",
        says=("looks like indices",),
    ),
    Mutant(
        "mask-unravel-index",
        "create_mask_from_window",
        (("mask = (x == np.max(x))", "mask = np.unravel_index(np.argmax(x), x.shape)"),),
        "row and column of the maximum",
        says=("looks like indices",),
    ),
    Mutant(
        "mask-column-max",
        "create_mask_from_window",
        (("np.max(x)", "np.max(x, axis=0)"),),
        "maximum of each column",
        "max_per_column",
    ),
    Mutant(
        "mask-times-x",
        "create_mask_from_window",
        (("mask = (x == np.max(x))", "mask = x * (x == np.max(x))"),),
        "the maximum's value instead of True",
        says=("must hold True/False",),
    ),
    # ------------------------------------------------------------ distribute_value
    Mutant(
        "dv-not-divided",
        "distribute_value",
        (("average = dz / (rows * cols)", "average = dz"),),
        "copies dz",
        "not_divided",
    ),
    Mutant(
        "dv-rows-only",
        "distribute_value",
        (("average = dz / (rows * cols)", "average = dz / rows"),),
        "rows only",
        "divided_by_one_side",
    ),
    Mutant(
        "dv-sum-of-sides",
        "distribute_value",
        (("average = dz / (rows * cols)", "average = dz / (rows + cols)"),),
        "rows + cols",
        "divided_by_sum",
    ),
    Mutant(
        "dv-floor-division",
        "distribute_value",
        (("average = dz / (rows * cols)", "average = dz // (rows * cols)"),),
        "floor division",
        "floor_division",
    ),
    Mutant(
        "dv-kept-dz-type",
        "distribute_value",
        (("a = np.ones(shape) * average", "a = np.full(shape, average, dtype=type(dz))"),),
        "the result takes dz's type: a whole-number dz loses its fraction",
        "kept_dz_type",
    ),
    Mutant(
        "dv-list",
        "distribute_value",
        (("a = np.ones(shape) * average", "a = [[average] * cols] * rows"),),
        "returns a list of lists",
        says=("must be a numpy array", "values are right"),
    ),
    # ------------------------------------------------------------ pool_backward
    Mutant(
        "pb-max-assigned",
        "pool_backward",
        ((MASK_LINE, MASK_LINE.replace("+=", "=")),),
        "max share assigned with =",
        "assign_not_accumulate",
    ),
    Mutant(
        "pb-average-assigned",
        "pool_backward",
        ((AVERAGE_LINE, AVERAGE_LINE.replace("+=", "=")),),
        "average share assigned with =",
        "assign_not_accumulate",
    ),
    Mutant(
        "pb-mask-ignored",
        "pool_backward",
        ((MASK_LINE, MASK_LINE.replace("mask * ", "")),),
        "whole window gets dA",
        "mask_ignored",
    ),
    Mutant(
        "pb-mode-swapped",
        "pool_backward",
        (('if mode == "max":', 'if mode == "average":'), ('elif mode == "average":', 'elif mode == "max":')),
        "modes swapped",
        "mode_swapped_max",
    ),
    Mutant(
        "pb-window-not-strided",
        "pool_backward",
        both("vert_start = h * stride", "vert_start = h"),
        "windows start at h, w",
        "window_not_strided",
    ),
    Mutant(
        "pb-window-one-short",
        "pool_backward",
        both("vert_end = vert_start + f", "vert_end = vert_start + f - 1"),
        "windows of f - 1 (max: a mask of the short window; average: shapes that do not add up)",
        "window_one_short",
        says=("the window you add into and what you add into it have different shapes",),
    ),
    Mutant(
        "pb-average-not-shared",
        "pool_backward",
        (("distribute_value(da, (f, f))", "da * np.ones((f, f))"),),
        "whole dz to every cell",
        "average_not_shared",
    ),
    Mutant(
        "pb-mask-channel-0",
        "pool_backward",
        (("horiz_start:horiz_end, c]\n", "horiz_start:horiz_end, 0]\n"),),
        "wrong channel index for the mask",
        "mask_wrong_channel",
    ),
    Mutant(
        "pb-distribute-window-of-output",
        "pool_backward",
        (("distribute_value(da, (f, f))", "distribute_value(da, (n_H, n_W))"),),
        "shares dz over the output's size instead of the window's",
        says=("raised",),
    ),
]


# ---------------------------------------------------------------- correct alternatives

VECTORIZED = {
    "zero_pad": '''
def zero_pad(X, pad):
    """Zeros first, then the original in the middle."""
    m, n_H, n_W, n_C = X.shape
    X_pad = np.zeros((m, n_H + 2 * pad, n_W + 2 * pad, n_C))
    X_pad[:, pad:pad + n_H, pad:pad + n_W, :] = X
    return X_pad
''',
    "conv_single_step": '''
def conv_single_step(a_slice_prev, W, b):
    """A numpy float64 scalar."""
    return np.sum(a_slice_prev * W) + b[0, 0, 0]
''',
    "conv_forward": '''
def conv_forward(A_prev, W, b, hparameters):
    """Shift and add: one whole-batch product per filter offset (di, dj)."""
    stride, pad = hparameters["stride"], hparameters["pad"]
    m, n_H_prev, n_W_prev, _ = A_prev.shape
    f, _, _, n_C = W.shape
    n_H = (n_H_prev + 2 * pad - f) // stride + 1
    n_W = (n_W_prev + 2 * pad - f) // stride + 1
    A_pad = zero_pad(A_prev, pad)
    Z = np.zeros((m, n_H, n_W, n_C)) + b.reshape(1, 1, 1, n_C)
    for di in range(f):
        for dj in range(f):
            shifted = A_pad[:, di:di + stride * (n_H - 1) + 1:stride, dj:dj + stride * (n_W - 1) + 1:stride, :]
            Z += shifted @ W[di, dj]
    return Z, (A_prev, W, b, hparameters)
''',
    "pool_forward": '''
from numpy.lib.stride_tricks import sliding_window_view


def pool_forward(A_prev, hparameters, mode="max"):
    """Every window at once with sliding_window_view."""
    f, stride = hparameters["f"], hparameters["stride"]
    windows = sliding_window_view(A_prev, (f, f), axis=(1, 2))[:, ::stride, ::stride]
    reduce = np.max if mode == "max" else np.mean
    return reduce(windows, axis=(-2, -1)), (A_prev, hparameters)
''',
    "conv_backward": '''
def conv_backward(dZ, cache):
    """Shift and add, the transpose of the forward pass."""
    A_prev, W, b, hparameters = cache
    stride, pad = hparameters["stride"], hparameters["pad"]
    m, n_H, n_W, n_C = dZ.shape
    f = W.shape[0]
    A_pad = zero_pad(A_prev, pad)
    dA_pad = np.zeros(A_pad.shape)
    dW = np.zeros(W.shape)
    for di in range(f):
        for dj in range(f):
            rows = slice(di, di + stride * (n_H - 1) + 1, stride)
            cols = slice(dj, dj + stride * (n_W - 1) + 1, stride)
            dA_pad[:, rows, cols, :] += dZ @ W[di, dj].T
            dW[di, dj] = np.einsum("mhwc,mhwn->cn", A_pad[:, rows, cols, :], dZ)
    db = dZ.sum(axis=(0, 1, 2)).reshape(1, 1, 1, n_C)
    dA_prev = dA_pad[:, pad:pad + A_prev.shape[1], pad:pad + A_prev.shape[2], :]
    return dA_prev, dW, db
''',
    "create_mask_from_window": """
def create_mask_from_window(x):
    return x == x.max()
""",
    "distribute_value": """
def distribute_value(dz, shape):
    return np.full(shape, dz / np.prod(shape))
""",
    "pool_backward": '''
def pool_backward(dA, cache, mode="max"):
    """Loops over output positions only; examples and channels at once."""
    A_prev, hparameters = cache
    f, stride = hparameters["f"], hparameters["stride"]
    _, n_H, n_W, _ = dA.shape
    dA_prev = np.zeros(A_prev.shape)
    for h in range(n_H):
        for w in range(n_W):
            rows = slice(h * stride, h * stride + f)
            cols = slice(w * stride, w * stride + f)
            grad = dA[:, h:h + 1, w:w + 1, :]
            if mode == "max":
                window = A_prev[:, rows, cols, :]
                dA_prev[:, rows, cols, :] += (window == window.max(axis=(1, 2), keepdims=True)) * grad
            else:
                dA_prev[:, rows, cols, :] += grad / (f * f)
    return dA_prev
''',
}

TENSORDOT_LOOPS = {
    "zero_pad": '''
def zero_pad(X, pad):
    """Blocks of zeros glued on with concatenate."""
    m, n_H, n_W, n_C = X.shape
    side = np.zeros((m, n_H, pad, n_C))
    X = np.concatenate([side, X, side], axis=2)
    top = np.zeros((m, pad, n_W + 2 * pad, n_C))
    return np.concatenate([top, X, top], axis=1)
''',
    "conv_single_step": '''
def conv_single_step(a_slice_prev, W, b):
    """A Python float."""
    return float(np.tensordot(a_slice_prev, W, axes=3)) + float(np.squeeze(b))
''',
    "conv_forward": '''
def conv_forward(A_prev, W, b, hparameters):
    """Loops over output positions; all examples and filters at once with tensordot."""
    stride, pad = hparameters["stride"], hparameters["pad"]
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f, n_C = W.shape[0], W.shape[3]
    n_H = int((n_H_prev - f + 2 * pad) / stride) + 1
    n_W = int((n_W_prev - f + 2 * pad) / stride) + 1
    A_pad = zero_pad(A_prev, pad)
    Z = np.empty((m, n_H, n_W, n_C))
    for h in range(n_H):
        for w in range(n_W):
            window = A_pad[:, h * stride:h * stride + f, w * stride:w * stride + f, :]
            Z[:, h, w, :] = np.tensordot(window, W, axes=([1, 2, 3], [0, 1, 2])) + b[0, 0, 0]
    return Z, (A_prev, W, b, hparameters)
''',
    "pool_forward": '''
def pool_forward(A_prev, hparameters, mode="max"):
    """Loops over output positions; a dict picks the reduction."""
    f, stride = hparameters["f"], hparameters["stride"]
    m, n_H_prev, n_W_prev, n_C = A_prev.shape
    n_H, n_W = (n_H_prev - f) // stride + 1, (n_W_prev - f) // stride + 1
    reduce = {"max": np.max, "average": np.mean}[mode]
    A = np.empty((m, n_H, n_W, n_C))
    for h in range(n_H):
        for w in range(n_W):
            A[:, h, w, :] = reduce(A_prev[:, h * stride:h * stride + f, w * stride:w * stride + f, :], axis=(1, 2))
    return A, (A_prev, hparameters)
''',
    "conv_backward": '''
def conv_backward(dZ, cache):
    """Loops over output positions; tensordot over examples and filters."""
    A_prev, W, b, hparameters = cache
    stride, pad = hparameters["stride"], hparameters["pad"]
    m, n_H, n_W, n_C = dZ.shape
    f = W.shape[0]
    A_pad = zero_pad(A_prev, pad)
    dA_pad = np.zeros_like(A_pad)
    dW = np.zeros_like(W)
    for h in range(n_H):
        for w in range(n_W):
            rows = slice(h * stride, h * stride + f)
            cols = slice(w * stride, w * stride + f)
            dA_pad[:, rows, cols, :] += np.tensordot(dZ[:, h, w, :], W, axes=([1], [3]))
            dW += np.tensordot(A_pad[:, rows, cols, :], dZ[:, h, w, :], axes=([0], [0]))
    db = np.sum(dZ, axis=(0, 1, 2), keepdims=True)
    dA_prev = dA_pad[:, pad:dA_pad.shape[1] - pad, pad:dA_pad.shape[2] - pad, :]
    return dA_prev, dW, db
''',
    "create_mask_from_window": '''
def create_mask_from_window(x):
    """1 at the maximum, 0 elsewhere (integers)."""
    return (x == np.max(x)).astype(int)
''',
    "distribute_value": """
def distribute_value(dz, shape):
    return dz * np.ones(shape) / (shape[0] * shape[1])
""",
    "pool_backward": '''
def pool_backward(dA, cache, mode="max"):
    """Max: the gradient goes to the argmax's position (no mask array); loops i, c, h, w."""
    A_prev, hparameters = cache
    f, stride = hparameters["f"], hparameters["stride"]
    m, n_H, n_W, n_C = dA.shape
    dA_prev = np.zeros(A_prev.shape)
    for i in range(m):
        for c in range(n_C):
            for h in range(n_H):
                for w in range(n_W):
                    r, s = h * stride, w * stride
                    if mode == "max":
                        window = A_prev[i, r:r + f, s:s + f, c]
                        dr, ds = np.unravel_index(np.argmax(window), window.shape)
                        dA_prev[i, r + dr, s + ds, c] += dA[i, h, w, c]
                    else:
                        dA_prev[i, r:r + f, s:s + f, c] += dA[i, h, w, c] / f**2
    return dA_prev
''',
}

STRIDED_IM2COL = {
    "zero_pad": """
def zero_pad(X, pad):
    return np.pad(X, [(0, 0), (pad, pad), (pad, pad), (0, 0)])
""",
    "conv_single_step": '''
def conv_single_step(a_slice_prev, W, b):
    """A 0-d numpy array."""
    return np.asarray(np.einsum("ijk,ijk->", a_slice_prev, W) + b.reshape(()))
''',
    "conv_forward": '''
from numpy.lib.stride_tricks import as_strided


def _windows(A, f, stride, n_H, n_W):
    """View of shape (m, n_H, n_W, f, f, n_C): window (h, w) of every example."""
    s0, s1, s2, s3 = A.strides
    shape = (A.shape[0], n_H, n_W, f, f, A.shape[3])
    return as_strided(A, shape, (s0, s1 * stride, s2 * stride, s1, s2, s3), writeable=False)


def conv_forward(A_prev, W, b, hparameters):
    """im2col: every window flattened into a row, then one matrix product."""
    stride, pad = hparameters["stride"], hparameters["pad"]
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f, n_C = W.shape[0], W.shape[3]
    n_H = (n_H_prev - f + 2 * pad) // stride + 1
    n_W = (n_W_prev - f + 2 * pad) // stride + 1
    columns = _windows(zero_pad(A_prev, pad), f, stride, n_H, n_W).reshape(m * n_H * n_W, -1)
    Z = (columns @ W.reshape(-1, n_C)).reshape(m, n_H, n_W, n_C) + b.reshape(-1)
    return Z, (A_prev, W, b, hparameters)
''',
    "pool_forward": """
def pool_forward(A_prev, hparameters, mode="max"):
    f, stride = hparameters["f"], hparameters["stride"]
    n_H = (A_prev.shape[1] - f) // stride + 1
    n_W = (A_prev.shape[2] - f) // stride + 1
    windows = _windows(A_prev, f, stride, n_H, n_W)
    A = windows.max(axis=(3, 4)) if mode == "max" else windows.mean(axis=(3, 4))
    return A, (A_prev, hparameters)
""",
    "conv_backward": '''
def conv_backward(dZ, cache):
    """im2col backwards: matrix products, then the columns added back window by window."""
    A_prev, W, b, hparameters = cache
    stride, pad = hparameters["stride"], hparameters["pad"]
    m, n_H, n_W, n_C = dZ.shape
    f, n_C_prev = W.shape[0], W.shape[2]
    A_pad = zero_pad(A_prev, pad)
    columns = _windows(A_pad, f, stride, n_H, n_W).reshape(m * n_H * n_W, -1)
    gradients = dZ.reshape(-1, n_C)
    dW = (columns.T @ gradients).reshape(W.shape)
    db = gradients.sum(axis=0).reshape(b.shape)
    dcolumns = (gradients @ W.reshape(-1, n_C).T).reshape(m, n_H, n_W, f, f, n_C_prev)
    dA_pad = np.zeros(A_pad.shape)
    for h in range(n_H):
        for w in range(n_W):
            dA_pad[:, h * stride:h * stride + f, w * stride:w * stride + f, :] += dcolumns[:, h, w]
    n_H_prev, n_W_prev = A_prev.shape[1:3]
    return dA_pad[:, pad:pad + n_H_prev, pad:pad + n_W_prev, :], dW, db
''',
    "create_mask_from_window": """
def create_mask_from_window(x):
    return x >= x.max()
""",
    "distribute_value": '''
def distribute_value(dz, shape):
    """A read-only broadcast view."""
    n_H, n_W = shape
    return np.broadcast_to(dz / (n_H * n_W), shape)
''',
    "pool_backward": '''
def pool_backward(dA, cache, mode="max"):
    """Loop order c, i, w, h; the student's own mask and distribute_value."""
    A_prev, hparameters = cache
    f, stride = hparameters["f"], hparameters["stride"]
    m, n_H, n_W, n_C = dA.shape
    dA_prev = np.zeros_like(A_prev, dtype=float)
    for c in range(n_C):
        for i in range(m):
            for w in range(n_W):
                for h in range(n_H):
                    rows = slice(h * stride, h * stride + f)
                    cols = slice(w * stride, w * stride + f)
                    if mode == "average":
                        dA_prev[i, rows, cols, c] += distribute_value(dA[i, h, w, c], (f, f))
                    else:
                        dA_prev[i, rows, cols, c] += create_mask_from_window(A_prev[i, rows, cols, c]) * dA[i, h, w, c]
    return dA_prev
''',
}

# Correct code that prints to stderr and triggers RuntimeWarnings: it must still earn full marks.
NOISY = {
    "zero_pad": """
import sys
import warnings


def zero_pad(X, pad):
    print(f"zero_pad: padding {X.shape} by {pad}", file=sys.stderr)
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="constant")
""",
    "conv_single_step": """
def conv_single_step(a_slice_prev, W, b):
    np.log(np.zeros(1))  # RuntimeWarning: divide by zero
    warnings.warn("conv_single_step: debugging", RuntimeWarning)
    return float(np.sum(a_slice_prev * W) + np.squeeze(b))
""",
    "conv_forward": '''
import math


def conv_forward(A_prev, W, b, hparameters):
    """The master's loops with the channel loop outermost, and chatter on stderr."""
    sys.stderr.write("conv_forward: starting\\n")
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f, n_C = W.shape[0], W.shape[3]
    stride, pad = hparameters["stride"], hparameters["pad"]
    n_H = math.floor((n_H_prev - f + 2 * pad) / stride) + 1
    n_W = math.floor((n_W_prev - f + 2 * pad) / stride) + 1
    Z = np.zeros((m, n_H, n_W, n_C))
    A_pad = zero_pad(A_prev, pad)
    for c in range(n_C):
        for i in range(m):
            for h in range(n_H):
                for w in range(n_W):
                    window = A_pad[i, h * stride:h * stride + f, w * stride:w * stride + f, :]
                    Z[i, h, w, c] = conv_single_step(window, W[..., c], b[..., c])
    np.sqrt(-np.ones(1))  # RuntimeWarning: invalid value
    return Z, (A_prev, W, b, hparameters)
''',
    "pool_forward": """
def pool_forward(A_prev, hparameters, mode="max"):
    print("pool_forward:", mode)
    print("pool_forward: note", file=sys.stderr)
    f, stride = hparameters["f"], hparameters["stride"]
    m, n_H_prev, n_W_prev, n_C = A_prev.shape
    n_H, n_W = 1 + (n_H_prev - f) // stride, 1 + (n_W_prev - f) // stride
    A = np.zeros((m, n_H, n_W, n_C))
    for i in range(m):
        for c in range(n_C):
            for h in range(n_H):
                for w in range(n_W):
                    window = A_prev[i, h * stride:h * stride + f, w * stride:w * stride + f, c]
                    A[i, h, w, c] = window.max() if mode == "max" else np.average(window)
    return A, (A_prev, hparameters)
""",
    "conv_backward": '''
def conv_backward(dZ, cache):
    """Every filter at once at each position; pad == 0 handled apart."""
    warnings.warn("conv_backward: slow loops ahead")
    A_prev, W, b, hparameters = cache
    stride, pad = hparameters["stride"], hparameters["pad"]
    m, n_H, n_W, n_C = dZ.shape
    f = W.shape[0]
    A_pad = zero_pad(A_prev, pad)
    dA_pad = np.zeros(A_pad.shape)
    dW = np.zeros(W.shape)
    db = np.zeros(b.shape)
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                rows = slice(h * stride, h * stride + f)
                cols = slice(w * stride, w * stride + f)
                dA_pad[i, rows, cols, :] += np.dot(W, dZ[i, h, w, :])
                dW += A_pad[i, rows, cols, :, np.newaxis] * dZ[i, h, w, :]
                db[0, 0, 0, :] += dZ[i, h, w, :]
    dA_prev = dA_pad[:, pad:-pad, pad:-pad, :] if pad else dA_pad
    return dA_prev, dW, db
''',
    "create_mask_from_window": """
def create_mask_from_window(x):
    print("mask of", x.shape, file=sys.stderr)
    return x == np.max(x)
""",
    "distribute_value": """
def distribute_value(dz, shape):
    np.float64(1.0) / np.float64(0.0)  # RuntimeWarning: divide by zero
    return np.ones(shape) * dz / (shape[0] * shape[1])
""",
    "pool_backward": """
def pool_backward(dA, cache, mode="max"):
    sys.stderr.write("pool_backward\\n")
    A_prev, hparameters = cache
    f, stride = hparameters["f"], hparameters["stride"]
    m, n_H, n_W, n_C = dA.shape
    dA_prev = np.zeros(A_prev.shape)
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    rows = slice(h * stride, h * stride + f)
                    cols = slice(w * stride, w * stride + f)
                    if mode == "max":
                        mask = create_mask_from_window(A_prev[i, rows, cols, c])
                        dA_prev[i, rows, cols, c] += np.multiply(mask, dA[i, h, w, c])
                    else:
                        dA_prev[i, rows, cols, c] += distribute_value(dA[i, h, w, c], (f, f))
    return dA_prev
""",
}

OTHER_ORDERS = {
    "zero_pad": '''
def zero_pad(X, pad):
    """A list of pad widths, built rather than written out."""
    widths = [(0, 0)] + [(pad, pad)] * 2 + [(0, 0)]
    return np.pad(X, pad_width=widths, mode="constant", constant_values=0.0)
''',
    "conv_single_step": '''
def conv_single_step(a_slice_prev, W, b):
    """np.vdot flattens both; the bias by flat indexing."""
    return np.vdot(a_slice_prev, W) + b.flat[0]
''',
    "conv_forward": '''
def conv_forward(A_prev, W, b, hparameters):
    """Output size by counting window starts; einsum over examples and filters at each position."""
    stride, pad = hparameters["stride"], hparameters["pad"]
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f, n_C = W.shape[0], W.shape[-1]
    starts_h = range(0, n_H_prev + 2 * pad - f + 1, stride)
    starts_w = range(0, n_W_prev + 2 * pad - f + 1, stride)
    A_pad = zero_pad(A_prev, pad)
    Z = np.zeros((m, len(starts_h), len(starts_w), n_C))
    for w, s in enumerate(starts_w):
        for h, r in enumerate(starts_h):
            Z[:, h, w, :] = np.einsum("mijc,ijcn->mn", A_pad[:, r:r + f, s:s + f, :], W) + b.ravel()
    return Z, (A_prev, W, b, hparameters)
''',
    "pool_forward": '''
def pool_forward(A_prev, hparameters, mode="max"):
    """Loops in the order c, i, w, h; sum / size for the average."""
    f, stride = hparameters["f"], hparameters["stride"]
    m, n_H_prev, n_W_prev, n_C = A_prev.shape
    n_H = (n_H_prev - f) // stride + 1
    n_W = (n_W_prev - f) // stride + 1
    A = np.zeros((m, n_H, n_W, n_C))
    for c in range(n_C):
        for i in range(m):
            for w in range(n_W):
                for h in range(n_H):
                    window = A_prev[i, h * stride:h * stride + f, w * stride:w * stride + f, c]
                    if mode == "average":
                        A[i, h, w, c] = window.sum() / window.size
                    else:
                        A[i, h, w, c] = window.max()
    return A, (A_prev, hparameters)
''',
    "conv_backward": '''
def conv_backward(dZ, cache):
    """Loops in the order c, i, h, w; the padding cut off the whole batch at the end."""
    A_prev, W, b, hparameters = cache
    stride, pad = hparameters["stride"], hparameters["pad"]
    m, n_H, n_W, n_C = dZ.shape
    f = W.shape[0]
    A_pad = zero_pad(A_prev, pad)
    dA_pad = np.zeros(A_pad.shape)
    dW = np.zeros(W.shape)
    db = np.zeros((1, 1, 1, n_C))
    for c in range(n_C):
        for i in range(m):
            for h in range(n_H):
                for w in range(n_W):
                    r, s = h * stride, w * stride
                    g = dZ[i, h, w, c]
                    dA_pad[i, r:r + f, s:s + f, :] += g * W[:, :, :, c]
                    dW[:, :, :, c] += g * A_pad[i, r:r + f, s:s + f, :]
        db[..., c] = dZ[..., c].sum()
    n_H_prev, n_W_prev = A_prev.shape[1], A_prev.shape[2]
    return dA_pad[:, pad:pad + n_H_prev, pad:pad + n_W_prev, :], dW, db
''',
    "create_mask_from_window": '''
def create_mask_from_window(x):
    """0.0 / 1.0 floats."""
    return np.where(x == x.max(), 1.0, 0.0)
''',
    "distribute_value": """
def distribute_value(dz, shape):
    a = np.empty(shape)
    a.fill(dz / a.size)
    return a
""",
    "pool_backward": '''
def pool_backward(dA, cache, mode="max"):
    """Loops in the order w, h, c, i; mask from the window's maximum over a batch slice."""
    A_prev, hparameters = cache
    f, stride = hparameters["f"], hparameters["stride"]
    m, n_H, n_W, n_C = dA.shape
    dA_prev = np.zeros(A_prev.shape)
    for w in range(n_W):
        for h in range(n_H):
            for c in range(n_C):
                for i in range(m):
                    r, s = h * stride, w * stride
                    window = A_prev[i, r:r + f, s:s + f, c]
                    if mode == "max":
                        share = (window == window.max()) * dA[i, h, w, c]
                    else:
                        share = np.full((f, f), dA[i, h, w, c] / (f * f))
                    dA_prev[i, r:r + f, s:s + f, c] = dA_prev[i, r:r + f, s:s + f, c] + share
    return dA_prev
''',
}

# name -> the eight solution cells' code
ALTERNATIVES = {
    "alt-vectorized": VECTORIZED,
    "alt-tensordot-loops": TENSORDOT_LOOPS,
    "alt-strided-im2col": STRIDED_IM2COL,
    "alt-noisy-stderr-warnings": NOISY,
    "alt-other-loop-orders": OTHER_ORDERS,
}


def alternative_answers(name, solutions):
    """An alternative's code for the functions it rewrites, the master's for any other (a function added later)."""
    return {**solutions, **{function: code.strip() + "\n" for function, code in ALTERNATIVES[name].items()}}


def mutant_answers(mutant, solutions):
    """The master's eight solutions with the mutant's function edited."""
    return {**solutions, mutant.function: mutant.source(solutions)}


MUTANTS_BY_ID = {mutant.id: mutant for mutant in MUTANTS}


def entry_answers(entry, solutions):
    """function name -> solution code of a catalogue entry (a mutant's id or an alternative's name)."""
    if entry in ALTERNATIVES:
        return alternative_answers(entry, solutions)
    return mutant_answers(MUTANTS_BY_ID[entry], solutions)


# The entries that also go through real nbgrader (in the session's one autograde batch, tests/conftest.py),
# to show that it gives the verdicts the in-process judging gives: one mistake the checker names, one that
# raises, one that changes its input in place, a correct alternative, and the one that is noisy on stderr.
REAL_NBGRADER = (
    "cb-filter-flipped",
    "css-float-b",
    "pf-output-view-of-input",
    "alt-strided-im2col",
    "alt-noisy-stderr-warnings",
)
