"""One line per submission after an autograde run: graded or not, why, and what to do.

nbgrader's own log says the same things in many lines per student; this is the
summary an instructor reads.
"""

import json

import nbformat

from cnnkit import course
from cnnkit.results import scores

NB_NAME = f"{course.ASSIGNMENT}.ipynb"


def notebook_problem(folder):
    """Why the submission folder cannot be graded as it is, with the fix; None when fine."""
    notebooks = sorted(path.name for path in folder.glob("*.ipynb"))
    if NB_NAME not in notebooks:
        if notebooks:
            return (
                f"no {NB_NAME}, but {', '.join(notebooks)}: rename it to {NB_NAME} in {folder} "
                f"and run `make autograde STUDENT={folder.parent.name}`"
            )
        return f"no notebook was submitted (found: {', '.join(p.name for p in folder.iterdir()) or 'nothing'})"
    try:
        nbformat.validate(nbformat.read(str(folder / NB_NAME), as_version=4))
    except Exception as error:  # nbformat raises several types for unreadable files
        return (
            f"{NB_NAME} is not a valid notebook ({type(error).__name__}: {str(error)[:80]}); "
            "ask the student to resubmit it"
        )
    return None


def extra_notebooks(folder):
    return sorted(path.name for path in folder.glob("*.ipynb") if path.name != NB_NAME)


def integrity_note(root, student):
    path = root / "autograded" / student / course.ASSIGNMENT / "integrity.json"
    if not path.exists():
        return ""
    flags = json.loads(path.read_text())["flags"]
    if not flags:
        return ""
    return f"; {len(flags)} integrity flag(s): {flags[0]['reason']}{' ...' if len(flags) > 1 else ''} ({path})"


def student_line(root, db_url, student):
    folder = root / "submitted" / student / course.ASSIGNMENT
    graded = (root / "autograded" / student / course.ASSIGNMENT / NB_NAME).exists()
    cells = scores.cell_scores(db_url, student)
    problem = notebook_problem(folder) if folder.exists() else "no submission folder"
    if graded and cells is not None:
        totals = scores.part_totals(cells)
        text = f"graded: core {totals['core']:.2f}/100, optional {totals['optional']:.2f}/50"
        if extra_notebooks(folder):
            text += f"; ignored extra notebook(s) {', '.join(extra_notebooks(folder))}"
        return f"{student}: {text}{integrity_note(root, student)}"
    if problem:
        return f"{student}: NOT GRADED (scores 0): {problem}"
    return f"{student}: NOT GRADED: nbgrader failed on it; see logs/autograde.log, fix, then `make autograde STUDENT={student}`"


def run_report(root=course.ROOT, db_url=None):
    """The summary lines for every submission folder under root/submitted."""
    db_url = db_url or f"sqlite:///{root / 'gradebook.db'}"
    submitted = root / "submitted"
    students = sorted(path.name for path in submitted.iterdir() if path.is_dir()) if submitted.exists() else []
    return [student_line(root, db_url, student) for student in students]
