"""Checks for "Convolutional neural networks, step by step".

This file ships with the assignment. It holds no answers: it builds test inputs
from seeds, runs your functions on them and explains what went wrong.

How grading works (see the course README for the full story):
- In the notebook, ``check(name, function)`` runs the public cases, prints what
  it found and raises ``AssertionError`` when a case fails.
- At grading time, ``grade(name, function, hidden_cases)`` only *collects* what
  your function returns on the public and hidden cases. The verdict is reached
  outside your kernel, by the course's grading process, against its own reference
  implementation; nothing your code does inside the kernel can change it.
"""

import base64
import contextlib
import re
import time
import warnings

import numpy as np

RESULT_MIME = "application/vnd.cnnkit.result+json"
PUBLIC_DATA = "public_cases.npz"
# A function that spends more than this on its cases stops being called; the
# remaining cases fail with a message saying so (a hang still hits nbgrader's timeout).
TIME_BUDGET_SECONDS = 20.0
RTOL, ATOL = 1e-6, 1e-8


# What each function returns, named part by part, in order.
PARTS = {
    "zero_pad": ("X_pad",),
    "conv_single_step": ("Z",),
    "conv_forward": ("Z", "cache"),
    "pool_forward": ("A", "cache"),
    "conv_backward": ("dA_prev", "dW", "db"),
    "create_mask_from_window": ("mask",),
    "distribute_value": ("a",),
    "pool_backward": ("dA_prev",),
}

# The seeded demo cases of the notebook: legacy np.random.seed + randn, in draw order.
PUBLIC_CASES = {
    "zero_pad": [
        {"legacy_seed": 1, "shape": (4, 3, 3, 2), "pad": 2},
        {"seed": 101, "shape": (2, 3, 5, 1), "pad": 1},
    ],
    "conv_single_step": [
        {"legacy_seed": 1, "f": 4, "n_C_prev": 3},
        {"seed": 102, "f": 3, "n_C_prev": 2},
    ],
    "conv_forward": [
        {"legacy_seed": 1, "m": 10, "n_H": 4, "n_W": 4, "n_C_prev": 3, "n_C": 8, "f": 2, "pad": 2, "stride": 2},
        {"seed": 103, "m": 2, "n_H": 5, "n_W": 6, "n_C_prev": 2, "n_C": 3, "f": 3, "pad": 1, "stride": 1},
    ],
    "pool_forward": [
        {"legacy_seed": 1, "shape": (2, 4, 4, 3), "f": 3, "stride": 2, "mode": "max"},
        {"legacy_seed": 1, "shape": (2, 4, 4, 3), "f": 3, "stride": 2, "mode": "average"},
    ],
    "conv_backward": [
        {"legacy_seed": 1, "m": 10, "n_H": 4, "n_W": 4, "n_C_prev": 3, "n_C": 8, "f": 2, "pad": 2, "stride": 2},
    ],
    "create_mask_from_window": [
        {"legacy_seed": 1, "shape": (2, 3)},
        {"seed": 104, "shape": (3, 3)},
    ],
    "distribute_value": [
        {"dz": 2.0, "shape": (2, 2)},
        {"seed": 105, "shape": (3, 4)},
    ],
    "pool_backward": [
        {"legacy_seed": 1, "shape": (5, 5, 3, 2), "f": 2, "stride": 1, "mode": "max"},
        {"legacy_seed": 1, "shape": (5, 5, 3, 2), "f": 2, "stride": 1, "mode": "average"},
    ],
}

# What each function takes, in order (to name an argument changed in place).
ARGUMENTS = {
    "zero_pad": ("X", "pad"),
    "conv_single_step": ("a_slice_prev", "W", "b"),
    "conv_forward": ("A_prev", "W", "b", "hparameters"),
    "pool_forward": ("A_prev", "hparameters"),
    "conv_backward": ("dZ", "cache"),
    "create_mask_from_window": ("x",),
    "distribute_value": ("dz", "shape"),
    "pool_backward": ("dA", "cache"),
}
CACHE_ITEMS = {
    "conv_backward": ("A_prev", "W", "b", "hparameters"),
    "pool_backward": ("A_prev", "hparameters"),
}

