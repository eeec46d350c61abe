"""nbgrader export plugins that write a gradebook file an LMS can import: Canvas and Moodle.

    nbgrader export --exporter=cnnkit.results.lms.CanvasExport --to canvas.csv
    nbgrader export --exporter=cnnkit.results.lms.MoodleExport --to moodle.csv

Students' names and LMS identifiers come from the roster (python -m cnnkit roster roster.csv):
nbgrader's student table for names, email and the LMS user id, cnnkit_lms_roster for the SIS
ids and the section. The rules shared by both plugins (traits of LmsExport):

- score: nbgrader's, net of any late penalty, by the one rule of cnnkit.spec.totals
  (total = max(0, score - penalty), as nbgrader's own CSV; each part keeps its share).
- LmsExport.parts = "total" (default): one column per assignment. "separate": an assignment
  with core and optional checks gets one column per part instead ("<assignment> core",
  "<assignment> optional"), which add up to the total.
- The Part B policy (c.PartBPolicy.mode, cnnkit.spec.part_b) decides what the total counts and its
  maximum (Canvas's points possible): "required" both parts out of both; "extra_credit" both parts out
  of the core's points; "not_graded" the core only, and "separate" then has no optional column.
- LmsExport.missing = "zero" (default): a student with no submission gets 0, like nbgrader's CSV;
  "blank": an empty cell, so no grade is imported for that student.
- A student without the identifier the LMS matches on stops the export with their ids listed
  (their grade would silently not import); LmsExport.skip_unmatched = True leaves them out instead.
- Nothing is written unless the whole file can be.
- Every cell goes through cnnkit.results.csv_cells: names and ids that start with = + - @ (or a
  tab or carriage return) get a leading ' so no spreadsheet runs them; grades are bare numbers. A
  student whose match key was altered that way is named in a warning (the LMS may not match it).
"""

import sys
from dataclasses import dataclass

from nbgrader.api import MissingEntry
from nbgrader.plugins import ExportPlugin
from traitlets import Bool, Dict, Enum

from cnnkit.results import csv_cells, export, roster
from cnnkit.spec import part_b, totals


class ExportError(Exception):
    """A setting or roster problem the instructor must fix; reported as one message, no traceback."""


@dataclass(frozen=True)
class Column:
    """One grade column: the whole assignment (part None) or one part of it."""

    assignment: str
    part: str | None
    max_score: float

    @property
    def label(self):
        """'cnn_step_by_step' or 'cnn_step_by_step core': the column's name, before any LMS id."""
        return self.assignment if self.part is None else f"{self.assignment} {self.part}"


def number(value):
    """A score as the LMS reads it: '.' decimal point, at most 2 decimals, no trailing zeros."""
    text = f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def grade_value(text):
    """A grade cell's text from number() as an int or float, so it is written as a number ('' stays '')."""
    if text == "":
        return ""
    return float(text) if "." in text else int(text)


def assignment_columns(assignment, parts, mode=None):
    """The grade columns of one assignment under the `parts` setting and the Part B policy."""
    maxima = totals.part_maxima(totals.cell_maxima(assignment))
    has_parts = maxima["core"] or maxima["optional"]
    if parts == "total" or not has_parts:
        # An assignment without core/optional checks has nothing to split: one column.
        maximum = totals.graded_maximum(maxima, mode) if has_parts else assignment.max_score
        return [Column(assignment.name, None, maximum)]
    if maxima[None]:
        # Points outside both parts would be in no column: the LMS total would be wrong.
        raise ExportError(
            f"{assignment.name} has {number(maxima[None])} points in cells that are neither core nor optional, "
            "so separate core/optional columns would drop them: export with parts = 'total'"
        )
    return [Column(assignment.name, part, maxima[part]) for part in totals.counted_parts(mode)]


def student_name(student):
    """'Last, First' (how Canvas lists students); the id when the roster gave no name."""
    names = [name for name in (student.last_name, student.first_name) if name]
    return ", ".join(names) if names else student.id


