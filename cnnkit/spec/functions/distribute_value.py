"""Exercise 7, distribute_value: a gradient shared evenly over a window.

Its trusted reference, the model of its known mistakes and their words, the keys of its cases and what
the sample-partial submission does with it; its row in cnn_checks.py:FUNCTIONS holds the rest.
"""

import numpy as np

from cnnkit.spec.graded import SEED_KEYS, STUB, GradedFunction, Mistake, mistakes


def reference(dz, shape):
    """An array of the given (n_H, n_W) shape sharing dz evenly."""
    return np.full(shape, dz / (shape[0] * shape[1]), dtype=float)


def model(dz, shape):
    """The known slips of distribute_value: mistake key -> the parts it returns on these inputs (None: it crashes)."""
    n_H, n_W = shape
    return {
        "not_divided": {"a": np.full(shape, float(dz))},
        "divided_by_one_side": {"a": np.full(shape, dz / n_H)},
        "divided_by_sum": {"a": np.full(shape, dz / (n_H + n_W))},
        "floor_division": {"a": np.full(shape, dz // (n_H * n_W))},
        "kept_dz_type": {"a": np.full(shape, dz / (n_H * n_W)).astype(type(dz))},
    }


FUNCTION = GradedFunction(
    name="distribute_value",
    exercise=7,
    part="optional",
    reference=reference,
    model=model,
    mistakes=mistakes(
        Mistake(
            "not_divided", "dz was copied instead of shared", "Each of the rows * cols cells gets dz / (rows * cols)."
        ),
        Mistake(
            "divided_by_one_side", "dz was divided by one side only", "Divide by rows * cols, the number of cells."
        ),
        Mistake("divided_by_sum", "dz was divided by rows + cols", "Divide by rows * cols, the number of cells."),
        Mistake(
            "floor_division",
            "floor division (//) was used",
            "Use true division: // rounds down to a whole number.",
            "dz / (rows * cols)",
        ),
        Mistake(
            "kept_dz_type",
            "the result took the type of dz, so a whole-number dz lost the fraction of its share",
            "The shares are fractions even when dz is a whole number: build an array of floats.",
            "np.ones(shape) * (dz / (rows * cols))",
        ),
    ),
    case_keys=frozenset({"shape"}),
    optional_case_keys=SEED_KEYS | {"dz", "whole_dz"},
    partial_sample=STUB,
)
