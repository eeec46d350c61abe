"""Validate the master notebook's check cells before a release is generated.

The grader reads each check cell's ``grade(...)`` call from its source (it never runs it),
so a case list it cannot read or build would grade every submission wrongly. Caught here,
it stops ``python -m cnnkit release`` with a message naming the cell and what to fix.
"""

from cnnkit import course
from cnnkit.spec import notebook
from cnnkit.spec.parts import function_of
from cnnkit.spec.table import SPEC


class MasterError(ValueError):
    """The master notebook's check cells cannot be graded as written; the message says what to fix."""


def case_problems(name, case):
    """What is wrong with one hidden case of function `name` (an empty list when nothing is)."""
    row = SPEC[name]
    if not isinstance(case, dict):
        return [f"a case must be a dict of keys, not {case!r}"]
    problems = []
    missing = sorted(row.case_keys - set(case))
    unknown = sorted(set(case) - row.case_keys - row.optional_case_keys)
    if missing:
        problems.append(f"case {case!r} lacks the keys {missing}")
    if unknown:
        allowed = sorted(row.case_keys | row.optional_case_keys)
        problems.append(f"case {case!r} has keys the spec does not know: {unknown} (allowed: {allowed})")
    if problems:
        return problems
    try:
        args, kwargs = row.make_inputs(case)
        row.reference(*args, **kwargs)
        row.describe(case)
    except Exception as error:  # any failure to build the case is the instructor's to fix
        return [
            f"case {case!r} cannot be built: make_inputs or the reference fails with {type(error).__name__}: {error}"
        ]
    return []


def cell_problems(cell):
    """What is wrong with one check cell's grade(...) call (an empty list when nothing is)."""
    grade_id = notebook.grade_id(cell)
    try:
        call = notebook.find_grade_call(cell.source)
    except ValueError as error:
        return [f"{error}; write the list of case dicts into the call itself"]
    expected = function_of(grade_id)
    if call is None:
        return [f"it has no grade(...) call, so {expected or 'its function'} would not be graded"] if expected else []
    name, hidden = call
    if name not in SPEC:
        return [f"grade({name!r}, ...) names no function of the spec; known: {', '.join(SPEC)}"]
    if expected is not None and name != expected:
        return [f"the cell {grade_id} grades {name!r}; it must grade {expected!r}"]
    if not isinstance(hidden, (list, tuple)):
        return [f"the hidden cases must be a list of dicts, not {type(hidden).__name__}"]
    return [
        f"hidden case {index + 1}: {text}" for index, case in enumerate(hidden) for text in case_problems(name, case)
    ]


def validate_master(master_path=course.MASTER):
    """Raise MasterError naming every check cell to fix, and how; return the graded functions when all is well."""
    problems, graded = [], set()
    for cell in notebook.read(master_path).cells:
        if not notebook.is_check(cell):
            continue
        found = cell_problems(cell)
        problems += [f"check cell {notebook.grade_id(cell)!r}: {text}" for text in found]
        if not found and function_of(notebook.grade_id(cell)):
            graded.add(function_of(notebook.grade_id(cell)))
    problems += [
        f"no check cell grades {name!r} (expected one with grade_id 'test_{name}')"
        for name in SPEC
        if name not in graded and not any(f"'test_{name}'" in text for text in problems)
    ]
    if problems:
        listed = "\n".join(f"  - {text}" for text in problems)
        raise MasterError(f"{master_path}: fix these check cells before generating the release:\n{listed}")
    return sorted(graded)
