"""Build public_cases.npz: expected outputs and known-mistake outputs of the public cases.

The student's ``check()`` compares against this file, so the notebook can explain a
failing public case without a reference implementation in the student's hands. Only the
words of the mistakes that some public case can show are shipped.
"""

import io

import numpy as np

from cnnkit import course
from cnnkit.spec import notebook, part_b
from cnnkit.spec.table import SPEC


def course_facts(master=course.MASTER, mode=None):
    """What the self-checks say beside the cases: 'hidden_count/<function>' (how many hidden cases its check
    cell runs at grading), 'part_b/functions' (the optional part) and 'part_b/policy' (the course's mode)."""
    arrays = {
        f"hidden_count/{name}": np.asarray(len(hidden)) for name, hidden, _ in notebook.check_cells(master).values()
    }
    arrays["part_b/functions"] = np.asarray([name for name, row in SPEC.items() if row.part == "optional"])
    arrays["part_b/policy"] = np.asarray(mode or part_b.configured_mode())
    return arrays


def public_arrays(spec=SPEC, master=course.MASTER, mode=None):
    """Flat name -> array mapping.

    '<function>/<case>/expected/<part>', '<function>/<case>/mistake/<key>/<part>', and the words of
    each mistake named there: 'mistake/<key>/what', 'mistake/<key>/hint' and 'mistake/<key>/line' (the
    exact line, shown on request; 0-d unicode arrays); then course_facts().
    """
    arrays = course_facts(master, mode)
    for name, row in spec.items():
        for index, case in enumerate(row.public_cases):
            args, kwargs = row.make_inputs(case)
            for part, value in row.expected_parts(args, kwargs).items():
                arrays[f"{name}/{index}/expected/{part}"] = np.asarray(value)
            for key, mistake in row.known_mistakes(args, kwargs).items():
                for part, value in mistake["parts"].items():
                    arrays[f"{name}/{index}/mistake/{key}/{part}"] = np.asarray(value)
                for word in ("what", "hint", "line"):
                    arrays[f"mistake/{key}/{word}"] = np.asarray(mistake[word])
    return arrays


def write(path=course.PUBLIC_DATA, mode=None):
    """Write the data file (mode: the Part B policy, default the course's setting); returns its path."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **public_arrays(mode=mode))
    path.write_bytes(buffer.getvalue())
    return path


if __name__ == "__main__":
    print(f"wrote {write()}")
