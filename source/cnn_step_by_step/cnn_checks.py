"""Checks for "Convolutional neural networks, step by step".

This file ships with the assignment. It holds no answers: it builds test inputs
from seeds, runs your functions on them and explains what went wrong.

- In the notebook, ``check(name, function)`` runs the public cases, compares with
  public_cases.npz (the expected outputs), prints what it found and raises
  ``CheckFailed`` (an AssertionError shown as its message alone) when a case fails.
  More cases, hidden from you, run when the notebook is graded.
- A failing check gives a hint: the idea behind the slip it recognises. ``hint(name)``
  then shows the exact line to look at (so does the same slip failing again).
- At grading time, ``grade(name, function, hidden_cases)`` only *collects* what your
  function returns on the public and hidden cases. The verdict is reached outside
  your kernel, by the grading process, with its own reference implementation.
"""

import base64
import contextlib
import os
import re
import time
import traceback
import types
import warnings

import numpy as np

RESULT_MIME = "application/vnd.cnnkit.result+json"
PUBLIC_DATA = "public_cases.npz"
TIME_BUDGET_SECONDS = 20  # per function in grade(): cases after it are not run (the grading time limit)
RTOL, ATOL = 1e-6, 1e-8
MAX_NESTING = 16  # levels of a returned value that are encoded; deeper ones are described, not encoded

# ---------------------------------------------------------------- the functions and their cases


def _draw(case):
    """A function drawing standard normal arrays in order, from the case's seed."""
    if "legacy_seed" in case:
        np.random.seed(case["legacy_seed"])
        return lambda *shape: np.random.randn(*shape)
    rng = np.random.default_rng(case.get("seed", 0))
    return lambda *shape: rng.standard_normal(shape)


def _scaled(case, draw):
    """draw, then times case["scale"], plus case["offset"] (each optional).

    These keys make the values show slips that plain draws hide: signs (all negative), magnitudes.
    No case makes ties: which maxima a mask marks when several are equal is left open.
    """
    if not {"scale", "offset"} & set(case):
        return draw

    def values(*shape):
        return draw(*shape) * case.get("scale", 1.0) + case.get("offset", 0.0)

    return values


def _bias(case, draw, *shape):
    return draw(*shape) * case["bias_scale"] if "bias_scale" in case else draw(*shape)


def output_size(n, f, pad, stride):
    return (n - f + 2 * pad) // stride + 1


def _conv_output_shape(case):
    size = [output_size(case[n], case["f"], case["pad"], case["stride"]) for n in ("n_H", "n_W")]
    return (case["m"], *size, case["n_C"])


def _pool_output_shape(case):
    m, n_H, n_W, n_C = case["shape"]
    return (m, output_size(n_H, case["f"], 0, case["stride"]), output_size(n_W, case["f"], 0, case["stride"]), n_C)


def _conv_layer(case, draw):
    A_prev = _scaled(case, draw)(case["m"], case["n_H"], case["n_W"], case["n_C_prev"])
    W = draw(case["f"], case["f"], case["n_C_prev"], case["n_C"])
    b = _bias(case, draw, 1, 1, 1, case["n_C"])
    return A_prev, W, b, {"pad": case["pad"], "stride": case["stride"]}


def _conv_backward_inputs(case, draw):
    A_prev, W, b, hparameters = _conv_layer(case, draw)
    return (draw(*_conv_output_shape(case)), (A_prev, W, b, hparameters)), {}


def _pool_backward_inputs(case, draw):
    A_prev = _scaled(case, draw)(*case["shape"])
    dA = draw(*_pool_output_shape(case))
    return (dA, (A_prev, {"f": case["f"], "stride": case["stride"]})), {"mode": case["mode"]}


def _conv_text(case):
    shapes = f"A_prev {(case['m'], case['n_H'], case['n_W'], case['n_C_prev'])}, "
    shapes += f"W {(case['f'], case['f'], case['n_C_prev'], case['n_C'])}, pad={case['pad']}, stride={case['stride']}"
    return shapes + _value_text(case)


def _pool_text(case):
    return f"A_prev {tuple(case['shape'])}, f={case['f']}, stride={case['stride']}, mode={case['mode']!r}" + (
        _value_text(case)
    )


def _value_text(case):
    """How a case's values differ from plain standard normal draws, in words ('' when they do not)."""
    notes = [f"values x {case['scale']:g}"] if "scale" in case else []
    notes += [f"values {case['offset']:+g}"] if "offset" in case else []
    notes += [f"bias x {case['bias_scale']:g}"] if "bias_scale" in case else []
    return "".join(f", {note}" for note in notes)


def _dz(case, draw):
    """dz of a distribute_value case: the demo's number, a whole number (an int), or drawn."""
    if "dz" in case:
        return case["dz"]
    return int(case["whole_dz"]) if "whole_dz" in case else float(draw(1)[0])