# Named mistakes: what the grader says when your output matches a known slip.
# key -> (what it looks like happened, a hint to fix it)
MISTAKES = {
    # zero_pad
    "pad_not_applied": (
        "the padding was not added",
        "Return the padded copy, e.g. from np.pad with pad_width ((0, 0), (pad, pad), (pad, pad), (0, 0)).",
    ),
    "pad_all_axes": (
        "the examples and channels axes were padded too",
        "Pad only axes 1 and 2 (height and width); use (0, 0) for axes 0 and 3.",
    ),
    "pad_wrong_axes": (
        "the wrong axes were padded (the examples axis instead of the width)",
        "X is (m, n_H, n_W, n_C): the pad widths are ((0, 0), (pad, pad), (pad, pad), (0, 0)), one pair per axis.",
    ),
    "pad_one_side": (
        "only one side of height and width was padded",
        "Each padded axis needs (pad, pad): pad rows/columns before and after.",
    ),
    "pad_doubled": (
        "2 * pad was added on each side",
        "pad is the number of zeros on *each* side, so use (pad, pad), not (2 * pad, 2 * pad).",
    ),
    # conv_single_step (and conv_forward)
    "bias_missing": ("the bias b was not added", "Add the bias once to every output value."),
    "bias_per_element": (
        "the bias was added to every element before summing",
        "Sum a_slice_prev * W first, then add b once.",
    ),
    "product_not_summed": (
        "the element-wise product was returned without summing it",
        "np.sum(...) turns the window product into a single number.",
    ),
    "mean_instead_of_sum": (
        "the products were averaged (np.mean) instead of summed",
        "Z is the sum of a_slice_prev * W (np.sum), plus b.",
    ),
    # conv_forward and pool_forward
    "stride_ignored": (
        "the stride was ignored",
        "Window (h, w) starts at row h * stride and column w * stride, and the output size divides by stride.",
    ),
    "window_not_strided": (
        "the windows move by 1 instead of by stride",
        "vert_start = h * stride and horiz_start = w * stride (you have the right output size already).",
    ),
    "padding_ignored": (
        "the input was not padded before the windows were taken",
        "Pad A_prev with zero_pad first, count 2 * pad in the output size, and take every slice from the padded array.",
    ),
    "filter_not_selected": (
        "every output channel used the same filter",
        "For output channel c use W[:, :, :, c] and b[:, :, :, c].",
    ),
    "bias_not_selected": (
        "every output channel got the first filter's bias",
        "Output channel c adds its own bias b[:, :, :, c].",
    ),
    "output_one_short": (
        "the output is one row and one column short (the + 1 of the size formula is missing)",
        "n_H = floor((n_H_prev - f + 2 * pad) / stride) + 1: the first window counts too.",
    ),
    "mode_swapped_max": (
        "mode 'max' was handled like 'average'",
        "Check the branches on mode: 'max' takes the maximum of the window (and, backward, routes dA through the mask).",
    ),
    "mode_swapped_average": (
        "mode 'average' was handled like 'max'",
        "Check the branches on mode: 'average' takes the mean of the window (and, backward, shares dA evenly).",
    ),
    "pooled_across_channels": (
        "the window was pooled across all channels at once",
        "Pool each channel separately: A_prev[i, vert_start:vert_end, horiz_start:horiz_end, c].",
    ),
    "stride_as_f": (
        "the window stepped by f instead of stride",
        "Use hparameters['stride'] for the step; f is only the window size.",
    ),
    "window_one_short": (
        "the windows are one row and one column too small",
        "A window is f x f: vert_end = vert_start + f (Python slices stop before the end index).",
    ),
    # backward passes
    "assign_not_accumulate": (
        "a gradient was assigned with = where it must be accumulated with +=",
        "Overlapping windows, examples and filters each add their share: use +=.",
    ),
    "dA_padded": (
        "dA_prev still has the padding",
        "Cut the padding off at the end: da_prev_pad[pad:pad + n_H_prev, pad:pad + n_W_prev, :] "
        "(da_prev_pad[pad:-pad, pad:-pad, :] is empty when pad == 0).",
    ),
    "dW_from_unpadded": ("dW used windows of the unpadded A_prev", "Take a_slice from a_prev_pad, the padded example."),
    "filter_flipped": (
        "the filter was flipped (turned by 180 degrees)",
        "In the loop form no flip is needed: window (h, w) of da_prev_pad gets W[:, :, :, c] * dZ[i, h, w, c].",
    ),
    "divided_by_m": (
        "the gradients were divided by m, the number of examples",
        "dA_prev, dW and db are plain sums over the examples; any 1/m belongs to the cost, not to this layer.",
    ),
    "unpad_outside_loop": (
        "only the last example's dA_prev was filled in",
        "Copy da_prev_pad (without its padding) into dA_prev[i] inside the loop over i.",
    ),
    # create_mask_from_window
    "min_instead_of_max": ("the mask marks the minimum", "Compare with np.max(x)."),
    "max_per_column": (
        "the mask marks the maximum of each column",
        "Take the maximum of the whole window: np.max(x) without an axis.",
    ),
    "max_per_row": (
        "the mask marks the maximum of each row",
        "Take the maximum of the whole window: np.max(x) without an axis.",
    ),
    # distribute_value
    "not_divided": ("dz was copied instead of shared", "Each of the n_H * n_W cells gets dz / (n_H * n_W)."),
    "divided_by_one_side": ("dz was divided by one side only", "Divide by n_H * n_W, the number of cells."),
    "divided_by_sum": ("dz was divided by n_H + n_W", "Divide by n_H * n_W, the number of cells."),
    "floor_division": (
        "floor division (//) was used",
        "Use true division: dz / (n_H * n_W); // rounds down to a whole number.",
    ),
    # pool_backward
    "mask_ignored": (
        "the whole window got the gradient in max mode",
        "Multiply dA[i, h, w, c] by the mask of the window: only the max receives it.",
    ),
    "average_not_shared": (
        "in average mode every cell of the window got the whole gradient",
        "Share it: distribute_value(dA[i, h, w, c], (f, f)) gives each cell dA / (f * f).",
    ),
    "mask_wrong_channel": (
        "the mask was taken from the wrong channel of A_prev",
        "The mask of output channel c comes from channel c: A_prev[i, vert_start:vert_end, horiz_start:horiz_end, c].",
    ),
}


# ---------------------------------------------------------------- inputs


