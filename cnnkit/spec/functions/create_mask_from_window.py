"""Exercise 6, create_mask_from_window: where a window's maximum is.

Its trusted reference, the model of its known mistakes and their words, the keys of its cases and what
the sample-partial submission does with it; its row in cnn_checks.py:FUNCTIONS holds the rest.
"""

from cnnkit.spec.graded import SEED_KEYS, VALUE_KEYS, GradedFunction, Mistake, mistakes


def reference(x):
    """Boolean mask, True where x equals its maximum."""
    return x == x.max()


def model(x):
    """The known slips of create_mask_from_window: mistake key -> the parts it returns on these inputs (None: it crashes)."""
    return {
        "min_instead_of_max": {"mask": x == x.min()},
        "max_per_column": {"mask": x == x.max(axis=0, keepdims=True)},
        "max_per_row": {"mask": x == x.max(axis=1, keepdims=True)},
    }


FUNCTION = GradedFunction(
    name="create_mask_from_window",
    exercise=6,
    part="optional",
    reference=reference,
    model=model,
    mistakes=mistakes(
        Mistake(
            "min_instead_of_max",
            "the mask marks the minimum",
            "The gradient goes to the entry that won the max pooling: the largest one.",
            "mask = (x == np.max(x))",
        ),
        Mistake(
            "max_per_column",
            "the mask marks the maximum of each column",
            "One window has one maximum: the largest entry of the whole window, not one per column.",
            "np.max(x), without an axis",
        ),
        Mistake(
            "max_per_row",
            "the mask marks the maximum of each row",
            "One window has one maximum: the largest entry of the whole window, not one per row.",
            "np.max(x), without an axis",
        ),
    ),
    case_keys=frozenset({"shape"}),
    optional_case_keys=SEED_KEYS | VALUE_KEYS,
)
