"""nbgrader export plugin: grades.csv with the core and optional parts as separate columns."""

import csv

from nbgrader.api import MissingEntry
from nbgrader.plugins import ExportPlugin

from cnnkit.spec.parts import part_of

COLUMNS = [
    "assignment",
    "duedate",
    "timestamp",
    "student_id",
    "last_name",
    "first_name",
    "email",
    "core_score",
    "core_max",
    "optional_score",
    "optional_max",
    "raw_score",
    "late_submission_penalty",
    "score",
    "max_score",
]


def part_scores(submission):
    """{'core': (score, max), 'optional': (score, max)} summed over the submission's graded cells."""
    totals = {"core": [0.0, 0.0], "optional": [0.0, 0.0]}
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            part = part_of(grade.cell.name)
            if part:
                totals[part][0] += grade.score or 0.0
                totals[part][1] += grade.max_score
    return {part: tuple(values) for part, values in totals.items()}


class PartsCsvExport(ExportPlugin):
    """One row per student and assignment; missing submissions score 0."""

    def export(self, gradebook):
        path = self.to or "grades.csv"
        self.log.info("Exporting grades to %s", path)
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            for assignment in gradebook.assignments:
                if self.assignment and assignment.name not in self.assignment:
                    continue
                for student in gradebook.students:
                    if self.student and student.id not in self.student:
                        continue
                    writer.writerow(self.row(gradebook, assignment, student))

    def row(self, gradebook, assignment, student):
        base = [
            assignment.name,
            assignment.duedate,
            None,
            student.id,
            student.last_name,
            student.first_name,
            student.email,
        ]
        try:
            submission = gradebook.find_submission(assignment.name, student.id)
        except MissingEntry:  # this student did not submit
            zero_parts = [0.0, None, 0.0, None]
            return base + zero_parts + [0.0, 0.0, 0.0, assignment.max_score]
        parts = part_scores(submission)
        base[2] = submission.timestamp
        # As nbgrader's own CSV: submission.score is the raw score; the penalty comes off it.
        penalty = submission.late_submission_penalty or 0.0
        values = [
            parts["core"][0],
            parts["core"][1],
            parts["optional"][0],
            parts["optional"][1],
            submission.score,
            penalty,
            max(submission.score - penalty, 0.0),
            submission.max_score,
        ]
        return base + [round(value, 2) for value in values]