def _draw(case):
    """A function drawing standard normal arrays in order, from the case's seed."""
    if "legacy_seed" in case:
        np.random.seed(case["legacy_seed"])
        return lambda *shape: np.random.randn(*shape)
    rng = np.random.default_rng(case.get("seed", 0))
    return lambda *shape: rng.standard_normal(shape)


def _conv_inputs(case, draw):
    A_prev = draw(case["m"], case["n_H"], case["n_W"], case["n_C_prev"])
    W = draw(case["f"], case["f"], case["n_C_prev"], case["n_C"])
    b = draw(1, 1, 1, case["n_C"])
    return A_prev, W, b, {"pad": case["pad"], "stride": case["stride"]}


def conv_output_shape(case):
    """Shape of Z for a conv case, by the spec's formula."""

    def size(n):
        return (n - case["f"] + 2 * case["pad"]) // case["stride"] + 1

    return (case["m"], size(case["n_H"]), size(case["n_W"]), case["n_C"])


def pool_output_shape(case):
    """Shape of A for a pooling case, by the spec's formula."""
    m, n_H, n_W, n_C = case["shape"]

    def size(n):
        return (n - case["f"]) // case["stride"] + 1

    return (m, size(n_H), size(n_W), n_C)


def make_inputs(name, case):
    """(args, kwargs) for calling function `name` on `case`; fresh arrays every call."""
    draw = _draw(case)
    if name == "zero_pad":
        return (draw(*case["shape"]), case["pad"]), {}
    if name == "conv_single_step":
        f, n_C_prev = case["f"], case["n_C_prev"]
        return (draw(f, f, n_C_prev), draw(f, f, n_C_prev), draw(1, 1, 1)), {}
    if name == "conv_forward":
        return _conv_inputs(case, draw), {}
    if name == "pool_forward":
        hp = {"f": case["f"], "stride": case["stride"]}
        return (draw(*case["shape"]), hp), {"mode": case["mode"]}
    if name == "conv_backward":
        A_prev, W, b, hp = _conv_inputs(case, draw)
        dZ = draw(*conv_output_shape(case))
        return (dZ, (A_prev, W, b, hp)), {}
    if name == "create_mask_from_window":
        return (draw(*case["shape"]),), {}
    if name == "distribute_value":
        dz = case["dz"] if "dz" in case else float(draw(1)[0])
        return (dz, tuple(case["shape"])), {}
    if name == "pool_backward":
        A_prev = draw(*case["shape"])
        hp = {"f": case["f"], "stride": case["stride"]}
        dA = draw(*pool_output_shape(case))
        return (dA, (A_prev, hp)), {"mode": case["mode"]}
    raise KeyError(f"unknown function {name!r}")


def describe_case(name, case):
    """One line naming a case in plain words."""
    if name in ("conv_forward", "conv_backward"):
        text = (
            f"A_prev {(case['m'], case['n_H'], case['n_W'], case['n_C_prev'])}, "
            f"W {(case['f'], case['f'], case['n_C_prev'], case['n_C'])}, "
            f"pad={case['pad']}, stride={case['stride']}"
        )
    elif name in ("pool_forward", "pool_backward"):
        text = f"A_prev {tuple(case['shape'])}, f={case['f']}, stride={case['stride']}, mode={case['mode']!r}"
    elif name == "zero_pad":
        text = f"X {tuple(case['shape'])}, pad={case['pad']}"
    elif name == "conv_single_step":
        text = f"a_slice_prev and W {(case['f'], case['f'], case['n_C_prev'])}, b (1, 1, 1)"
    elif name == "create_mask_from_window":
        text = f"x {tuple(case['shape'])}"
    else:
        text = f"shape={tuple(case['shape'])}" + (f", dz={case['dz']}" if "dz" in case else "")
    return text + (" (the demo case)" if "legacy_seed" in case or "dz" in case else "")


# ---------------------------------------------------------------- encoding what came back

_NUMPY_SCALARS = (np.floating, np.integer, np.bool_)


def _is_plain_number(value):
    if type(value) in (bool, int, float):
        return True
    return type(value).__module__ == "numpy" and isinstance(value, _NUMPY_SCALARS)


def _plain_nested(value, depth=0):
    """True for a list/tuple holding only plain numbers or such lists (no arrays, no objects)."""
    if depth > 8 or type(value) not in (list, tuple):
        return False
    return all(_is_plain_number(item) or _plain_nested(item, depth + 1) for item in value)


def encode(value):
    """A JSON-able description of a returned value (arrays as raw bytes)."""
    if type(value) is np.ndarray:
        if value.dtype.kind not in "biuf":
            return {"kind": "other", "type": f"ndarray of dtype {value.dtype}", "repr": _short_repr(value)}
        data = value.copy(order="C")  # not np.ascontiguousarray: it turns a 0-d array into shape (1,)
        return {
            "kind": "array",
            "dtype": data.dtype.str,
            "shape": list(data.shape),
            "data": base64.b64encode(data.tobytes()).decode("ascii"),
        }
    if isinstance(value, np.ndarray):
        return {
            "kind": "other",
            "type": f"{type(value).__name__} (a subclass of numpy.ndarray)",
            "repr": _short_repr(value),
        }
    if _is_plain_number(value):
        return {"kind": "scalar", "type": type(value).__name__, "value": float(value)}
    if type(value) in (tuple, list):
        if value and _plain_nested(value):
            # Numbers (or nested lists of numbers): sent as one array, so a .tolist() is cheap to report.
            try:
                as_array = np.array(value, dtype=float)
            except (ValueError, TypeError, OverflowError):
                as_array = None
            if as_array is not None:
                return {"kind": type(value).__name__, "length": len(value), "array": encode(as_array)}
        return {"kind": type(value).__name__, "items": [encode(item) for item in value]}
    if type(value) is dict:
        return {"kind": "dict", "items": {str(k): encode(v) for k, v in value.items()}}
    if type(value) is str:
        return {"kind": "other", "type": "str", "repr": _short_repr(value)}
    return {"kind": "other", "type": type(value).__name__, "repr": _short_repr(value)}