# One row per function: its arguments and returned parts (in order), the items of a cache argument,
# how a case becomes inputs (case, draw) -> (args, kwargs), a case in words, and the public cases
# (the notebook's seeded demo case first: legacy np.random.seed + randn, in draw order).
FUNCTIONS = {
    "zero_pad": {
        "arguments": ("X", "pad"),
        "returns": ("X_pad",),
        "inputs": lambda case, draw: ((_scaled(case, draw)(*case["shape"]), case["pad"]), {}),
        "describe": lambda case: f"X {tuple(case['shape'])}, pad={case['pad']}" + _value_text(case),
        "public": [
            {"legacy_seed": 1, "shape": (4, 3, 3, 2), "pad": 2},
            {"seed": 101, "shape": (2, 3, 5, 1), "pad": 1},
            {"seed": 11, "shape": (2, 3, 4, 1), "pad": 0},
        ],
    },
    "conv_single_step": {
        "arguments": ("a_slice_prev", "W", "b"),
        "returns": ("Z",),
        "inputs": lambda case, draw: (
            (
                _scaled(case, draw)(case["f"], case["f"], case["n_C_prev"]),
                draw(case["f"], case["f"], case["n_C_prev"]),
                _bias(case, draw, 1, 1, 1),
            ),
            {},
        ),
        "describe": lambda case: (
            f"a_slice_prev and W {(case['f'], case['f'], case['n_C_prev'])}, b (1, 1, 1)" + _value_text(case)
        ),
        "public": [{"legacy_seed": 1, "f": 4, "n_C_prev": 3}, {"seed": 102, "f": 3, "n_C_prev": 2}],
    },
    "conv_forward": {
        "arguments": ("A_prev", "W", "b", "hparameters"),
        "returns": ("Z", "cache"),
        "inputs": lambda case, draw: (_conv_layer(case, draw), {}),
        "describe": _conv_text,
        "public": [
            {"legacy_seed": 1, "m": 10, "n_H": 4, "n_W": 4, "n_C_prev": 3, "n_C": 8, "f": 2, "pad": 2, "stride": 2},
            {"seed": 103, "m": 2, "n_H": 5, "n_W": 6, "n_C_prev": 2, "n_C": 3, "f": 3, "pad": 1, "stride": 1},
            {"seed": 106, "m": 2, "n_H": 6, "n_W": 7, "n_C_prev": 2, "n_C": 3, "f": 3, "pad": 1, "stride": 2},
        ],
    },
    "pool_forward": {
        "arguments": ("A_prev", "hparameters"),
        "returns": ("A", "cache"),
        "inputs": lambda case, draw: (
            (_scaled(case, draw)(*case["shape"]), {"f": case["f"], "stride": case["stride"]}),
            {"mode": case["mode"]},
        ),
        "describe": _pool_text,
        "public": [
            {"legacy_seed": 1, "shape": (2, 4, 4, 3), "f": 3, "stride": 2, "mode": "max"},
            {"legacy_seed": 1, "shape": (2, 4, 4, 3), "f": 3, "stride": 2, "mode": "average"},
            {"seed": 107, "shape": (2, 5, 7, 2), "f": 3, "stride": 2, "mode": "max"},
            {"seed": 107, "shape": (2, 5, 7, 2), "f": 3, "stride": 2, "mode": "average"},
            {"seed": 108, "shape": (1, 4, 6, 2), "f": 2, "stride": 2, "mode": "max", "offset": -10.0},
        ],
    },
    "conv_backward": {
        "arguments": ("dZ", "cache"),
        "cache": ("A_prev", "W", "b", "hparameters"),
        "returns": ("dA_prev", "dW", "db"),
        "inputs": _conv_backward_inputs,
        "describe": _conv_text,
        "public": [
            {"legacy_seed": 1, "m": 10, "n_H": 4, "n_W": 4, "n_C_prev": 3, "n_C": 8, "f": 2, "pad": 2, "stride": 2},
            {"seed": 51, "m": 1, "n_H": 4, "n_W": 4, "n_C_prev": 1, "n_C": 1, "f": 2, "pad": 0, "stride": 1},
            {"seed": 109, "m": 2, "n_H": 5, "n_W": 6, "n_C_prev": 2, "n_C": 3, "f": 3, "pad": 1, "stride": 2},
        ],
    },
    "create_mask_from_window": {
        "arguments": ("x",),
        "returns": ("mask",),
        "inputs": lambda case, draw: ((_scaled(case, draw)(*case["shape"]),), {}),
        "describe": lambda case: f"x {tuple(case['shape'])}" + _value_text(case),
        "public": [{"legacy_seed": 1, "shape": (2, 3)}, {"seed": 104, "shape": (3, 3)}],
    },
    "distribute_value": {
        "arguments": ("dz", "shape"),
        "returns": ("a",),
        "inputs": lambda case, draw: ((_dz(case, draw), tuple(case["shape"])), {}),
        "describe": lambda case: (
            f"shape={tuple(case['shape'])}"
            + (f", dz={case['dz']}" if "dz" in case else "")
            + (f", dz={case['whole_dz']} (an int)" if "whole_dz" in case else "")
        ),
        "public": [{"dz": 2, "shape": (2, 2)}, {"seed": 105, "shape": (3, 4)}, {"whole_dz": -7, "shape": (3, 4)}],
    },
    "pool_backward": {
        "arguments": ("dA", "cache"),
        "cache": ("A_prev", "hparameters"),
        "returns": ("dA_prev",),
        "inputs": _pool_backward_inputs,
        "describe": _pool_text,
        "public": [
            {"legacy_seed": 1, "shape": (5, 5, 3, 2), "f": 2, "stride": 1, "mode": "max"},
            {"legacy_seed": 1, "shape": (5, 5, 3, 2), "f": 2, "stride": 1, "mode": "average"},
            {"seed": 110, "shape": (2, 5, 7, 2), "f": 3, "stride": 2, "mode": "max"},
            {"seed": 110, "shape": (2, 5, 7, 2), "f": 3, "stride": 2, "mode": "average"},
        ],
    },
}
PUBLIC_CASES = {name: row["public"] for name, row in FUNCTIONS.items()}


def make_inputs(name, case):
    """(args, kwargs) for calling function `name` on `case`; fresh arrays every call."""
    return FUNCTIONS[name]["inputs"](case, _draw(case))


def describe_case(name, case):
    """One line naming a case in plain words."""
    demo = " (the demo case)" if "legacy_seed" in case or "dz" in case else ""
    if demo and name == "conv_backward":  # the demo cell passes Z as dZ; this case draws dZ at random
        demo = " (the demo's A_prev, W and b, but a random dZ: not the demo cell's numbers, which use Z as dZ)"
    return FUNCTIONS[name]["describe"](case) + demo


# ---------------------------------------------------------------- calling and encoding what came back


def _is_plain_number(value):
    if type(value) in (bool, int, float):
        return True
    return type(value).__module__ == "numpy" and isinstance(value, (np.floating, np.integer, np.bool_))


