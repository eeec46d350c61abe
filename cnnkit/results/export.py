"""nbgrader export plugin: grades.csv with the core and optional parts as separate columns.

The columns are nbgrader's own CSV's, plus core_score/core_max and optional_score/optional_max.
Scores follow cnnkit.spec.totals: score = max(0, raw_score - late_submission_penalty), and
core_score + optional_score = score (each part carries its share of the penalty). The Part B policy
(c.PartBPolicy.mode) decides what score and max_score count: "required" (default) both parts, out of
both; "extra_credit" both parts, out of the core's maximum; "not_graded" the core only (optional_score
then shows what Part B earned, outside the score).
Ids, names and emails are written through cnnkit.results.csv_cells (no cell can start a formula).

Where: ``--to`` (default grades.csv); a relative path is taken in the course directory, whatever folder the
command runs in (``destination``), and the log says where the file went. On a hub, a grader's terminal that
started in their home would otherwise leave grades.csv there, where the other graders never see it.
"""

from pathlib import Path

from nbgrader.api import MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins import ExportPlugin

from cnnkit.results import csv_cells
from cnnkit.spec import part_b, totals

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


def destination(plugin, default):
    """The file an export plugin writes: its --to, or default; a relative path in the course directory (the
    ExportApp's CourseDirectory.root, else the one the plugin's configuration names)."""
    path = Path(plugin.to or default).expanduser()
    if path.is_absolute():
        return path
    coursedir = getattr(plugin.parent, "coursedir", None) or CourseDirectory(config=plugin.config)
    return Path(coursedir.root).resolve() / path


class PartsCsvExport(ExportPlugin):
    """One row per student and assignment; missing submissions score 0."""

    @property
    def mode(self):
        """The Part B policy (c.PartBPolicy.mode in the configuration nbgrader loaded)."""
        return part_b.mode_in(self.config)

    def export(self, gradebook):
        path = destination(self, "grades.csv")
        self.log.info("Exporting grades to %s (Part B: %s)", path, self.mode)
        written = 0
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv_cells.SafeWriter(handle)
            writer.writerow(COLUMNS)
            for assignment in gradebook.assignments:
                if self.assignment and assignment.name not in self.assignment:
                    continue
                maxima = totals.part_maxima(totals.cell_maxima(assignment))
                for student in gradebook.students:
                    if self.student and student.id not in self.student:
                        continue
                    writer.writerow(self.row(gradebook, assignment, student, maxima))
                    written += 1
        self.log.info("Wrote %d rows (one per student and assignment) to %s", written, path)

    def row(self, gradebook, assignment, student, maxima):
        """The CSV row of one student; maxima: totals.part_maxima() of the assignment."""
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
            return base + zero_parts + [0.0, 0.0, 0.0, round(totals.graded_maximum(maxima, self.mode), 2)]
        scored = totals.submission_totals(submission, self.mode)
        base[2] = submission.timestamp
        values = [
            scored.core,
            maxima["core"],
            scored.optional,
            maxima["optional"],
            scored.raw_total,
            scored.penalty,
            scored.total,
            totals.graded_maximum(maxima, self.mode),
        ]
        return base + [round(value, 2) for value in values]