def _short_repr(value):
    try:
        text = repr(value)
    except Exception as error:  # a hostile __repr__ must not stop the checks
        text = f"<repr failed: {type(error).__name__}>"
    return text[:200]


def decode_array(encoded):
    """The ndarray inside an encoded 'array', or None."""
    if encoded.get("kind") != "array":
        return None
    raw = base64.b64decode(encoded["data"])
    return np.frombuffer(raw, dtype=np.dtype(encoded["dtype"])).reshape(encoded["shape"]).copy()


def _snapshot(value, depth=0):
    """A copy of the arrays inside the (trusted) inputs, to tell later whether they were changed."""
    if depth > 4:
        return None
    if type(value) is np.ndarray:
        return value.copy()
    if type(value) in (tuple, list):
        return [_snapshot(item, depth + 1) for item in value]
    if type(value) is dict:
        return dict(value)
    return value


def _changed_paths(before, after, path=()):
    """Paths (argument index, item index, ...) of the inputs that no longer equal their snapshot."""
    if type(before) is np.ndarray:
        same = type(after) is np.ndarray and after.shape == before.shape and (after == before).all()
        return [] if same else [list(path)]
    if type(before) is list:
        if type(after) not in (tuple, list) or len(after) != len(before):
            return [list(path)]
        found = []
        for index, (old, new) in enumerate(zip(before, after)):
            found += _changed_paths(old, new, (*path, index))
        return found
    if type(before) is dict:
        return [] if type(after) is dict and after == before else [list(path)]
    return []


def encode_outcome(function, args, kwargs):
    """Call function and encode its return value, or the exception it raised.

    Also notes which inputs the call changed in place ("changed": paths into args).
    """
    try:
        before = _snapshot(list(args))
    except Exception:  # never let the bookkeeping stop the checks
        before = None
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = function(*args, **kwargs)
        outcome = {"returned": encode(value)}
    except Exception as error:
        outcome = {"raised": {"type": type(error).__name__, "message": _short_repr(str(error))}}
    outcome["seconds"] = time.perf_counter() - start
    try:
        changed = _changed_paths(before, list(args)) if before is not None else []
    except Exception:
        changed = []
    if changed and "returned" in outcome:
        outcome["changed"] = changed
    return outcome


# ---------------------------------------------------------------- judging


def _fmt(values, count=4):
    """The first few values, e.g. '[0.5, -1.25, 3, ...]'."""
    flat = np.asarray(values, dtype=float).ravel()
    shown = ", ".join(f"{value:.7g}" for value in flat[:count])
    return f"[{shown}, ...]" if flat.size > count else f"[{shown}]"


def _summary(array):
    """'a float64 array of shape (2, 3): [0.1, 0.2, 0.3, 0.4, ...]'"""
    shown = _fmt(array.astype(float)) if array.size else "[] (empty)"
    article = "an" if array.dtype.name.startswith("i") else "a"
    return f"{article} {array.dtype} array of shape {array.shape}: {shown}"


def compare_arrays(label, expected, got):
    """None when got equals expected (within tolerance), else a sentence saying how not."""
    if got.shape != expected.shape:
        return (
            f"{label} has shape {got.shape}, expected {expected.shape}.\n"
            f"    expected {_summary(expected)}\n    got      {_summary(got)}"
        )
    if got.dtype.kind not in "biuf":
        return f"{label} has dtype {got.dtype}, expected numbers"
    got_f = got.astype(float)
    exp_f = expected.astype(float)
    finite = np.isfinite(got_f)
    if not finite.all():
        first = tuple(int(i) for i in np.argwhere(~finite)[0])
        return (
            f"{label} contains nan or inf at {int((~finite).sum())} of {finite.size} entries, the first at index "
            f"{first} (a mean over an empty window, or 0 / 0, gives nan: check the window bounds).\n"
            f"    got {_summary(got)}"
        )
    close = np.isclose(got_f, exp_f, rtol=RTOL, atol=ATOL)
    if close.all():
        return None
    wrong = np.flatnonzero(~close.ravel())
    first = tuple(int(i) for i in np.unravel_index(wrong[0], close.shape))
    start = int(wrong[0])
    dtype_note = "" if got.dtype == expected.dtype else f" (got dtype {got.dtype}, expected {expected.dtype})"
    message = (
        f"{label} is wrong at {wrong.size} of {close.size} entries; the first at index {first}: "
        f"expected {exp_f[first]:.8g}, got {got_f[first]:.8g}{dtype_note}.\n"
        f"    expected from there on: {_fmt(exp_f.ravel()[start:])}\n"
        f"    got from there on:      {_fmt(got_f.ravel()[start:])}"
    )
    if not got_f.any() and exp_f.any():
        message += f"\n    Every entry of {label} is 0: nothing was written into it."
    return message


