"""Build public_cases.npz: expected outputs and named-mistake outputs of the public cases.

The student's ``check()`` compares against this file, so the notebook can explain
a failing public case without a reference implementation in the student's hands.
"""

import io

import numpy as np

from cnnkit import course
from cnnkit.spec import mistakes


def public_arrays(checks):
    """Flat name -> array mapping: '<function>/<case>/expected/<part>' and '.../mistake/<key>/<part>'."""
    arrays = {}
    for name, cases in checks.PUBLIC_CASES.items():
        for index, case in enumerate(cases):
            args, kwargs = checks.make_inputs(name, case)
            for part, value in mistakes.expected_parts(name, args, kwargs).items():
                arrays[f"{name}/{index}/expected/{part}"] = np.asarray(value)
            for key, parts in mistakes.mistake_parts(name, args, kwargs).items():
                for part, value in parts.items():
                    arrays[f"{name}/{index}/mistake/{key}/{part}"] = np.asarray(value)
    return arrays


def write(path=course.PUBLIC_DATA):
    """Write the data file; returns its path."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **public_arrays(course.load_checks()))
    path.write_bytes(buffer.getvalue())
    return path


if __name__ == "__main__":
    print(f"wrote {write()}")