def _plain_nested(value, depth=0):
    """True for a list/tuple holding only plain numbers or such lists (no arrays, no objects)."""
    if depth > 8 or type(value) not in (list, tuple):
        return False
    return all(_is_plain_number(item) or _plain_nested(item, depth + 1) for item in value)


def _short_repr(value):
    try:
        text = repr(value)
    except Exception as error:  # a hostile __repr__ must not stop the checks
        text = f"<repr failed: {type(error).__name__}>"
    return text[:200]


def encode(value, depth=0):
    """A JSON-able description of a returned value (arrays as raw bytes), nested at most MAX_NESTING levels."""
    if depth > MAX_NESTING:
        return {"kind": "other", "type": type(value).__name__, "repr": f"(nested more than {MAX_NESTING} levels deep)"}
    if type(value) is np.ndarray and value.dtype.kind in "biuf":
        data = value.copy(order="C")  # not np.ascontiguousarray: it turns a 0-d array into shape (1,)
        raw = base64.b64encode(data.tobytes()).decode("ascii")
        return {"kind": "array", "dtype": data.dtype.str, "shape": list(data.shape), "data": raw}
    if type(value) is np.ndarray:
        return {"kind": "other", "type": f"ndarray of dtype {value.dtype}", "repr": _short_repr(value)}
    if isinstance(value, np.ndarray):
        kind = f"{type(value).__name__} (a subclass of numpy.ndarray)"
        return {"kind": "other", "type": kind, "repr": _short_repr(value)}
    if _is_plain_number(value):
        return {"kind": "scalar", "type": type(value).__name__, "value": float(value)}
    if type(value) in (tuple, list) and value and _plain_nested(value):
        try:  # numbers (or nested lists of numbers): sent as one array, so a .tolist() is cheap to report
            return {"kind": type(value).__name__, "length": len(value), "array": encode(np.array(value, dtype=float))}
        except (ValueError, TypeError, OverflowError):
            pass
    if type(value) in (tuple, list):
        return {"kind": type(value).__name__, "items": [encode(item, depth + 1) for item in value]}
    if type(value) is dict:
        return {"kind": "dict", "items": {_str_of(k)[:200]: encode(v, depth + 1) for k, v in value.items()}}
    return {"kind": "other", "type": type(value).__name__, "repr": _short_repr(value)}


def _snapshot(value, depth=0):
    """A copy of the arrays inside the (trusted) inputs, to tell later whether they were changed."""
    if depth > 4:
        return None
    if type(value) is np.ndarray:
        return value.copy()
    if type(value) in (tuple, list):
        return [_snapshot(item, depth + 1) for item in value]
    return dict(value) if type(value) is dict else value


def _changed_paths(before, after, path=()):
    """Paths (argument index, item index, ...) of the inputs that no longer equal their snapshot."""
    if type(before) is np.ndarray:
        same = type(after) is np.ndarray and after.shape == before.shape and (after == before).all()
        return [] if same else [list(path)]
    if type(before) is list:
        if type(after) not in (tuple, list) or len(after) != len(before):
            return [list(path)]
        return [
            found for i, (old, new) in enumerate(zip(before, after)) for found in _changed_paths(old, new, (*path, i))
        ]
    if type(before) is dict:
        return [] if type(after) is dict and after == before else [list(path)]
    return []


def _raised_in(function, error):
    """The name of the notebook's function in which error was raised, when it is not `function` itself.

    That is the innermost frame of the traceback that runs a function of the notebook (a function defined
    at the top level of a cell, found in `function`'s globals): conv_forward calling your conv_single_step,
    which raised, gives "conv_single_step". None when the error came from `function` itself (or from
    numpy called there).
    """
    namespace = getattr(function, "__globals__", None)
    if not isinstance(namespace, dict):
        return None
    names = {value.__code__: key for key, value in list(namespace.items()) if type(value) is types.FunctionType}
    where = None
    for frame, _ in traceback.walk_tb(error.__traceback__):
        where = names.get(frame.f_code, where)
    return None if where is None or namespace.get(where) is function else where


def _raised(function, error):
    """What the outcome says about an exception: its type, its message and, if not function's own, where."""
    found = {"type": type(error).__name__, "message": _short_repr(_str_of(error))}
    try:
        where = _raised_in(function, error)
    except Exception:  # never let the bookkeeping stop the checks
        where = None
    return {**found, "where": where} if where else found


def _str_of(value):
    """str(value), or a note when its __str__ fails (a hostile __str__ must not stop the checks)."""
    try:
        return str(value)
    except Exception as failure:
        return f"<str failed: {type(failure).__name__}>"


def encode_outcome(function, args, kwargs):
    """Call function and encode its return value or the exception it raised, and which inputs it changed."""
    try:
        before = _snapshot(list(args))
    except Exception:  # never let the bookkeeping stop the checks
        before = None
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outcome = {"returned": encode(function(*args, **kwargs))}
    except Exception as error:
        outcome = {"raised": _raised(function, error)}
    outcome["seconds"] = time.perf_counter() - start
    try:
        changed = _changed_paths(before, list(args)) if before is not None else []
    except Exception:
        changed = []
    if changed and "returned" in outcome:
        outcome["changed"] = changed
    return outcome


# ================================================================ GRADING-CRITICAL PART: judge and all it calls
# From here to "END OF THE GRADING-CRITICAL PART", the code decides scores. When a notebook is graded, the
# course runs its own copy of this part on what the functions returned for every case; check() runs the same
# code on the public cases, so the self-check and the grade agree. It uses nothing else of this file but the
# FUNCTIONS table and the tolerances RTOL and ATOL. Change it and every score may change; the rest of the
# file only helps students (making inputs, encoding results, check() and hint()).
#
# A problem is (kind, text): kind names the failure for the course's records, text explains it to you.