def describe_encoded(encoded):
    kind = encoded.get("kind")
    if kind == "array":
        return f"a numpy array of shape {tuple(encoded['shape'])} and dtype {np.dtype(encoded['dtype'])}"
    if kind == "scalar":
        return f"the number {encoded['value']:.8g} ({encoded['type']})"
    if kind in ("tuple", "list") and "array" in encoded:
        shape = tuple(encoded["array"]["shape"])
        what = "numbers" if len(shape) == 1 else f"nested {kind}s of numbers, shape {shape} as an array"
        return f"a {kind} of {encoded['length']} {what}" if len(shape) == 1 else f"a {kind} ({what})"
    if kind in ("tuple", "list"):
        return f"a {kind} of {len(encoded['items'])} items"
    if encoded.get("type") == "NoneType":
        return "None"
    return f"a {encoded.get('type', kind)}: {encoded.get('repr', '')}"


def _none_hint(encoded):
    if encoded.get("type") == "NoneType":
        return " (is the return statement missing, or inside a loop or an if?)"
    return ""


def _values_note(expected, got):
    """' Its values are right' / ' Its values are wrong too: ...' for a value of the wrong type."""
    if expected is None:
        return ""
    expected = np.asarray(expected, dtype=float)
    if got.shape == expected.shape and np.allclose(got, expected, rtol=RTOL, atol=ATOL):
        return " Its values are right: only the type is wrong."
    problem = compare_arrays("as an array, it", expected, got)
    return f" As an array, it would be wrong too: {problem}" if problem else ""


def _as_scalar(name, encoded, expected=None):
    """(value, problem) for a returned value that must be a real scalar."""
    if encoded["kind"] == "scalar":
        return encoded["value"], None
    array = decode_array(encoded)
    if array is not None and array.ndim == 0:
        return float(array), None
    if array is not None and array.size == 1:
        value = float(array.ravel()[0])
        if expected is not None and np.isclose(value, expected, rtol=RTOL, atol=ATOL):
            holding = f"holding {value:.10g} (the right value, but as an array)"
        else:
            holding = f"holding {value:.10g}" + (f" (expected {expected:.10g})" if expected is not None else "")
        return None, (
            f"{name} returned a numpy array of shape {array.shape} {holding}; expected a number (Z must be a number).\n"
            "    Adding the (1, 1, 1) array b keeps the result an array. On NumPy 2, float() of such an array "
            "raises TypeError and storing it into Z[i, h, w, c] raises ValueError.\n"
            "    Hint: take the bias as a number, e.g. b.item(), np.squeeze(b) or b[0, 0, 0]."
        )
    if array is not None:
        return None, (
            f"{name} must return one real number; it returned {_summary(array)}.\n"
            "    Hint: np.sum(a_slice_prev * W) adds every product into a single number; then add the bias."
        )
    if encoded["kind"] in ("tuple", "list") and "array" in encoded:
        return None, f"{name} must return one real number; it returned {describe_encoded(encoded)}."
    return None, f"{name} must return a real number; it returned {describe_encoded(encoded)}" + _none_hint(encoded)


def _as_array(label, encoded, expected=None):
    """(array, problem) for a returned value that must be an ndarray."""
    array = decode_array(encoded)
    if array is not None:
        return array, None
    kind = encoded["kind"]
    listed_shape = tuple(encoded["array"]["shape"]) if "array" in encoded else None
    looks_like_indices = (kind in ("tuple", "list") and listed_shape != np.shape(expected)) or (
        kind == "scalar" and encoded["type"] != "bool"
    )
    if label == "mask" and looks_like_indices:
        return None, (
            f"the mask came back as {describe_encoded(encoded)}, which looks like indices of the maximum "
            "(np.argmax / np.unravel_index / np.where).\n"
            "    Hint: the mask is a boolean array of x's shape, True at the maximum: x == np.max(x)."
        )
    if kind in ("tuple", "list") and "array" in encoded:
        values = decode_array(encoded["array"])
        return None, (
            f"{label} must be a numpy array; it came back as {describe_encoded(encoded)}."
            f"{_values_note(expected, values)}\n"
            "    Hint: return the numpy array itself (np.array(...) around a list; no .tolist())."
        )
    if kind in ("tuple", "list"):
        return None, f"{label} must be a numpy array; it came back as {describe_encoded(encoded)} (use np.array)"
    if kind == "scalar" and expected is not None:
        shape = np.shape(expected)
        return None, (
            f"{label} must be a numpy array of shape {shape}; it came back as {describe_encoded(encoded)}.\n"
            "    Hint: build the whole array, e.g. np.full(shape, value) or np.ones(shape) * value."
        )
    return None, f"{label} must be a numpy array; it came back as {describe_encoded(encoded)}" + _none_hint(encoded)


def _split_parts(name, encoded):
    """The returned parts of a function's result, or a problem sentence."""
    parts = PARTS[name]
    if len(parts) == 1:
        return {parts[0]: encoded}, None
    if encoded["kind"] not in ("tuple", "list") or "items" not in encoded or len(encoded["items"]) != len(parts):
        return None, (
            f"{name} must return a tuple ({', '.join(parts)}); it returned {describe_encoded(encoded)}"
            + _none_hint(encoded)
        )
    return dict(zip(parts, encoded["items"])), None