class LmsExport(ExportPlugin):
    """What both LMS files share: the columns, scores, student selection and writing the file."""

    default_file = "lms.csv"

    parts = Enum(
        ["total", "separate"],
        default_value="total",
        help="'total': one grade column per assignment; 'separate': core and optional columns.",
    ).tag(config=True)

    missing = Enum(
        ["zero", "blank"],
        default_value="zero",
        help="The grade of a student with no submission: 0, or an empty cell (no grade imported).",
    ).tag(config=True)

    skip_unmatched = Bool(
        False,
        help="Leave out students without the LMS identifier (default: stop and list them).",
    ).tag(config=True)

    match_fields = "LMS identifier"  # named in the message about students the LMS cannot match
    key_cells = slice(None)  # the identity cells the LMS matches a student on

    @property
    def mode(self):
        """The Part B policy (c.PartBPolicy.mode in the configuration nbgrader loaded)."""
        return part_b.mode_in(self.config)

    # --- what each LMS defines ---

    def header(self, columns):
        """The header row (identity columns, then one per grade column)."""
        raise NotImplementedError

    def extra_rows(self, columns):
        """Rows between the header and the students (Canvas: Points Possible)."""
        return []

    def identity(self, student, fields):
        """The identity cells of a student's row, or None if the LMS could not match the student."""
        raise NotImplementedError

    # --- shared ---

    def export(self, gradebook):
        path = export.destination(self, self.default_file)  # a relative --to: in the course directory
        try:
            head, body = self.rows(gradebook)
        except ExportError as error:
            self.log.error("%s: nothing exported. %s", type(self).__name__, error)
            sys.exit(1)
        with open(path, "w", newline="", encoding="utf-8") as handle:
            csv_cells.SafeWriter(handle).writerows(head + body)
        self.log.info("Exported %d students to %s", len(body), path)

    def rows(self, gradebook):
        """(header rows, one row per student); ExportError if the file would be wrong."""
        assignments = self.assignments(gradebook)
        columns = [
            column for assignment in assignments for column in assignment_columns(assignment, self.parts, self.mode)
        ]
        head = [self.header(columns), *self.extra_rows(columns)]
        fields = roster.lms_fields(gradebook)
        body, unmatched, quoted = [], [], []
        for student in self.students(gradebook):
            identity = self.identity(student, fields.get(student.id, {}))
            if identity is None:
                unmatched.append(student.id)
                continue
            if any(csv_cells.changes(value) for value in identity[self.key_cells]):
                quoted.append(student.id)
            scores = {a.name: self.scores(gradebook, a.name, student.id) for a in assignments}
            body.append(identity + [grade_value(self.cell(scores[column.assignment], column)) for column in columns])
        self.check_unmatched(unmatched)
        self.warn_quoted(quoted)
        return head, body

    def assignments(self, gradebook):
        """The assignments to export (all, or those named with --assignment), in nbgrader's order."""
        wanted = [str(name) for name in self.assignment]
        chosen = [a for a in gradebook.assignments if not wanted or a.name in wanted]
        if not chosen:
            raise ExportError(f"no assignment to export (gradebook has: {[a.name for a in gradebook.assignments]})")
        return chosen

    def students(self, gradebook):
        """The students to export (all, or those named with --student), by last name, first name, id."""
        wanted = [str(student_id) for student_id in self.student]
        chosen = [s for s in gradebook.students if not wanted or s.id in wanted]
        return sorted(chosen, key=lambda s: (s.last_name or "", s.first_name or "", s.id))

    def scores(self, gradebook, assignment, student_id):
        """totals.Totals of the student's submission; None if they did not submit."""
        try:
            return totals.submission_totals(gradebook.find_submission(assignment, student_id), self.mode)
        except MissingEntry:
            return None

    def cell(self, scores, column):
        """The grade cell of one column: the score (net of the late penalty), or the `missing` setting's value."""
        if scores is None:
            return "0" if self.missing == "zero" else ""
        return number(scores.total if column.part is None else scores.net(column.part))

    def warn_quoted(self, student_ids):
        """Students whose match key starts like a formula: written with a leading ', which the LMS may not match."""
        if student_ids:
            self.log.warning(
                "The %s of these students starts with = + - @, a tab or a carriage return, so it was written "
                "with a leading ' (a spreadsheet would run it as a formula); check that the LMS matched them: %s",
                self.match_fields,
                ", ".join(student_ids),
            )

    def check_unmatched(self, unmatched):
        """Students the LMS cannot match: stop (default) or warn and leave them out."""
        if not unmatched:
            return
        if self.skip_unmatched:
            self.log.warning("Left out (no %s): %s", self.match_fields, ", ".join(unmatched))
            return
        raise ExportError(
            f"{len(unmatched)} student(s) have no {self.match_fields}, so the LMS could not match their row: "
            f"{', '.join(unmatched)}. Add them to the roster (python -m cnnkit roster roster.csv), "
            f"or set {type(self).__name__}.skip_unmatched = True to leave them out."
        )