def decode_array(encoded):
    """The ndarray inside an encoded 'array', or None."""
    if encoded.get("kind") != "array":
        return None
    raw = base64.b64decode(encoded["data"])
    return np.frombuffer(raw, dtype=np.dtype(encoded["dtype"])).reshape(encoded["shape"]).copy()


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
    """None when got equals expected (within tolerance), else a problem saying how not."""
    if got.shape != expected.shape:
        text = f"{label} has shape {got.shape}, expected {expected.shape}.\n"
        return "wrong_shape", text + f"    expected {_summary(expected)}\n    got      {_summary(got)}"
    if got.dtype.kind not in "biuf":
        return "wrong_dtype", f"{label} has dtype {got.dtype}, expected numbers"
    got_f, exp_f = got.astype(float), expected.astype(float)
    finite = np.isfinite(got_f)
    if not finite.all():
        first = tuple(int(i) for i in np.argwhere(~finite)[0])
        return "nan_or_inf", (
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
    text = (
        f"{label} is wrong at {wrong.size} of {close.size} entries; the first at index {first}: "
        f"expected {exp_f[first]:.8g}, got {got_f[first]:.8g}{dtype_note}.\n"
        f"    expected from there on: {_fmt(exp_f.ravel()[start:])}\n"
        f"    got from there on:      {_fmt(got_f.ravel()[start:])}"
    )
    if not got_f.any() and exp_f.any():
        return "all_zeros", text + f"\n    Every entry of {label} is 0: nothing was written into it."
    return "wrong_values", text


def describe_encoded(encoded):
    kind = encoded.get("kind")
    if kind == "array":
        return f"a numpy array of shape {tuple(encoded['shape'])} and dtype {np.dtype(encoded['dtype'])}"
    if kind == "scalar":
        return f"the number {encoded['value']:.8g} ({encoded['type']})"
    if kind in ("tuple", "list") and "array" in encoded:
        shape = tuple(encoded["array"]["shape"])
        if len(shape) == 1:
            return f"a {kind} of {encoded['length']} numbers"
        return f"a {kind} (nested {kind}s of numbers, shape {shape} as an array)"
    if kind in ("tuple", "list"):
        return f"a {kind} of {len(encoded['items'])} items"
    if encoded.get("type") == "NoneType":
        return "None"
    return f"a {encoded.get('type', kind)}: {encoded.get('repr', '')}"


def _none_hint(encoded):
    return " (is the return statement missing, or inside a loop or an if?)" if encoded.get("type") == "NoneType" else ""


def _values_note(expected, got):
    """' Its values are right' / ' As an array, it would be wrong too: ...' for a value of the wrong type."""
    if expected is None:
        return ""
    expected = np.asarray(expected, dtype=float)
    if got.shape == expected.shape and np.allclose(got, expected, rtol=RTOL, atol=ATOL):
        return " Its values are right: only the type is wrong."
    problem = compare_arrays("as an array, it", expected, got)
    return f" As an array, it would be wrong too: {problem[1]}" if problem else ""


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


_INDICES = (
    "\n    Hint: the mask does not say where the maximum is, it shows it: a boolean array of x's shape, True at "
    "the maximum and False everywhere else. One comparison of the whole window with its largest value makes it."
)
MASK_LINE = "mask = (x == np.max(x))"


class _Found:
    """What judging a case recognised: the known mistakes it named, and the exact lines that fix them.

    The lines are the "show me" step: never in the first message (cnn_checks.hint, feedback's fold).
    """

    def __init__(self):
        self.mistakes, self.lines = [], []

    def line(self, text):
        if text and text not in self.lines:
            self.lines.append(text)


def _as_array(label, encoded, expected=None, found=None):
    """(array, problem text) for a returned value that must be an ndarray (found: where a mask's line goes)."""
    array = decode_array(encoded)
    if array is not None:
        return array, None
    kind, what = encoded["kind"], describe_encoded(encoded)
    listed_shape = tuple(encoded["array"]["shape"]) if "array" in encoded else None
    looks_like_indices = (kind in ("tuple", "list") and listed_shape != np.shape(expected)) or (
        kind == "scalar" and encoded["type"] != "bool"
    )
    if label == "mask" and looks_like_indices:
        if found is not None:
            found.line(MASK_LINE)
        return None, (
            f"the mask came back as {what}, which looks like indices of the maximum "
            "(np.argmax / np.unravel_index / np.where)." + _INDICES
        )
    if kind in ("tuple", "list") and "array" in encoded:
        note = _values_note(expected, decode_array(encoded["array"]))
        return None, (
            f"{label} must be a numpy array; it came back as {what}.{note}\n"
            "    Hint: return the numpy array itself (np.array(...) around a list; no .tolist())."
        )
    if kind in ("tuple", "list"):
        return None, f"{label} must be a numpy array; it came back as {what} (use np.array)"
    if kind == "scalar" and expected is not None:
        return None, (
            f"{label} must be a numpy array of shape {np.shape(expected)}; it came back as {what}.\n"
            "    Hint: build the whole array, e.g. np.full(shape, value) or np.ones(shape) * value."
        )
    return None, f"{label} must be a numpy array; it came back as {what}" + _none_hint(encoded)


def _check_cache(name, inputs, encoded, changed=()):
    """Problem text about the returned cache, or None: it must hold the inputs, unpadded.

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
            return problem[1] + f"\n    The cache is ({order}): store the inputs unchanged, as they came in."
    got_hp = encoded["items"][-1]
    if got_hp.get("kind") != "dict" or set(got_hp["items"]) != set(hp):
        return f"cache's last item must be the hparameters dict {hp}; got {describe_encoded(got_hp)}"
    return None


def _diagnose(mistakes, label, got, found):
    """The known mistake whose output matches got, as a sentence ('' if none); it goes into found."""
    for key, mistake in (mistakes or {}).items():
        candidate = mistake["parts"].get(label)
        if candidate is None:
            continue
        candidate = np.asarray(candidate)
        if candidate.shape == got.shape and np.allclose(
            got.astype(float), candidate.astype(float), rtol=RTOL, atol=ATOL
        ):
            line = mistake.get("line", "")
            found.mistakes.append({"key": key, "what": mistake["what"], "hint": mistake["hint"], "line": line})
            found.line(line)
            return f"\n    Looks like {mistake['what']}. Hint: {mistake['hint']}"
    return ""


def _size_hint(name, case, got_shape, expected_shape):
    """For a wrongly sized Z / A: which size is off, the spec's formula, and the slip it looks like."""
    if name not in ("conv_forward", "pool_forward") or len(got_shape) != 4 or len(expected_shape) != 4:
        return ""
    f, stride, pad = case["f"], case["stride"], case.get("pad", 0)
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
        guess = next((f" ({text})" for size, text in slips if size == got), "")
        lines.append(f"{label} is {got}, expected floor(({inner}) / {stride}) + 1 = {want}{guess}")
    if got_shape[3] != expected_shape[3]:
        what = "the number of filters, W.shape[3]" if name == "conv_forward" else "n_C_prev, one per input channel"
        lines.append(f"the last axis must have {expected_shape[3]} channels ({what})")
    return "".join(f"\n    Size: {line}." for line in lines)


def _mask_values(array):
    if array.dtype == bool:
        return array
    return array.astype(bool) if np.isin(array, (0, 1)).all() else None


def _judge_mask(got, expected, found):
    """(mask as booleans, problem) for a returned mask array."""
    if got.shape == np.shape(expected) and _mask_values(got) is None:
        found.line(MASK_LINE)
        return None, (
            "wrong_values",
            "the mask must hold True/False (or 1/0): expected the result of a comparison, got other values.\n"
            f"    got {_summary(got)}\n"
            "    Hint: the mask is the result of the comparison itself (True or False), not x multiplied by it.",
        )
    if got.shape != np.shape(expected) and got.dtype.kind in "iu":
        found.line(MASK_LINE)
        return None, (
            "wrong_shape",
            f"the mask came back as {_summary(got)}, not of x's shape {np.shape(expected)}: "
            "that looks like indices of the maximum (np.argwhere / np.nonzero)." + _INDICES,
        )
    return (_mask_values(got) if got.shape == np.shape(expected) else got), None


def _judge_array(name, case, label, encoded, expected, mistakes, found):
    got, text = _as_array(label, encoded, expected, found)
    if text:
        return "wrong_type", text
    if label == "mask":
        got, problem = _judge_mask(got, expected, found)
        if problem:
            return problem
    problem = compare_arrays(label, expected, got)
    if problem is None:
        return None
    kind, text = problem
    if got.shape != np.shape(expected):
        text += _size_hint(name, case, got.shape, np.shape(expected))
    return kind, text + _diagnose(mistakes, label, got, found)


def _judge_scalar(name, label, encoded, expected, mistakes, found):
    got, text = _as_scalar(name, encoded, expected)
    if text:
        array = decode_array(encoded)
        if array is not None and not (array.size == 1 and np.isclose(array.item(), expected, rtol=RTOL, atol=ATOL)):
            text += _diagnose(mistakes, label, array, found)
        return "wrong_type", text
    if np.isclose(got, expected, rtol=RTOL, atol=ATOL):
        return None
    text = f"{label} = {got:.10g}, expected {expected:.10g}"
    return "wrong_values", text + _diagnose(mistakes, label, np.asarray(got), found)


def _input_name(name, path):
    names = FUNCTIONS[name]["arguments"]
    label = names[path[0]] if path and path[0] < len(names) else f"argument {path[0] + 1 if path else '?'}"
    items = FUNCTIONS[name].get("cache", ())
    if len(path) > 1 and label == "cache" and path[1] < len(items):
        label = f"cache's {items[path[1]]}"
    return label


def _changed_message(name, changed):
    labels = []
    for path in changed:
        if _input_name(name, path) not in labels:
            labels.append(_input_name(name, path))
    return (
        f"{name} changed its input {' and '.join(labels)} in place (it no longer holds what was passed in).\n"
        "    Hint: leave the arguments as they came in: callers use them again (conv_forward passes the same "
        "window to every filter; the backward passes read the cache). Write results into new arrays "
        "(products = a_slice_prev * W, not a_slice_prev *= W; A = np.zeros(...), not a slice of A_prev)."
    )


def _split_parts(name, encoded):
    """The returned parts of a function's result, or a problem sentence."""
    parts = FUNCTIONS[name]["returns"]
    if len(parts) == 1:
        return {parts[0]: encoded}, None
    if encoded["kind"] not in ("tuple", "list") or "items" not in encoded or len(encoded["items"]) != len(parts):
        what = describe_encoded(encoded) + _none_hint(encoded)
        return None, f"{name} must return a tuple ({', '.join(parts)}); it returned {what}"
    return dict(zip(parts, encoded["items"])), None


def _verdict(kind, message, detail="", found=None):
    """A failing case's verdict: its kind, the message (hints, never the lines), the mistakes and lines found."""
    found = found or _Found()
    return {"kind": kind, "detail": detail, "message": message, "mistakes": found.mistakes, "show_me": found.lines}


def judge(name, case, inputs, expected, outcome, mistakes=None):
    """None when the outcome is right, else a verdict: {"kind", "detail", "message", "mistakes", "show_me"}.

    expected: part name -> expected array (or float);
    mistakes: key -> {"what", "hint", "line", "parts": {part name -> array}}, the known slips to name.
    A verdict's "mistakes" are the slips named, as {"key", "what", "hint", "line"}; "show_me" lists the exact
    lines that fix what the message hints at (shown only on request: hint(name) here, a fold in feedback).
    """
    if "raised" in outcome:
        return _judge_raised(name, outcome["raised"])
    if "skipped" in outcome:
        return _verdict(outcome.get("kind", "other"), outcome["skipped"], outcome.get("detail", ""))
    parts, text = _split_parts(name, outcome["returned"])
    if text:
        return _verdict("wrong_type", text)
    changed = outcome.get("changed") or []
    problems, found = [], _Found()
    for label, encoded in parts.items():
        if label == "cache":
            text = _check_cache(name, inputs, encoded, {path[0] for path in changed if path})
            problem = ("wrong_cache", text) if text else None
        elif name == "conv_single_step":
            problem = _judge_scalar(name, label, encoded, expected[label], mistakes, found)
        else:
            problem = _judge_array(name, case, label, encoded, expected[label], mistakes, found)
        if problem:
            problems.append(problem)
    if changed:
        problems.append(("changed_input", _changed_message(name, changed)))
    if not problems:
        return None
    return _verdict(problems[0][0], "\n    ".join(text for _, text in problems), found=found)


def _helper_of(name, error):
    """The function of the notebook the error was raised in, when it is not `name` itself (else None)."""
    where = error.get("where")
    if isinstance(where, str) and where.isidentifier() and len(where) <= 60 and where != name:
        return where
    return None


def _judge_raised(name, error):
    """The verdict on a call that raised: what, where (the function itself, or a function it calls), and a hint."""
    helper = _helper_of(name, error)
    if error["type"] == "NotImplementedError" and helper is None:
        return _verdict("not_implemented", f"{name} is not implemented yet (it raised NotImplementedError)")
    if error["type"] == "NotImplementedError":
        return _verdict(
            "raised",
            f"{name} calls {helper}, which is not implemented yet (it raised NotImplementedError). Finish {helper} "
            f"first (its own exercise, above), run its cell, then run this check again.",
            "NotImplementedError",
        )
    found = _Found()
    hint, line = _hint_for_error(error, name)
    found.line(line)
    inside = f" inside {helper}, which {name} calls" if helper else ""
    text = f"{name} raised {error['type']}{inside}: {error['message']}" + (f"\n    Hint: {hint}" if hint else "")
    return _verdict("raised", text, error["type"], found)


_SHAPES_MET = {
    "conv": (
        "arrays of different shapes met. If one is a window cut from the input, it came out smaller than f x f "
        "because it ran past the edge of the array: windows are cut from the padded example, start stride apart "
        "and are f wide (figure: the window's corners), and the output size follows the formula of section 3.",
        "a_slice_prev = a_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :] with vert_start = h * stride, "
        "vert_end = vert_start + f",
    ),
    "pool": (
        "arrays of different shapes met. A window of A_prev is f x f, starts stride apart and is f wide (figure: "
        "the window's corners), and the output size follows the formula of section 4. What is added "
        "into a window must be f x f too.",
        "vert_start = h * stride, vert_end = vert_start + f; what is added: the window's mask times dA, or "
        "distribute_value(dA[i, h, w, c], (f, f))",
    ),
}
_WINDOW_END = (
    "the window you add into and what you add into it have different shapes. Both must be f x f: a window runs "
    "from its start to start + f, and a Python slice a[start:end] stops before end (figure: the window's "
    "corners).",
    "vert_end = vert_start + f and horiz_end = horiz_start + f",
)
# (exception type or None for any, texts of which one must be in its message, hint, line): the first match is given.
_ERROR_HINTS = [
    (
        "TypeError",
        ("only 0-dimensional arrays", "only length-1 arrays", "only size-1 arrays"),
        "on NumPy 2, float() of a (1, 1, 1) array (such as b) raises this TypeError; take the bias as a number "
        "first, with b.item() or np.squeeze(b) (the NumPy 2 trap, section 2).",
        "Z = Z + b.item()",
    ),
    (
        None,
        ("setting an array element with a sequence",),
        "an array was stored into a single element, e.g. Z[i, h, w, c] = <a (1, 1, 1) array>. On NumPy 2 this "
        "fails: make the value a number first (the NumPy 2 trap, section 2).",
        "conv_single_step must return b.item() + the sum, a number",
    ),
    (
        None,
        ("could not broadcast input array from shape (0,",),
        "an empty slice was stored into dA_prev. With pad == 0, a[pad:-pad] is a[0:0], which is empty: "
        "the end -pad counts from the end only when pad > 0. Cut the padding off with an end that counts from "
        "the start.",
        "dA_prev[i, :, :, :] = da_prev_pad[pad:pad + n_H_prev, pad:pad + n_W_prev, :]",
    ),
    (None, ("non-broadcastable output operand",), *_WINDOW_END),
]


def _hint_for_error(error, name=None):
    """(hint, line) for an exception the function raised: the idea first, the exact line for later ("", "")."""
    message, kind = error["message"], error["type"]
    for hint_type, texts, hint, line in _ERROR_HINTS:
        if (hint_type is None or kind == hint_type) and any(text in message for text in texts):
            return hint, line
    if "cannot be interpreted as an integer" in message and "float" in message:
        return (
            "a size came out as a float. The output size is a floor: use floor division (//) in its formula.",
            "n_H = (n_H_prev - f + 2 * pad) // stride + 1 (no pad in pooling)",
        )
    if "zero-size array" in message:
        return (
            "a window was empty: it started past the end of the input. Check the output size (a floor, //) and "
            "where window (h, w) starts (figure: the window's corners).",
            "vert_start = h * stride",
        )
    if "could not be broadcast" in message or "shape-mismatch for sum" in message:
        if name in ("conv_forward", "conv_backward", "pool_forward", "pool_backward"):
            return _SHAPES_MET[name[:4]]
        return "two arrays of different shapes met; print their shapes to see which one is off.", ""
    if kind in ("NameError", "UnboundLocalError"):
        return _name_hint(message), ""
    return {
        "IndexError": "an index ran past an array's end; check the output size formula and the loop ranges.",
        "KeyError": "hparameters has the keys 'stride' and 'pad' (convolution) or 'f' and 'stride' (pooling).",
    }.get(kind, ""), ""


_UNDEFINED = re.compile(r"name '(\w+)' is not defined")


def _name_hint(message):
    """A NameError's hint: a function of the notebook, or numpy, not defined yet in this kernel; else a typo."""
    match = _UNDEFINED.search(message)
    missing = match.group(1) if match else None
    if missing in FUNCTIONS:
        return (
            f"{missing} is not defined in this kernel (yet): run the cell that defines it, or use Run > Run All Above. "
            "After a restart of the kernel, every cell has to run again, in order."
        )
    if missing == "np":
        return (
            "numpy is not imported in this kernel (yet): run the notebook's first code cell, or use Run > Run All "
            "Above. After a restart of the kernel, every cell has to run again, in order."
        )
    return (
        "the function uses a name that does not exist when it runs: a typo, or a variable defined outside the "
        "function (in another cell) or only in one branch."
    )


# ================================================================ END OF THE GRADING-CRITICAL PART


# ---------------------------------------------------------------- reports

_NUMBER = re.compile(r"-?\d+\.?\d*(?:e[-+]?\d+)?")
_DATA_LINES = ("expected ", "got ")  # lines that only show this case's values, left out when comparing


def _gist(message):
    """What a message says, without its case's data and numbers, to spot cases that fail alike."""
    lines = [line.strip() for line in message.split("\n")]
    kept = [lines[0]] + [line for line in lines[1:] if not line.startswith(_DATA_LINES)]
    return " ".join(_NUMBER.sub("#", " ".join(kept)).split())


def report(name, cases, messages):
    """The failing cases in plain words (messages[i] is None for a case that passed); alike ones written once."""
    groups = {}
    for index, message in enumerate(messages):
        if message:
            groups.setdefault(_gist(message), []).append(index)
    lines = []
    for indices in groups.values():
        first = indices[0]
        head = f"Case {first + 1} ({describe_case(name, cases[first])})"
        if len(indices) == 1:
            lines.append(f"  {head}:\n    {messages[first]}")
            continue
        numbers = [str(index + 1) for index in indices]
        which = f"All {len(cases)} cases" if len(indices) == len(cases) else f"Cases {', '.join(numbers[:-1])}"
        which += "" if len(indices) == len(cases) else f" and {numbers[-1]}"
        lines.append(f"  {which} fail alike; the first of them, {head}:\n    {messages[first]}")
        if len(indices) < len(cases):
            others = "; ".join(f"case {i + 1} ({describe_case(name, cases[i])})" for i in indices[1:])
            lines.append(f"    The others: {others}")
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

    Publishes one result record per case; the course's grading step judges them.
    """
    cases = PUBLIC_CASES[name] + list(hidden_cases)
    deadline = time.perf_counter() + TIME_BUDGET_SECONDS
    for index, case in enumerate(cases):
        if time.perf_counter() > deadline:
            outcome = {"skipped": f"not run: {name} used up its {TIME_BUDGET_SECONDS:.0f} s time budget"}
        else:
            args, kwargs = make_inputs(name, case)
            with helpers_in_place(function, helpers):
                outcome = encode_outcome(function, args, kwargs)
        publish({"function": name, "case": index, "outcome": outcome})


def publish(record):
    """Show one result record in the cell's output, where the grading step collects it."""
    from IPython.display import display

    display({RESULT_MIME: record}, raw=True)


def _data_path():
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), PUBLIC_DATA)


