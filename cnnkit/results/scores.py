"""Read scores back from the gradebook, per student, split into core and optional; the score table.

The sums, maxima and late penalty are cnnkit.spec.totals'; this module only reads.
"""

from dataclasses import dataclass

from nbgrader.api import Gradebook, MissingEntry

from cnnkit import course
from cnnkit.spec import part_b
from cnnkit.spec import totals as sums
from cnnkit.spec.parts import FUNCTIONS, function_of


@dataclass(frozen=True)
class StudentScores:
    """One student's submission as the gradebook has it."""

    cells: dict  # grade_id -> score
    totals: sums.Totals  # per part, before and after the late penalty


@dataclass(frozen=True)
class ClassScores:
    """Every submission of one assignment, and its cells' maxima, read in one gradebook session."""

    maxima: dict  # grade_id -> max_score
    students: dict  # student id -> StudentScores

    @property
    def part_maxima(self):
        """{'core': max, 'optional': max, None: max of other cells}."""
        return sums.part_maxima(self.maxima)


def class_scores(db_url, assignment=course.ASSIGNMENT):
    """ClassScores of the assignment; None when the gradebook does not have the assignment."""
    with Gradebook(db_url) as gradebook:
        try:
            found = gradebook.find_assignment(assignment)
        except MissingEntry:
            return None
        students = {
            submission.student.id: StudentScores(sums.submission_cells(submission), sums.submission_totals(submission))
            for submission in found.submissions
        }
        return ClassScores(sums.cell_maxima(found), students)


def cell_scores(db_url, student, assignment=course.ASSIGNMENT):
    """grade_id -> score of every graded cell of one student's submission (None: not submitted)."""
    with Gradebook(db_url) as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry:
            return None
        return sums.submission_cells(submission)


def students(db_url, assignment=course.ASSIGNMENT):
    with Gradebook(db_url) as gradebook:
        return sorted(s.student.id for s in gradebook.find_assignment(assignment).submissions)


def part_totals(scores):
    """{'core': raw total, 'optional': raw total} of a cell_scores() mapping (no late penalty)."""
    raw = sums.part_sums(scores)
    return {part: raw[part] for part in sums.PARTS}


SHORT_NAMES = {"create_mask_from_window": "mask", "distribute_value": "distrib"}


def table(db_url, assignment=course.ASSIGNMENT):
    """A plain-text table: one row per student, core and optional totals (late penalty off), then each function."""
    found = class_scores(db_url, assignment) or ClassScores({}, {})
    maxima = found.part_maxima
    short = {name: SHORT_NAMES.get(name, name) for name in FUNCTIONS}
    # The optional column's head says how Part B counts (c.PartBPolicy.mode): opt., bonus or ungraded.
    optional_word = {"extra_credit": "bonus", "not_graded": "ungr."}.get(part_b.configured_mode(), "opt.")
    core_head, optional_head = f"core/{maxima['core']:g}", f"{optional_word}/{maxima['optional']:g}"
    header = f"{'student':<20} {core_head:>9} {optional_head:>8}  " + " ".join(f"{short[n]:>16}" for n in FUNCTIONS)
    lines = [header, "-" * len(header)]
    for student in sorted(found.students):
        scores = found.students[student]
        by_function = {function_of(k): v for k, v in scores.cells.items() if function_of(k)}
        cells = " ".join(f"{(by_function.get(n) or 0):>16.2f}" for n in FUNCTIONS)
        lines.append(f"{student:<20} {scores.totals.core:>9.2f} {scores.totals.optional:>8.2f}  {cells}")
    return "\n".join(lines)
