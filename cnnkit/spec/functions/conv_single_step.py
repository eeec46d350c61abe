"""Exercise 2, conv_single_step: one window times one filter, summed, plus the bias.

Its trusted reference, the model of its known mistakes and their words, the keys of its cases and what
the sample-partial submission does with it; its row in cnn_checks.py:FUNCTIONS holds the rest.
"""

import numpy as np

from cnnkit.spec import slips
from cnnkit.spec.graded import SEED_KEYS, VALUE_KEYS, GradedFunction, Mistake, PartialSample, mistakes


def reference(a_slice_prev, W, b):
    """sum(a_slice_prev * W) + b, as a Python float."""
    return float(np.einsum("ijk,ijk->", a_slice_prev, W) + np.asarray(b).reshape(-1)[0])


def model(a_slice_prev, W, b):
    """The known slips of conv_single_step: mistake key -> the parts it returns on these inputs (None: it crashes)."""
    products = a_slice_prev * W
    bias = float(np.asarray(b).reshape(-1)[0])
    return {
        "bias_missing": {"Z": np.asarray(float(np.sum(products)))},
        "bias_per_element": {"Z": np.asarray(float(np.sum(products + b)))},
        "product_not_summed": {"Z": products + bias},
        "mean_instead_of_sum": {"Z": np.asarray(float(np.mean(products)) + bias)},
        "activation_applied": {"Z": np.asarray(max(float(np.sum(products)) + bias, 0.0))},
    }


FUNCTION = GradedFunction(
    name="conv_single_step",
    exercise=2,
    part="core",
    reference=reference,
    model=model,
    mistakes=mistakes(
        slips.BIAS_MISSING,
        Mistake(
            "bias_per_element",
            "the bias was added to every element before summing",
            "The bias is added once, to the sum, not to each of the products (figure: one step, in numbers).",
            "Z = np.sum(a_slice_prev * W) + b.item()",
        ),
        Mistake(
            "product_not_summed",
            "the element-wise product was returned without summing it",
            "One step gives one number: all the products of the window and the filter, added up (figure: one step, "
            "in numbers).",
            "Z = np.sum(a_slice_prev * W) + b.item()",
        ),
        Mistake(
            "mean_instead_of_sum",
            "the products were averaged (np.mean) instead of summed",
            "Z is the sum of the products, plus b (the formula of section 2), not their mean.",
            "Z = np.sum(a_slice_prev * W) + b.item()",
        ),
        slips.ACTIVATION_APPLIED,
    ),
    case_keys=frozenset({"f", "n_C_prev"}),
    optional_case_keys=SEED_KEYS | VALUE_KEYS | {"bias_scale"},
    partial_sample=PartialSample(
        edits=(("Z = Z + b.item()", "Z = Z"),),  # the bias forgotten
        passes=lambda case: case.get("bias_scale", 1.0) == 0,  # a forgotten bias shows unless the bias is 0
    ),
)