class CheckFailed(AssertionError):
    """A failing self-check. The notebook shows its message alone: which case, expected, got, the likely slip.

    IPython calls _render_traceback_ instead of printing a traceback through this file's internals.
    """

    def _render_traceback_(self):
        return f"{type(self).__name__}: {self}".split("\n")


class SupportFileMissing(CheckFailed):
    """public_cases.npz is missing or unreadable: the checks cannot compare, and say which file to put back."""


@contextlib.contextmanager
def _public_data():
    """The shipped data file, open; SupportFileMissing (a message, no traceback) when it cannot be read."""
    path = _data_path()
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise SupportFileMissing(
            f"{PUBLIC_DATA} not found in {os.path.dirname(path)}: the self-checks compare your answers with the "
            f"expected ones stored there. Put it back beside this notebook and cnn_checks.py (from the assignment "
            f"you downloaded), then run this cell again."
        ) from None
    except Exception as error:  # a damaged file: numpy raises several kinds of errors for it
        raise SupportFileMissing(
            f"{PUBLIC_DATA} in {os.path.dirname(path)} cannot be read ({type(error).__name__}): download it again "
            f"from the assignment and put it beside this notebook, then run this cell again."
        ) from None
    with data:
        yield data


def _public_expected(name, index):
    """Expected parts and known mistakes of a public case, from the shipped data file.

    The file holds '<name>/<case>/expected/<part>', '<name>/<case>/mistake/<key>/<part>' and
    'mistake/<key>/what', '.../hint' and '.../line' (the mistake in words).
    """
    expected, mistakes = {}, {}
    with _public_data() as data:
        prefix = f"{name}/{index}/"
        for key in (key for key in data.files if key.startswith(prefix)):
            rest, value = key[len(prefix) :].split("/"), data[key]
            if rest[0] == "expected":
                expected[rest[1]] = float(value) if value.ndim == 0 else value
                continue
            mistake = mistakes.setdefault(rest[1], {"parts": {}})
            mistake["parts"][rest[2]] = value
            for word in ("what", "hint", "line"):
                mistake[word] = str(data[f"mistake/{rest[1]}/{word}"])
    return expected, mistakes


