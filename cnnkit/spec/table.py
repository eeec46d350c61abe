"""The specification table: one row per assignment function, read by everything else.

A row joins what the student's kernel needs (from the instructor's ``cnn_checks.py``:
arguments, returned parts, cache items, public cases, input generation, case
description) with what only the grader has (the part it belongs to, the reference
implementation, the model of known mistakes and their words). Points are not here:
they come from the notebook's nbgrader metadata (``cnnkit.spec.notebook.points``).
"""

from dataclasses import dataclass

import numpy as np

from cnnkit import course
from cnnkit.spec import mistakes as models
from cnnkit.spec import reference

CHECKS = course.load_checks()  # the instructor's copy, never a student's


@dataclass(frozen=True)
class Mistake:
    key: str
    what: str  # what it looks like happened, completing "Looks like ..."
    hint: str  # how to fix it


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    part: str  # "core" or "optional"
    arguments: tuple  # argument names, in order
    returns: tuple  # names of the returned parts, in order ("cache" is checked against the inputs)
    cache_items: tuple  # names of the items of the cache argument (backward passes), else ()
    public_cases: list  # the cases check() runs in the notebook; hidden ones are in the check cells
    reference: object  # the trusted implementation (cnnkit.spec.reference)
    model: object  # (*args, **kwargs) -> {mistake key: {part: array}} (cnnkit.spec.mistakes)
    mistakes: dict  # key -> Mistake, every key the model can name
    case_keys: frozenset  # keys every case must have
    optional_case_keys: frozenset  # keys a case may have besides (seeds, value shapers)

    def make_inputs(self, case):
        """(args, kwargs) of the call on `case`: fresh arrays, as the kernel builds them."""
        return CHECKS.make_inputs(self.name, case)

    def describe(self, case):
        return CHECKS.describe_case(self.name, case)

    def expected_parts(self, args, kwargs):
        """What the reference returns, as part name -> value (the cache is judged apart)."""
        value = self.reference(*args, **kwargs)
        values = value if len(self.returns) > 1 else (value,)
        return {part: item for part, item in zip(self.returns, values) if part != "cache"}

    def known_mistakes(self, args, kwargs):
        """The mistakes whose output differs from the right answer on these inputs, as judge() takes them.

        key -> {"what", "hint", "parts": {part: array}}
        """
        right = self.expected_parts(args, kwargs)
        found = {}
        for key, parts in self.model(*args, **kwargs).items():
            if any(_differs(np.asarray(right[part]), np.asarray(value)) for part, value in parts.items()):
                arrays = {part: np.asarray(value) for part, value in parts.items()}
                found[key] = {"what": self.mistakes[key].what, "hint": self.mistakes[key].hint, "parts": arrays}
        return found


def _differs(a, b):
    return a.shape != b.shape or not np.allclose(a, b)