def _check_cache(name, case, inputs, encoded, changed=()):
    """Problem with the returned cache, or None. The cache must hold the inputs, unpadded.

    changed: argument indices the call changed in place (reported on their own, not again here).
    """
    args, _ = inputs
    expected = list(args[:-1]) if name == "conv_forward" else [args[0]]
    labels = ["A_prev", "W", "b"][: len(expected)]
    hp = args[-1]
    order = ", ".join(labels + ["hparameters"])
    if encoded["kind"] not in ("tuple", "list") or len(encoded.get("items", [])) != len(expected) + 1:
        return f"cache must be the tuple ({order}); got {describe_encoded(encoded)}"
    for index, (label, want, item) in enumerate(zip(labels, expected, encoded["items"])):
        got, problem = _as_array(f"cache's {label}", item)
        if problem:
            return f"{problem}; the cache is ({order})"
        if index in changed:
            continue
        if label == "A_prev" and got.shape != want.shape and name == "conv_forward":
            return (
                f"cache's A_prev has shape {got.shape}, expected {want.shape}: "
                "store the original, unpadded A_prev in the cache"
            )
        problem = compare_arrays(f"cache's {label}", want, got)
        if problem:
            return problem + f"\n    The cache is ({order}): store the inputs unchanged, as they came in."
    got_hp = encoded["items"][-1]
    if got_hp.get("kind") != "dict" or set(got_hp["items"]) != set(hp):
        return f"cache's last item must be the hparameters dict {hp}; got {describe_encoded(got_hp)}"
    return None


def _diagnose(mistakes, label, got):
    """The named mistake whose output matches got, as a sentence, or ''."""
    for key, outputs in (mistakes or {}).items():
        candidate = outputs.get(label)
        if candidate is None:
            continue
        candidate = np.asarray(candidate)
        if candidate.shape == got.shape and np.allclose(
            got.astype(float), candidate.astype(float), rtol=RTOL, atol=ATOL
        ):
            what, hint = MISTAKES[key]
            return f"\n    Looks like {what}. Hint: {hint}"
    return ""