def _course_facts(name):
    """(hidden case count, Part B policy or None when name is a core function), from the shipped data file.

    Both are written into public_cases.npz when the assignment is released, from the notebook's
    check cells and the course's Part B setting.
    """
    with _public_data() as data:
        hidden = int(data[f"hidden_count/{name}"])
        part_b = [str(item) for item in data["part_b/functions"]]
        policy = str(data["part_b/policy"]) if name in part_b else None
    return hidden, policy


# Part B policy -> what a skipped Part B function means, in words (None: skipping it fails).
SKIPPED_PART_B = {
    "required": None,
    "extra_credit": "Part B is extra credit in this course, so leaving it out costs you nothing",
    "not_graded": "Part B is not graded in this course, so leaving it out costs you nothing",
}
# The helpers each function calls: its self-check can only be trusted once theirs pass.
HELPERS = {
    "conv_forward": ("zero_pad", "conv_single_step"),
    "conv_backward": ("zero_pad",),
    "pool_backward": ("create_mask_from_window", "distribute_value"),
}
# What this kernel's checks found, for the "show me" step: function -> the lines of its last failing check
# (None once it passed), and the lines already shown or hinted at (a slip seen twice gets its line).
_LAST_LINES, _LINES_SEEN = {}, {}


def _public_verdicts(name, function):
    """(outcomes, verdicts) of function on the public cases; verdicts[i] is None for a case that passed."""
    outcomes, verdicts = [], []
    for index, case in enumerate(PUBLIC_CASES[name]):
        inputs = make_inputs(name, case)
        outcome = encode_outcome(function, *make_inputs(name, case))  # fresh copies: the call may mutate them
        expected, mistakes = _public_expected(name, index)
        outcomes.append(outcome)
        verdicts.append(judge(name, case, inputs, expected, outcome, mistakes))
    return outcomes, verdicts


