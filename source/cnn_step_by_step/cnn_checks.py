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

# Named mistakes: what the grader says when your output matches a known slip.
MISTAKES = {
    "pad_not_applied": (
        "the padding was not added",
        "Return the padded copy, e.g. from np.pad with pad_width ((0, 0), (pad, pad), (pad, pad), (0, 0)).",
    ),
    "pad_all_axes": (
        "the examples and channels axes were padded too",
        "Pad only axes 1 and 2 (height and width); use (0, 0) for axes 0 and 3.",
    ),
    "pad_one_side": (
        "only one side of height and width was padded",
        "Each padded axis needs (pad, pad): pad rows/columns before and after.",
    ),
    "pad_doubled": (
        "2 * pad was added on each side",
        "pad is the number of zeros on *each* side, so use (pad, pad), not (2 * pad, 2 * pad).",
    ),
    "bias_missing": ("the bias b was not added", "Add the bias once to every output value."),
    "bias_per_element": (
        "the bias was added to every element before summing",
        "Sum a_slice_prev * W first, then add b once.",
    ),
    "product_not_summed": (
        "the element-wise product was returned without summing it",
        "np.sum(...) turns the window product into a single number.",
    ),
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
        "Pad A_prev with zero_pad first and take every slice from the padded array.",
    ),
    "window_from_unpadded": (
        "the windows were taken from the unpadded A_prev",
        "Slice a_prev_pad (the padded example), not A_prev.",
    ),
    "filter_not_selected": (
        "every output channel used the same filter",
        "For output channel c use W[:, :, :, c] and b[:, :, :, c].",
    ),
    "mode_swapped": (
        "max and average pooling are swapped",
        "mode == 'max' takes np.max of the window, mode == 'average' takes np.mean.",
    ),
    "average_always": ("average pooling was used whatever the mode", "Branch on mode: 'max' must take the maximum."),
    "max_always": ("max pooling was used whatever the mode", "Branch on mode: 'average' must take the mean."),
    "pooled_across_channels": (
        "the window was pooled across all channels at once",
        "Pool each channel separately: a_prev_slice[vert_start:vert_end, horiz_start:horiz_end, c].",
    ),
    "stride_as_f": (
        "the window stepped by f instead of stride",
        "Use hparameters['stride'] for the step; f is only the window size.",
    ),
    "assign_not_accumulate": (
        "a gradient was assigned with = where it must be accumulated with +=",
        "Overlapping windows each add their share: use +=.",
    ),
    "dA_padded": (
        "dA_prev still has the padding",
        "Cut the padding off at the end: da_prev_pad[pad:-pad, pad:-pad, :] (careful when pad == 0).",
    ),
    "db_not_summed": (
        "db was not summed over all examples and positions",
        "db[:, :, :, c] += dZ[i, h, w, c] inside all the loops.",
    ),
    "dW_from_unpadded": ("dW used windows of the unpadded A_prev", "Take a_slice from a_prev_pad, the padded example."),
    "min_instead_of_max": ("the mask marks the minimum", "Compare with np.max(x)."),
    "not_divided": ("dz was copied instead of shared", "Each of the n_H * n_W cells gets dz / (n_H * n_W)."),
    "divided_by_one_side": ("dz was divided by one side only", "Divide by n_H * n_W, the number of cells."),
    "mask_ignored": (
        "the whole window got the gradient in max mode",
        "Multiply dA[i, h, w, c] by the mask of the window: only the max receives it.",
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


def encode(value):
    """A JSON-able description of a returned value (arrays as raw bytes)."""
    if type(value) is np.ndarray:
        if value.dtype.kind not in "biuf":
            return {"kind": "other", "type": f"ndarray of dtype {value.dtype}", "repr": _short_repr(value)}
        data = np.ascontiguousarray(value)
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
    if type(value) in (bool, int, float) or type(value) in (
        np.float64,
        np.float32,
        np.float16,
        np.int64,
        np.int32,
        np.bool_,
    ):
        return {"kind": "scalar", "type": type(value).__name__, "value": float(value)}
    if type(value) in (tuple, list):
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


def encode_outcome(function, args, kwargs):
    """Call function and encode its return value, or the exception it raised."""
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = function(*args, **kwargs)
        outcome = {"returned": encode(value)}
    except Exception as error:
        outcome = {"raised": {"type": type(error).__name__, "message": _short_repr(str(error))}}
    outcome["seconds"] = time.perf_counter() - start
    return outcome


# ---------------------------------------------------------------- judging


def _fmt(values):
    return np.array2string(np.asarray(values, dtype=float).ravel()[:4], precision=6, separator=", ")


def compare_arrays(label, expected, got):
    """None when got equals expected (within tolerance), else a sentence saying how not."""
    if got.shape != expected.shape:
        return f"{label} has shape {got.shape}, expected {expected.shape}"
    if got.dtype.kind not in "biuf":
        return f"{label} has dtype {got.dtype}, expected numbers"
    got_f = got.astype(float)
    exp_f = expected.astype(float)
    if not np.all(np.isfinite(got_f)):
        return f"{label} contains nan or inf"
    close = np.isclose(got_f, exp_f, rtol=RTOL, atol=ATOL)
    if close.all():
        return None
    first = tuple(int(i) for i in np.argwhere(~close)[0])
    return (
        f"{label} differs at {int((~close).sum())} of {close.size} entries; first at index {first}: "
        f"expected {exp_f[first]:.8g}, got {got_f[first]:.8g} "
        f"(first values: expected {_fmt(exp_f)}, got {_fmt(got_f)})"
    )


def describe_encoded(encoded):
    kind = encoded.get("kind")
    if kind == "array":
        return f"a numpy array of shape {tuple(encoded['shape'])} and dtype {np.dtype(encoded['dtype'])}"
    if kind == "scalar":
        return f"a {encoded['type']} ({encoded['value']:.8g})"
    if kind in ("tuple", "list"):
        return f"a {kind} of {len(encoded['items'])} items"
    return f"a {encoded.get('type', kind)}: {encoded.get('repr', '')}"


def _as_scalar(name, encoded):
    """(value, problem) for a returned value that must be a real scalar."""
    if encoded["kind"] == "scalar":
        return encoded["value"], None
    array = decode_array(encoded)
    if array is not None and array.ndim == 0:
        return float(array), None
    if array is not None and array.size == 1:
        return None, (
            f"{name} returned an array of shape {array.shape}, not a number. On NumPy 2, "
            "float(b) of a (1, 1, 1) array raises TypeError and storing it into Z[i, h, w, c] "
            "raises ValueError: add the bias as a number, e.g. b.item() or np.squeeze(b), "
            "so that the result is a scalar."
        )
    return None, f"{name} must return a real number; it returned {describe_encoded(encoded)}"


def _as_array(label, encoded, boolean_ok=False):
    """(array, problem) for a returned value that must be an ndarray."""
    array = decode_array(encoded)
    if array is not None:
        return array, None
    if encoded["kind"] in ("tuple", "list") and label == "mask":
        return None, (
            "the mask must be a boolean array of x's shape (x == np.max(x)); "
            f"it came back as {describe_encoded(encoded)}, which looks like indices"
        )
    if encoded["kind"] in ("tuple", "list"):
        return None, f"{label} must be a numpy array; it came back as {describe_encoded(encoded)} (use np.array)"
    return None, f"{label} must be a numpy array; it came back as {describe_encoded(encoded)}"


def _split_parts(name, encoded):
    """The returned parts of a function's result, or a problem sentence."""
    parts = PARTS[name]
    if len(parts) == 1:
        return {parts[0]: encoded}, None
    if encoded["kind"] not in ("tuple", "list") or len(encoded["items"]) != len(parts):
        return None, f"{name} must return a tuple ({', '.join(parts)}); it returned {describe_encoded(encoded)}"
    return dict(zip(parts, encoded["items"])), None


def _check_cache(name, case, inputs, encoded):
    """Problem with the returned cache, or None. The cache must hold the inputs, unpadded."""
    args, _ = inputs
    expected = list(args[:-1]) if name == "conv_forward" else [args[0]]
    labels = ["A_prev", "W", "b"][: len(expected)]
    hp = args[-1]
    if encoded["kind"] not in ("tuple", "list") or len(encoded["items"]) != len(expected) + 1:
        return f"cache must be the tuple ({', '.join(labels)}, hparameters); got {describe_encoded(encoded)}"
    for label, want, item in zip(labels, expected, encoded["items"]):
        got, problem = _as_array(f"cache's {label}", item)
        if problem:
            return problem
        if label == "A_prev" and got.shape != want.shape and name == "conv_forward":
            return (
                f"cache's A_prev has shape {got.shape}, expected {want.shape}: "
                "store the original, unpadded A_prev in the cache"
            )
        problem = compare_arrays(f"cache's {label}", want, got)
        if problem:
            return problem + " (keep the inputs unchanged and store them as they came in)"
    got_hp = encoded["items"][-1]
    if got_hp.get("kind") != "dict" or set(got_hp["items"]) != set(hp):
        return f"cache's last item must be the hparameters dict {hp}; got {describe_encoded(got_hp)}"
    return None


def _diagnose(mistakes, label, got):
    """The named mistake whose output matches got, as a sentence, or ''."""
    for key, outputs in (mistakes or {}).items():
        candidate = outputs.get(label)
        if (
            candidate is not None
            and candidate.shape == got.shape
            and np.allclose(got.astype(float), candidate.astype(float), rtol=RTOL, atol=ATOL)
        ):
            what, hint = MISTAKES[key]
            return f"\n    Looks like {what}. Hint: {hint}"
    return ""


def judge(name, case, inputs, expected, outcome, mistakes=None):
    """None when the outcome is right, else a message for the student.

    expected: part name -> trusted array (or float); mistakes: key -> {part: array}.
    """
    if "raised" in outcome:
        error = outcome["raised"]
        if error["type"] == "NotImplementedError":
            return f"{name} is not implemented yet (it raised NotImplementedError)"
        hint = _hint_for_error(error)
        return f"{name} raised {error['type']}: {error['message']}{hint}"
    if "skipped" in outcome:
        return outcome["skipped"]
    parts, problem = _split_parts(name, outcome["returned"])
    if problem:
        return problem
    for label, encoded in parts.items():
        if label == "cache":
            problem = _check_cache(name, case, inputs, encoded)
            if problem:
                return problem
            continue
        if name == "conv_single_step":
            got, problem = _as_scalar(name, encoded)
            if problem:
                return problem
            if not np.isclose(got, expected[label], rtol=RTOL, atol=ATOL):
                return f"Z = {got:.10g}, expected {expected[label]:.10g}" + _diagnose(mistakes, label, np.asarray(got))
            continue
        got, problem = _as_array(label, encoded)
        if problem:
            return problem
        if label == "mask":
            got = _mask_values(got)
            if got is None:
                return "the mask must hold True/False (or 1/0) values"
        problem = compare_arrays(label, expected[label], got)
        if problem:
            return problem + _diagnose(mistakes, label, got)
    return None


def _mask_values(array):
    if array.dtype == bool:
        return array
    if np.isin(array, (0, 1)).all():
        return array.astype(bool)
    return None


def _hint_for_error(error):
    message = error["message"]
    if error["type"] == "TypeError" and any(
        text in message for text in ("only 0-dimensional arrays", "only length-1 arrays", "only size-1 arrays")
    ):
        return (
            "\n    Hint: on NumPy 2, float() of a (1, 1, 1) array fails; "
            "use b.item() or np.squeeze(b) to get the bias as a number."
        )
    if "could not be broadcast" in message:
        return (
            "\n    Hint: two arrays of different shapes met; print the shapes of your window slice "
            "and the filter (both should be (f, f, n_C_prev)), and check vert_end = vert_start + f."
        )
    if error["type"] == "IndexError":
        return "\n    Hint: an index ran past an array's end; check the output size formula and the loop ranges."
    if error["type"] == "KeyError":
        return "\n    Hint: hparameters has the keys 'stride' and 'pad' (convolution) or 'f' and 'stride' (pooling)."
    return ""


def score(points, verdicts):
    """Partial credit: points times the fraction of cases passed, rounded down to 0.01."""
    passed = sum(1 for verdict in verdicts if verdict is None)
    return int(points * passed * 100 // len(verdicts)) / 100 if verdicts else 0.0


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
    problems = []
    for index, case in enumerate(cases):
        inputs = make_inputs(name, case)
        outcome = encode_outcome(function, *make_inputs(name, case))  # fresh copies: the call may mutate them
        expected, mistakes = _public_expected(name, index)
        verdict = judge(name, case, inputs, expected, outcome, mistakes)
        if verdict:
            problems.append(f"  Case {index + 1} ({describe_case(name, case)}):\n    {verdict}")
    if problems:
        report = "\n".join(problems)
        raise AssertionError(f"{name}: {len(problems)} of {len(cases)} public checks failed\n{report}")
    print(f"{name}: all {len(cases)} public checks passed. Hidden cases are checked at grading time.")
