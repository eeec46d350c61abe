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
    hint: str  # how to fix it: the idea, or the figure to look at
    line: str = ""  # the exact code, shown only on request ("show me"); "" when the hint says it all


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

        key -> {"what", "hint", "line", "parts": {part: array}}. A mistake whose model says it would crash on
        these inputs (None) is left out: a crash is named by its error (cnn_checks._ERROR_HINTS).
        """
        right = self.expected_parts(args, kwargs)
        found = {}
        for key, parts in self.model(*args, **kwargs).items():
            if parts is None:
                continue
            if any(_differs(np.asarray(right[part]), np.asarray(value)) for part, value in parts.items()):
                arrays = {part: np.asarray(value) for part, value in parts.items()}
                words = self.mistakes[key]
                found[key] = {"what": words.what, "hint": words.hint, "line": words.line, "parts": arrays}
        return found


def _differs(a, b):
    return a.shape != b.shape or not np.allclose(a, b)


# key -> (what it looks like happened, the hint: the idea or the figure to look at, the line: the exact code).
# The hint comes first; the line is the "show me" step (cnn_checks: hint(name), or the same slip again), and
# may be "" where the hint already says all there is.
MISTAKE_WORDS = {
    # zero_pad
    "pad_not_applied": (
        "the padding was not added",
        "zero_pad returns a new, bigger array: X with a frame of pad zeros around every image (figure: padding an image).",
        'X_pad = np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="constant", constant_values=0)',
    ),
    "pad_all_axes": (
        "the examples and channels axes were padded too",
        "Only height and width get zeros: np.pad pads every axis it is given a (before, after) pair for, and "
        "(0, 0) leaves an axis alone.",
        "pad_width = ((0, 0), (pad, pad), (pad, pad), (0, 0))",
    ),
    "pad_wrong_axes": (
        "the wrong axes were padded (the examples axis instead of the width)",
        "X is (m, n_H, n_W, n_C): np.pad takes one (before, after) pair per axis, in that order, and only n_H "
        "and n_W are padded.",
        "pad_width = ((0, 0), (pad, pad), (pad, pad), (0, 0))",
    ),
    "pad_batch_axis": (
        "the examples axis (m) was padded too",
        "Padding the first axis invents whole images of zeros: the batch keeps its m examples, and only height "
        "and width get a frame.",
        "pad_width = ((0, 0), (pad, pad), (pad, pad), (0, 0))",
    ),
    "pad_channel_axis": (
        "the channel axis (n_C) was padded too",
        "Padding the last axis invents channels of zeros: every image keeps its n_C channels, and only height "
        "and width get a frame.",
        "pad_width = ((0, 0), (pad, pad), (pad, pad), (0, 0))",
    ),
    "pad_one_side": (
        "zeros were added after the image only (below and to the right)",
        "The frame goes all around: pad zeros before *and* after, on height and on width.",
        "(pad, pad) for axes 1 and 2: ((0, 0), (pad, pad), (pad, pad), (0, 0))",
    ),
    "pad_before_only": (
        "zeros were added before the image only (above and to the left)",
        "The frame goes all around: pad zeros before *and* after, on height and on width.",
        "(pad, pad) for axes 1 and 2: ((0, 0), (pad, pad), (pad, pad), (0, 0))",
    ),
    "pad_height_only": (
        "only the height was padded, not the width",
        "Both spatial axes get the frame: height (axis 1) and width (axis 2).",
        "pad_width = ((0, 0), (pad, pad), (pad, pad), (0, 0))",
    ),
    "pad_width_only": (
        "only the width was padded, not the height",
        "Both spatial axes get the frame: height (axis 1) and width (axis 2).",
        "pad_width = ((0, 0), (pad, pad), (pad, pad), (0, 0))",
    ),
    "pad_doubled": (
        "2 * pad was added on each side",
        "pad is the number of zeros on *each* side, so each side gets pad, and the size grows by 2 * pad in all.",
        "(pad, pad), not (2 * pad, 2 * pad)",
    ),
    # conv_single_step (and conv_forward)
    "bias_missing": ("the bias b was not added", "Add the bias once to every output value.", ""),
    "bias_per_element": (
        "the bias was added to every element before summing",
        "The bias is added once, to the sum, not to each of the products (figure: one step, in numbers).",
        "Z = np.sum(a_slice_prev * W) + b.item()",
    ),
    "product_not_summed": (
        "the element-wise product was returned without summing it",
        "One step gives one number: all the products of the window and the filter, added up (figure: one "
        "step, in numbers).",
        "Z = np.sum(a_slice_prev * W) + b.item()",
    ),
    "mean_instead_of_sum": (
        "the products were averaged (np.mean) instead of summed",
        "Z is the sum of the products, plus b (the formula of section 2), not their mean.",
        "Z = np.sum(a_slice_prev * W) + b.item()",
    ),
    # conv_forward and pool_forward
    "stride_ignored": (
        "the stride was ignored",
        "Windows start stride rows (and columns) apart, and the output size divides by stride: see the figures "
        "where the filter stops, and the window's corners.",
        "vert_start = h * stride, horiz_start = w * stride; n_H = (n_H_prev - f + 2 * pad) // stride + 1 "
        "(no pad in pooling)",
    ),
    "window_not_strided": (
        "the windows move by 1 instead of by stride",
        "Your output size is right, but window h + 1 starts only 1 row below window h: it starts stride rows "
        "below it (figure: the window's corners).",
        "vert_start = h * stride and horiz_start = w * stride",
    ),
    "padding_ignored": (
        "the input was not padded before the windows were taken",
        "Pad A_prev with zero_pad first, count 2 * pad in the output size, and take every slice from the padded array.",
        "A_prev_pad = zero_pad(A_prev, pad), then a_prev_pad = A_prev_pad[i]",
    ),
    "filter_not_selected": (
        "every output channel used the same filter",
        "Filter c makes output channel c (figure: the layer as volumes): each channel needs its own filter "
        "and its own bias.",
        "conv_single_step(a_slice_prev, W[:, :, :, c], b[:, :, :, c])",
    ),
    "bias_not_selected": (
        "every output channel got the first filter's bias",
        "Filter c makes output channel c, with its own bias (figure: the layer as volumes).",
        "b[:, :, :, c] for output channel c",
    ),
    "output_one_short": (
        "the output is one row and one column short (the + 1 of the size formula is missing)",
        "Count the windows: the first window counts too, so the formula ends in + 1.",
        "n_H = (n_H_prev - f + 2 * pad) // stride + 1 (no pad in pooling)",
    ),
    "mode_swapped_max": (
        "mode 'max' was handled like 'average'",
        "Check the branches on mode: 'max' takes the maximum of the window (and, backward, routes dA through the mask).",
        "",
    ),
    "mode_swapped_average": (
        "mode 'average' was handled like 'max'",
        "Check the branches on mode: 'average' takes the mean of the window (and, backward, shares dA evenly).",
        "",
    ),
    "pooled_across_channels": (
        "the window was pooled across all channels at once",
        "Pooling never mixes channels: channel c of the output summarises channel c of the window alone.",
        "A_prev[i, vert_start:vert_end, horiz_start:horiz_end, c]",
    ),
    "stride_as_f": (
        "the window stepped by f instead of stride",
        "The step between windows is hparameters['stride']; f is only the window's size (here they differ).",
        "vert_start = h * stride and horiz_start = w * stride",
    ),
    "window_one_short": (
        "the windows are one row and one column too small",
        "A window is f rows by f columns, and a Python slice a[start:end] stops *before* end (figure: the window's "
        "corners).",
        "vert_end = vert_start + f and horiz_end = horiz_start + f",
    ),
    "activation_applied": (
        "negative results were replaced by 0 (an activation such as ReLU was applied)",
        "This step is linear: return the sum plus the bias as it is; the activation is a separate layer.",
        "",
    ),
    "max_from_zero": (
        "the maximum started at 0, so a window whose values are all negative gave 0",
        "The maximum of a window is one of its own values, even when they are all negative.",
        "np.max(a_prev_slice) (a running maximum starts at -np.inf, not 0)",
    ),
    # backward passes
    "assign_not_accumulate": (
        "a gradient was assigned with = where it must be accumulated with +=",
        "Overlapping windows, examples and filters each add their share: every contribution is added to what is "
        "there, as the sums of section 5 say.",
        "+= in place of =",
    ),
    "dA_padded": (
        "dA_prev still has the padding",
        "dA_prev has A_prev's shape: the frame of zeros was no input of the layer, so cut it off at the end "
        "(careful: a[pad:-pad] is empty when pad == 0).",
        "dA_prev[i, :, :, :] = da_prev_pad[pad:pad + n_H_prev, pad:pad + n_W_prev, :]",
    ),
    "dW_from_unpadded": (
        "dW used windows of the unpadded A_prev",
        "dW reads the same windows as the forward pass, and those were cut from the padded input.",
        "a_slice = a_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :]",
    ),
    "filter_flipped": (
        "the filter was flipped (turned by 180 degrees)",
        "In the loop form no flip is needed: each window of da_prev_pad gets the filter as it is, times the "
        "gradient of its output.",
        "da_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :] += W[:, :, :, c] * dZ[i, h, w, c]",
    ),
    "divided_by_m": (
        "the gradients were divided by m, the number of examples",
        "dA_prev, dW and db are plain sums over the examples; any 1/m belongs to the cost, not to this layer.",
        "",
    ),
    "unpad_outside_loop": (
        "only the last example's dA_prev was filled in",
        "Every example i gets its own dA_prev[i]: fill it inside the loop over i.",
        "",
    ),
    # create_mask_from_window
    "min_instead_of_max": (
        "the mask marks the minimum",
        "The gradient goes to the entry that won the max pooling: the largest one.",
        "mask = (x == np.max(x))",
    ),
    "max_per_column": (
        "the mask marks the maximum of each column",
        "One window has one maximum: the largest entry of the whole window, not one per column.",
        "np.max(x), without an axis",
    ),
    "max_per_row": (
        "the mask marks the maximum of each row",
        "One window has one maximum: the largest entry of the whole window, not one per row.",
        "np.max(x), without an axis",
    ),
    # distribute_value
    "not_divided": ("dz was copied instead of shared", "Each of the rows * cols cells gets dz / (rows * cols).", ""),
    "divided_by_one_side": ("dz was divided by one side only", "Divide by rows * cols, the number of cells.", ""),
    "divided_by_sum": ("dz was divided by rows + cols", "Divide by rows * cols, the number of cells.", ""),
    "floor_division": (
        "floor division (//) was used",
        "Use true division: // rounds down to a whole number.",
        "dz / (rows * cols)",
    ),
    "kept_dz_type": (
        "the result took the type of dz, so a whole-number dz lost the fraction of its share",
        "The shares are fractions even when dz is a whole number: build an array of floats.",
        "np.ones(shape) * (dz / (rows * cols))",
    ),
    # pool_backward
    "mask_ignored": (
        "the whole window got the gradient in max mode",
        "Only the entry that won the max receives the gradient: that is what the mask is for (figure: "
        "pooling gradients).",
        "mask * dA[i, h, w, c]",
    ),
    "average_not_shared": (
        "in average mode every cell of the window got the whole gradient",
        "In average mode every cell contributed 1 / (f * f) of the output, so each gets that share of the gradient "
        "(figure: pooling gradients).",
        "distribute_value(dA[i, h, w, c], (f, f))",
    ),
    "mask_wrong_channel": (
        "the mask was taken from the wrong channel of A_prev",
        "The max of output channel c was taken in channel c of the window: its mask comes from there too.",
        "create_mask_from_window(A_prev[i, vert_start:vert_end, horiz_start:horiz_end, c])",
    ),
}

# function -> (part, the keys of MISTAKE_WORDS its model names)
_ROWS = {
    "zero_pad": (
        "core",
        (
            "pad_not_applied",
            "pad_all_axes",
            "pad_wrong_axes",
            "pad_batch_axis",
            "pad_channel_axis",
            "pad_one_side",
            "pad_before_only",
            "pad_height_only",
            "pad_width_only",
            "pad_doubled",
        ),
    ),
    "conv_single_step": (
        "core",
        ("bias_missing", "bias_per_element", "product_not_summed", "mean_instead_of_sum", "activation_applied"),
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
            "window_one_short",
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
            "window_one_short",
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