def _broken_helpers(name, function):
    """[(helper, not implemented)] for the helpers of `name` (as the function sees them) that fail their checks."""
    namespace = getattr(function, "__globals__", {})
    broken = []
    for helper in HELPERS.get(name, ()):
        if not callable(namespace.get(helper)):
            continue
        outcomes, verdicts = _public_verdicts(helper, namespace[helper])
        if any(verdicts):
            broken.append((helper, _not_attempted(helper, outcomes)))
    return broken


def _not_attempted(name, outcomes):
    """True when every case raised NotImplementedError in `name` itself (the stub), not in a function it calls."""
    return all(
        outcome.get("raised", {}).get("type") == "NotImplementedError" and not _helper_of(name, outcome["raised"])
        for outcome in outcomes
    )


def _first_fix(name, broken):
    """The message when helpers of `name` fail their own checks: they come first."""
    names = " and ".join(helper for helper, _ in broken)
    if all(stub for _, stub in broken):
        one = len(broken) == 1
        return (
            f"{name} calls your {names}, which {'is' if one else 'are'} not implemented yet (it raised "
            f"NotImplementedError). Finish {names} first ({'its' if one else 'their'} own exercise, above), run "
            f"{'its' if one else 'their'} cell{'' if one else 's'}, then run this check again."
        )
    one = len(broken) == 1
    return (
        f"first fix {names}: {name} calls your {names}, which fail{'s' if one else ''} "
        f"{'its' if one else 'their'} own check. Run {'its' if one else 'their'} check cell{'' if one else 's'}, "
        f"fix what it says, then run this cell again.\n"
        f"  (Until then these failures may not be {name}'s. At grading, {name} is tested with correct "
        f"helpers, so a bug in {names} costs points only there.)"
    )