def _size_hint(name, case, got_shape, expected_shape):
    """For a wrongly sized Z / A: which size is off, the spec's formula, and the slip it looks like."""
    if name not in ("conv_forward", "pool_forward") or len(got_shape) != 4 or len(expected_shape) != 4:
        return ""
    f, stride = case["f"], case["stride"]
    pad = case.get("pad", 0)
    sizes = (case["n_H"], case["n_W"]) if name == "conv_forward" else tuple(case["shape"][1:3])
    lines = []
    if got_shape[0] != expected_shape[0]:
        lines.append(f"the first axis must keep the m = {expected_shape[0]} examples")
    for axis, label, n in ((1, "n_H", sizes[0]), (2, "n_W", sizes[1])):
        got, want = got_shape[axis], expected_shape[axis]
        if got == want:
            continue
        inner = f"{n} - {f} + 2 * {pad}" if name == "conv_forward" else f"{n} - {f}"
        span = n - f + 2 * pad
        slips = [
            (span // stride, "the + 1 is missing"),
            (-(-span // stride) + 1, "it was rounded up instead of down: use //"),
            (round(span / stride) + 1, "it was rounded instead of rounded down: use //"),
            (span + 1, "the division by stride is missing"),
            ((n - f) // stride + 1, "the padding is missing"),
            ((n - f + pad) // stride + 1, "the padding was counted once instead of twice"),
            ((n + 2 * pad) // stride + 1, "f is missing"),
        ]
        guess = next((text for size, text in slips if size == got), "")
        lines.append(
            f"{label} is {got}, expected floor(({inner}) / {stride}) + 1 = {want}" + (f" ({guess})" if guess else "")
        )
    if got_shape[3] != expected_shape[3]:
        what = "the number of filters, W.shape[3]" if name == "conv_forward" else "n_C_prev, one per input channel"
        lines.append(f"the last axis must have {expected_shape[3]} channels ({what})")
    return "".join(f"\n    Size: {line}." for line in lines)


def _mask_values(array):
    if array.dtype == bool:
        return array
    if np.isin(array, (0, 1)).all():
        return array.astype(bool)
    return None


def _judge_array(name, case, label, encoded, expected, mistakes):
    got, problem = _as_array(label, encoded, expected)
    if problem:
        return problem
    if label == "mask":
        if got.shape == np.shape(expected) and _mask_values(got) is None:
            return (
                "the mask must hold True/False (or 1/0): expected the result of a comparison, got other values.\n"
                f"    got {_summary(got)}\n"
                "    Hint: the mask is the comparison itself, x == np.max(x), not x multiplied by it."
            )
        if got.shape != np.shape(expected) and got.dtype.kind in "iu":
            return (
                f"the mask came back as {_summary(got)}, not of x's shape {np.shape(expected)}: "
                "that looks like indices of the maximum (np.argwhere / np.nonzero).\n"
                "    Hint: the mask is a boolean array of x's shape, True at the maximum: x == np.max(x)."
            )
        if got.shape == np.shape(expected):
            got = _mask_values(got)
    problem = compare_arrays(label, expected, got)
    if problem is None:
        return None
    if got.shape != np.shape(expected):
        problem += _size_hint(name, case, got.shape, np.shape(expected))
    return problem + _diagnose(mistakes, label, got)


def _judge_scalar(name, label, encoded, expected, mistakes):
    got, problem = _as_scalar(name, encoded, expected)
    if problem:
        array = decode_array(encoded)
        if array is not None and not (array.size == 1 and np.isclose(array.item(), expected, rtol=RTOL, atol=ATOL)):
            problem += _diagnose(mistakes, label, array)
        return problem
    if np.isclose(got, expected, rtol=RTOL, atol=ATOL):
        return None
    return f"{label} = {got:.10g}, expected {expected:.10g}" + _diagnose(mistakes, label, np.asarray(got))


def _input_name(name, path):
    names = ARGUMENTS.get(name, ())
    label = names[path[0]] if path and path[0] < len(names) else f"argument {path[0] + 1 if path else '?'}"
    if len(path) > 1 and name in CACHE_ITEMS and label == "cache" and path[1] < len(CACHE_ITEMS[name]):
        label = f"cache's {CACHE_ITEMS[name][path[1]]}"
    return label


def _changed_message(name, changed):
    if not changed:
        return None
    labels = []
    for path in changed:
        label = _input_name(name, path)
        if label not in labels:
            labels.append(label)
    listed = " and ".join(labels)
    return (
        f"{name} changed its input {listed} in place (it no longer holds what was passed in).\n"
        "    Hint: leave the arguments as they came in: callers use them again (conv_forward passes the same "
        "window to every filter; the backward passes read the cache). Write results into new arrays "
        "(products = a_slice_prev * W, not a_slice_prev *= W; A = np.zeros(...), not a slice of A_prev)."
    )


def judge(name, case, inputs, expected, outcome, mistakes=None):
    """None when the outcome is right, else a message for the student.

    expected: part name -> trusted array (or float); mistakes: key -> {part: array}.
    """
    if "raised" in outcome:
        error = outcome["raised"]
        if error["type"] == "NotImplementedError":
            return f"{name} is not implemented yet (it raised NotImplementedError)"
        return f"{name} raised {error['type']}: {error['message']}{_hint_for_error(error, name)}"
    if "skipped" in outcome:
        return outcome["skipped"]
    parts, problem = _split_parts(name, outcome["returned"])
    if problem:
        return problem
    changed = outcome.get("changed") or []
    changed_args = {path[0] for path in changed if path}
    problems = []
    for label, encoded in parts.items():
        if label == "cache":
            problem = _check_cache(name, case, inputs, encoded, changed_args)
        elif name == "conv_single_step":
            problem = _judge_scalar(name, label, encoded, expected[label], mistakes)
        else:
            problem = _judge_array(name, case, label, encoded, expected[label], mistakes)
        if problem:
            problems.append(problem)
    note = _changed_message(name, changed)
    if note:
        problems.append(note)
    return "\n    ".join(problems) if problems else None


_SHAPES_MET = {
    "conv": (
        "\n    Hint: arrays of different shapes met. If one is a window cut from the input, it came out smaller than "
        "f x f because it ran past the edge of the array: slice the padded example (a_prev_pad), start window "
        "(h, w) at (h * stride, w * stride) and end it at start + f, and check the output size "
        "n_H = (n_H_prev - f + 2 * pad) // stride + 1."
    ),
    "pool": (
        "\n    Hint: arrays of different shapes met. A window of A_prev is f x f: start window (h, w) at "
        "(h * stride, w * stride), end it at start + f, and check the output size n_H = (n_H_prev - f) // stride + 1. "
        "What is added into a window must be f x f too (its mask, or distribute_value(dz, (f, f)))."
    ),
}


def _hint_for_error(error, name=None):
    message = error["message"]
    kind = error["type"]
    if kind == "TypeError" and any(
        text in message for text in ("only 0-dimensional arrays", "only length-1 arrays", "only size-1 arrays")
    ):
        return (
            "\n    Hint: on NumPy 2, float() of a (1, 1, 1) array (such as b) raises this TypeError; "
            "use b.item() or np.squeeze(b) to get the bias as a number."
        )
    if "setting an array element with a sequence" in message:
        return (
            "\n    Hint: an array was stored into a single element, e.g. Z[i, h, w, c] = <a (1, 1, 1) array>. "
            "On NumPy 2 this fails: make the value a number first (b.item() or np.squeeze(b) for the bias)."
        )
    if "could not broadcast input array from shape (0," in message:
        return (
            "\n    Hint: an empty slice was stored into dA_prev. With pad == 0, a[pad:-pad] is a[0:0], which is empty: "
            "use a[pad:pad + n_H_prev, pad:pad + n_W_prev] (or handle pad == 0 apart)."
        )
    if "cannot be interpreted as an integer" in message and "float" in message:
        return (
            "\n    Hint: a size came out as a float. Use floor division for the output size: "
            "n_H = (n_H_prev - f + 2 * pad) // stride + 1 (or int(...))."
        )
    if "zero-size array" in message:
        return (
            "\n    Hint: a window was empty: it started past the end of the input. "
            "Check the output size (floor, i.e. //) and that window (h, w) starts at (h * stride, w * stride)."
        )
    if "could not be broadcast" in message or "shape-mismatch for sum" in message:
        if name in ("conv_forward", "conv_backward", "pool_forward", "pool_backward"):
            return _SHAPES_MET[name[:4]]
        return "\n    Hint: two arrays of different shapes met; print their shapes to see which one is off."
    if kind == "IndexError":
        return "\n    Hint: an index ran past an array's end; check the output size formula and the loop ranges."
    if kind == "KeyError":
        return "\n    Hint: hparameters has the keys 'stride' and 'pad' (convolution) or 'f' and 'stride' (pooling)."
    if kind in ("NameError", "UnboundLocalError"):
        return (
            "\n    Hint: the function uses a name that does not exist when it runs: a typo, or a variable defined "
            "outside the function (in another cell) or only in one branch."
        )
    return ""


def score(points, verdicts):
    """Partial credit: points times the fraction of cases passed, rounded down to 0.01."""
    passed = sum(1 for verdict in verdicts if verdict is None)
    return int(points * passed * 100 // len(verdicts)) / 100 if verdicts else 0.0


_NUMBER = re.compile(r"-?\d+\.?\d*(?:e[-+]?\d+)?")
# Lines of a verdict that only show data (values of this case), left out when comparing verdicts.
_DATA_LINES = ("expected ", "got ")


def _gist(verdict):
    """What a verdict says, without its case's data and numbers, to spot cases that fail alike."""
    lines = [line.strip() for line in verdict.split("\n")]
    kept = [lines[0]] + [line for line in lines[1:] if not line.startswith(_DATA_LINES)]
    return " ".join(_NUMBER.sub("#", " ".join(kept)).split())


def _case_numbers(indices):
    numbers = [str(index + 1) for index in indices]
    return ", ".join(numbers[:-1]) + f" and {numbers[-1]}"


def report(name, cases, verdicts):
    """The failing cases in plain words, cases that fail alike written out once (lines, indented)."""
    groups = {}
    for index, verdict in enumerate(verdicts):
        if verdict:
            groups.setdefault(_gist(verdict), []).append(index)
    lines = []
    for indices in groups.values():
        first = indices[0]
        head = f"Case {first + 1} ({describe_case(name, cases[first])})"
        if len(indices) == 1:
            lines.append(f"  {head}:\n    {verdicts[first]}")
            continue
        which = f"All {len(cases)} cases" if len(indices) == len(cases) else f"Cases {_case_numbers(indices)}"
        lines.append(f"  {which} fail alike; the first of them, {head}:\n    {verdicts[first]}")
        if len(indices) < len(cases):
            lines.append(
                "    The others: " + "; ".join(f"case {i + 1} ({describe_case(name, cases[i])})" for i in indices[1:])
            )
    return "\n".join(lines)


# ---------------------------------------------------------------- in the notebook


@contextlib.contextmanager
def helpers_in_place(function, helpers):
    """Temporarily bind trusted helpers in the function's globals (isolation)."""
    namespace = getattr(function, "__globals__", None)
    if not helpers or namespace is None:
        yield
        return
    saved = {key: namespace[key] for key in helpers if key in namespace}
    namespace.update(helpers)
    try:
        yield
    finally:
        for key in helpers:
            namespace.pop(key, None)
        namespace.update(saved)


def grade(name, function, hidden_cases, helpers=None):
    """Collect the function's outcome on every public and hidden case (grading only).

    Emits one result record per case; the course's grading step judges them.
    """
    from IPython.display import display

    cases = PUBLIC_CASES[name] + list(hidden_cases)
    deadline = time.perf_counter() + TIME_BUDGET_SECONDS
    for index, case in enumerate(cases):
        if time.perf_counter() > deadline:
            outcome = {"skipped": f"not run: {name} used up its {TIME_BUDGET_SECONDS:.0f} s time budget"}
        else:
            args, kwargs = make_inputs(name, case)
            with helpers_in_place(function, helpers):
                outcome = encode_outcome(function, args, kwargs)
        display({RESULT_MIME: {"function": name, "case": index, "outcome": outcome}}, raw=True)


def _public_expected(name, index):
    """Expected parts and named-mistake outputs of a public case, from the shipped data file."""
    import os

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), PUBLIC_DATA)
    expected, mistakes = {}, {}
    with np.load(path, allow_pickle=False) as data:
        prefix = f"{name}/{index}/"
        for key in data.files:
            if not key.startswith(prefix):
                continue
            rest = key[len(prefix) :].split("/")
            value = data[key]
            if rest[0] == "expected":
                expected[rest[1]] = float(value) if value.ndim == 0 else value
            else:
                mistakes.setdefault(rest[1], {})[rest[2]] = value
    return expected, mistakes


def check(name, function):
    """Run the public cases of `name`; print a report and raise AssertionError if any fails."""
    cases = PUBLIC_CASES[name]
    verdicts = []
    for index, case in enumerate(cases):
        inputs = make_inputs(name, case)
        outcome = encode_outcome(function, *make_inputs(name, case))  # fresh copies: the call may mutate them
        expected, mistakes = _public_expected(name, index)
        verdicts.append(judge(name, case, inputs, expected, outcome, mistakes))
    failed = sum(1 for verdict in verdicts if verdict)
    if failed:
        raise AssertionError(f"{name}: {failed} of {len(cases)} public checks failed\n{report(name, cases, verdicts)}")
    print(f"{name}: all {len(cases)} public checks passed. Hidden cases are checked at grading time.")
