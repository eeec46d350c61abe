"""The case catalogue: every case of every function, described, for the report's per-case table.

This is the report's only use of the assignment's specification. It loads the course's own
``source/<assignment>/cnn_checks.py`` (PUBLIC_CASES, describe_case) and reads the hidden cases
from the master notebook's ``grade(...)`` calls (cnnkit.spec.notebook.find_grade_call).
"""

import importlib.util
from pathlib import Path

import nbformat

from cnnkit.spec.notebook import find_grade_call


def case_catalogue(root, assignment):
    """function -> [(description, 'public' | 'hidden'), ...] of every case, from the instructor's files.

    Verdicts describe only the cases that failed; this names the ones nobody failed too.
    Returns {} when the source is not there (the report then says "case N").
    """
    folder = Path(root) / "source" / assignment
    try:
        spec = importlib.util.spec_from_file_location("cnnkit_report_checks", folder / "cnn_checks.py")
        checks = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(checks)
        catalogue = {}
        for path in sorted(folder.glob("*.ipynb")):
            for cell in nbformat.read(str(path), as_version=4).cells:
                call = find_grade_call(cell.source) if cell.cell_type == "code" else None
                if call and call[0] in checks.PUBLIC_CASES:
                    name, hidden = call
                    public = [(checks.describe_case(name, case), "public") for case in checks.PUBLIC_CASES[name]]
                    catalogue[name] = public + [(checks.describe_case(name, case), "hidden") for case in hidden]
        return catalogue
    except Exception:  # the report must not fail because the source moved; it just says "case N"
        return {}
