"""Which graded cell belongs to the core part and which to the optional part (from the spec table)."""

from cnnkit.spec.table import SPEC

FUNCTIONS = tuple(SPEC)
CORE = tuple(name for name, spec in SPEC.items() if spec.part == "core")
OPTIONAL = tuple(name for name, spec in SPEC.items() if spec.part == "optional")


def function_of(grade_id):
    """The function a check cell grades: 'test_conv_forward' -> 'conv_forward'."""
    name = grade_id[len("test_") :] if grade_id.startswith("test_") else grade_id
    return name if name in FUNCTIONS else None


def part_of(grade_id):
    """'core', 'optional', or None for a cell that is not one of the eight checks."""
    name = function_of(grade_id)
    if name is None:
        return None
    return SPEC[name].part
