"""Read scores back from the gradebook, per student, split into core and optional."""

from nbgrader.api import Gradebook, MissingEntry

from cnnkit import course
from cnnkit.spec.parts import FUNCTIONS, function_of, part_of


def cell_scores(db_url, student, assignment=course.ASSIGNMENT):
    """grade_id -> score of every graded cell of one student's submission (None: not submitted)."""
    with Gradebook(db_url) as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry:
            return None
        return {grade.cell.name: grade.score for notebook in submission.notebooks for grade in notebook.grades}


def students(db_url, assignment=course.ASSIGNMENT):
    with Gradebook(db_url) as gradebook:
        return sorted(s.student.id for s in gradebook.find_assignment(assignment).submissions)


def part_totals(scores):
    """{'core': total, 'optional': total} of a cell_scores() mapping."""
    totals = {"core": 0.0, "optional": 0.0}
    for grade_id, value in scores.items():
        part = part_of(grade_id)
        if part:
            totals[part] += value or 0.0
    return totals


def table(db_url, assignment=course.ASSIGNMENT):
    """A plain-text table: one row per student, core and optional totals, then each function."""
    short = {
        name: name.replace("create_mask_from_window", "mask").replace("distribute_value", "distrib")
        for name in FUNCTIONS
    }
    header = f"{'student':<20} {'core/100':>9} {'opt./50':>8}  " + " ".join(f"{short[n]:>16}" for n in FUNCTIONS)
    lines = [header, "-" * len(header)]
    for student in students(db_url, assignment):
        scores = cell_scores(db_url, student, assignment)
        by_function = {function_of(k): v for k, v in scores.items() if function_of(k)}
        totals = part_totals(scores)
        cells = " ".join(f"{(by_function.get(n) or 0):>16.2f}" for n in FUNCTIONS)
        lines.append(f"{student:<20} {totals['core']:>9.2f} {totals['optional']:>8.2f}  {cells}")
    return "\n".join(lines)