class CanvasExport(LmsExport):
    """A Canvas gradebook import file ("Grades > Import").

    Columns: Student, ID, SIS User ID, SIS Login ID, Section, then '<name> (<Canvas assignment id>)'
    per grade column; the second row gives each column's points possible. Canvas matches a student
    by ID (lms_user_id), SIS User ID or SIS Login ID, and an assignment by the id in parentheses:
    a column without one would be imported as a new assignment, so every column needs its id in
    CanvasExport.assignment_ids (keyed by the column's name without the id).
    """

    default_file = "canvas.csv"
    match_fields = "Canvas ID, SIS User ID or SIS Login ID"
    key_cells = slice(1, 4)  # ID, SIS User ID, SIS Login ID
    IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]

    assignment_ids = Dict(
        help=(
            "Canvas assignment id of each grade column, keyed by the column's name: the assignment "
            "('cnn_step_by_step'), or with parts = 'separate' the part ('cnn_step_by_step core')."
        ),
    ).tag(config=True)

    def header(self, columns):
        self.check_assignment_ids(columns)
        return self.IDENTITY + [f"{column.label} ({self.assignment_ids[column.label]})" for column in columns]

    def extra_rows(self, columns):
        # Canvas reads the row whose Student cell is "Points Possible" as each column's maximum.
        return [["Points Possible", "", "", "", ""] + [grade_value(number(column.max_score)) for column in columns]]

    def identity(self, student, fields):
        ids = [student.lms_user_id, fields.get("sis_user_id"), fields.get("sis_login_id")]
        if not any(ids):
            return None
        return [student_name(student), *(value or "" for value in ids), fields.get("section") or ""]

    def check_assignment_ids(self, columns):
        """Every column has a numeric Canvas assignment id, else say exactly what to set."""
        missing = [column.label for column in columns if not str(self.assignment_ids.get(column.label, ""))]
        if missing:
            example = ", ".join(f'"{label}": "<Canvas assignment id>"' for label in missing)
            raise ExportError(
                f"no Canvas assignment id for {', '.join(missing)}. Canvas shows it in the assignment's address "
                f"(.../assignments/<id>). Set it in nbgrader_config.py: c.CanvasExport.assignment_ids = {{{example}}}"
            )
        for label in [column.label for column in columns]:
            value = self.assignment_ids[label]
            if not str(value).isdigit():
                raise ExportError(f"Canvas assignment id {value!r} of {label} is not a number (Canvas ids are numbers)")


class MoodleExport(LmsExport):
    """A Moodle grade import file ("Grades > Import > CSV file").

    Columns: the key the students are matched on (MoodleExport.key_field), then one grade column per
    grade column, named after the assignment (or '<assignment> core' ...). No points row: Moodle
    takes the maximum from its grade item. In Moodle's import form, map the key column to the
    same user field and each grade column to its grade item.
    """

    default_file = "moodle.csv"

    # key_field -> (header, where the value comes from): Moodle's names for its user fields.
    KEYS = {
        "email": ("Email address", lambda student, fields: student.email),
        "idnumber": ("ID number", lambda student, fields: fields.get("sis_user_id")),
        "username": ("Username", lambda student, fields: fields.get("sis_login_id")),
    }

    key_field = Enum(
        list(KEYS),
        default_value="email",
        help="Moodle user field the rows are matched on: email (roster email), idnumber (roster sis_user_id) "
        "or username (roster sis_login_id).",
    ).tag(config=True)

    @property
    def match_fields(self):
        return f"{self.key_field} (MoodleExport.key_field)"

    def header(self, columns):
        return [self.KEYS[self.key_field][0]] + [column.label for column in columns]

    def identity(self, student, fields):
        value = self.KEYS[self.key_field][1](student, fields)
        return [value] if value else None