def _show_me_note(name, verdicts):
    """The last lines of a failure report: how to see the exact lines, or the lines of a slip seen before."""
    lines = [line for verdict in verdicts if verdict for line in verdict.get("show_me", [])]
    lines = list(dict.fromkeys(lines))
    _LAST_LINES[name] = lines
    seen = _LINES_SEEN.setdefault(name, set())
    again = [line for line in lines if line in seen]
    seen.update(lines)
    if again:
        shown = "".join(f"\n      {line}" for line in again)
        return f"\n  The same slip as last time, so here is the line to look at:{shown}"
    if lines:
        return f'\n  If the hint does not help, run hint("{name}") in a new cell: it shows the line to look at.'
    return ""


def _fails(name, cases, verdicts, broken):
    failed = sum(1 for verdict in verdicts if verdict)
    head = f"{name}: {failed} of {len(cases)} public checks failed"
    if broken:
        return f"{head}, but {_first_fix(name, broken)}"
    messages = [verdict and verdict["message"] for verdict in verdicts]
    return f"{head}\n{report(name, cases, messages)}{_show_me_note(name, verdicts)}"


def check(name, function):
    """Run the public cases of `name`; print what was found, and raise CheckFailed if a case fails.

    Only the public cases run here; the hidden ones run at grading time.
    """
    cases = PUBLIC_CASES[name]
    hidden, policy = _course_facts(name)
    outcomes, verdicts = _public_verdicts(name, function)
    not_attempted = _not_attempted(name, outcomes)
    if policy and SKIPPED_PART_B[policy] and not_attempted:
        print(f"{name}: not attempted (optional). {SKIPPED_PART_B[policy]}.")
        return
    if any(verdicts):
        broken = [] if not_attempted else _broken_helpers(name, function)  # a stub is the news
        raise CheckFailed(_fails(name, cases, verdicts, broken)) from None
    _LAST_LINES[name] = None
    print(
        f"{name}: all {len(cases)} public checks passed. These are the public cases only: "
        f"{hidden} more hidden cases run when your notebook is graded, so this is not yet your score."
    )


def hint(name):
    """Show the exact lines behind the hints of the last failing check of `name` (the "show me" step)."""
    if name not in FUNCTIONS:
        print(f"hint() takes the name of one of the functions: {', '.join(FUNCTIONS)}.")
        return
    if name not in _LAST_LINES:
        print(f'Run the check cell of {name} first: hint("{name}") then shows the line behind its hint.')
        return
    lines = _LAST_LINES[name]
    if lines is None:
        print(f"The last check of {name} passed: there is nothing to show.")
    elif not lines:
        print(
            f"The last check of {name} recognised no slip it has a line for: its message says what was expected "
            "and what came back."
        )
    else:
        _LINES_SEEN.setdefault(name, set()).update(lines)
        print(
            f"{name}: the line{'s' if len(lines) > 1 else ''} to look at:" + "".join(f"\n    {line}" for line in lines)
        )
