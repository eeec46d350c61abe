"""The case catalogue: every case of every function, described, for the report's per-case table.

It reads the course's own ``source/<assignment>/cnn_checks.py`` (PUBLIC_CASES, describe_case) through the kit's
one checker loader (cnnkit.course.load_checks), and the hidden cases from the master notebook's ``grade(...)``
calls (cnnkit.spec.notebook.find_grade_call). The report reads the specification elsewhere too: the functions
and their parts come from cnnkit.spec.parts.
"""

from pathlib import Path

import nbformat

from cnnkit import course
from cnnkit.spec.notebook import find_grade_call


def case_catalogue(root, assignment):
    """function -> [(description, 'public' | 'hidden'), ...] of every case, from the instructor's files.

    Verdicts describe only the cases that failed; this names the ones nobody failed too.
    Returns {} when the course has no source folder with its checker (the report then says "case N"); a
    checker or notebook that is there but broken is an error the instructor must see, not a quieter report.
    """
    folder = Path(root) / "source" / assignment
    checker = folder / course.CHECKS_FILE.name
    if not checker.is_file():
        return {}
    checks = course.load_checks(checker)
    catalogue = {}
    for path in sorted(folder.glob("*.ipynb")):
        for cell in nbformat.read(str(path), as_version=4).cells:
            call = find_grade_call(cell.source) if cell.cell_type == "code" else None
            if call and call[0] in checks.PUBLIC_CASES:
                name, hidden = call
                public = [(checks.describe_case(name, case), "public") for case in checks.PUBLIC_CASES[name]]
                catalogue[name] = public + [(checks.describe_case(name, case), "hidden") for case in hidden]
    return catalogue