MISTAKE_WORDS = {
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
    "not_divided": ("dz was copied instead of shared", "Each of the rows * cols cells gets dz / (rows * cols)."),
    "divided_by_one_side": ("dz was divided by one side only", "Divide by rows * cols, the number of cells."),
    "divided_by_sum": ("dz was divided by rows + cols", "Divide by rows * cols, the number of cells."),
    "floor_division": (
        "floor division (//) was used",
        "Use true division: dz / (rows * cols); // rounds down to a whole number.",
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
    # values: signs, types
    "max_from_zero": (
        "the maximum started at 0, so a window whose values are all negative gave 0",
        "Take the window's own maximum, np.max(a_prev_slice); a running maximum starts at -np.inf, not 0.",
    ),
    "kept_dz_type": (
        "the result took the type of dz, so a whole-number dz lost the fraction of its share",
        "Build a float array: np.ones(shape) * average or np.full(shape, dz / (rows * cols)).",
    ),
    "activation_applied": (
        "negative results were replaced by 0 (an activation such as ReLU was applied)",
        "This step is linear: return the sum plus the bias as it is; the activation is a separate layer.",
    ),
}

# function -> (part, the keys of MISTAKE_WORDS its model names)
_ROWS = {
    "zero_pad": ("core", ("pad_not_applied", "pad_all_axes", "pad_wrong_axes", "pad_one_side", "pad_doubled")),
    "conv_single_step": (
        "core",
        ("bias_missing", "bias_per_element", "product_not_summed", "mean_instead_of_sum"),
    ),
    "conv_forward": (
        "core",
        (
            "stride_ignored",
            "window_not_strided",
            "padding_ignored",
            "bias_missing",
            "filter_not_selected",
            "bias_not_selected",
            "output_one_short",
            "activation_applied",
        ),
    ),
    "pool_forward": (
        "core",
        (
            "mode_swapped_max",
            "mode_swapped_average",
            "window_not_strided",
            "stride_ignored",
            "stride_as_f",
            "pooled_across_channels",
            "output_one_short",
            "window_one_short",
            "max_from_zero",
        ),
    ),
    "conv_backward": (
        "optional",
        (
            "assign_not_accumulate",
            "window_not_strided",
            "dA_padded",
            "dW_from_unpadded",
            "filter_flipped",
            "divided_by_m",
            "unpad_outside_loop",
        ),
    ),
    "create_mask_from_window": ("optional", ("min_instead_of_max", "max_per_column", "max_per_row")),
    "distribute_value": (
        "optional",
        ("not_divided", "divided_by_one_side", "divided_by_sum", "floor_division", "kept_dz_type"),
    ),
    "pool_backward": (
        "optional",
        (
            "mode_swapped_max",
            "mode_swapped_average",
            "assign_not_accumulate",
            "window_not_strided",
            "mask_ignored",
            "mask_wrong_channel",
            "average_not_shared",
        ),
    ),
}


SEED_KEYS = frozenset({"seed", "legacy_seed"})
VALUE_KEYS = frozenset({"scale", "offset"})  # signs and magnitudes of the drawn values
_CONV = frozenset({"m", "n_H", "n_W", "n_C_prev", "n_C", "f", "pad", "stride"})
_POOL = frozenset({"shape", "f", "stride", "mode"})
# function -> (keys every case must have, further keys a case may have)
_CASE_KEYS = {
    "zero_pad": ({"shape", "pad"}, SEED_KEYS | VALUE_KEYS),
    "conv_single_step": ({"f", "n_C_prev"}, SEED_KEYS | VALUE_KEYS | {"bias_scale"}),
    "conv_forward": (_CONV, SEED_KEYS | VALUE_KEYS | {"bias_scale"}),
    "pool_forward": (_POOL, SEED_KEYS | VALUE_KEYS),
    "conv_backward": (_CONV, SEED_KEYS | VALUE_KEYS | {"bias_scale"}),
    "create_mask_from_window": ({"shape"}, SEED_KEYS | VALUE_KEYS),
    "distribute_value": ({"shape"}, SEED_KEYS | {"dz", "whole_dz"}),
    "pool_backward": (_POOL, SEED_KEYS | VALUE_KEYS),
}


def _spec(name, part, keys):
    kernel = CHECKS.FUNCTIONS[name]
    return FunctionSpec(
        name=name,
        part=part,
        arguments=tuple(kernel["arguments"]),
        returns=tuple(kernel["returns"]),
        cache_items=tuple(kernel.get("cache", ())),
        public_cases=list(kernel["public"]),
        reference=getattr(reference, name),
        model=models.MODELS[name],
        mistakes={key: Mistake(key, *MISTAKE_WORDS[key]) for key in keys},
        case_keys=frozenset(_CASE_KEYS[name][0]),
        optional_case_keys=frozenset(_CASE_KEYS[name][1]),
    )


SPEC = {name: _spec(name, part, keys) for name, (part, keys) in _ROWS.items()}
FUNCTIONS = tuple(SPEC)


def score(points, passed, total):
    """Partial credit: points times the fraction of cases passed, rounded down to 0.01."""
    return int(points * passed * 100 // total) / 100 if total else 0.0
