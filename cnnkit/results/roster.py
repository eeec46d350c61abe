"""The class roster: who the students are in nbgrader and in the LMS.

    python -m cnnkit roster roster.csv [--db sqlite:///path/to/gradebook.db]

roster.csv has a header line naming exactly these columns, in any order, then one line per student
(every cell but id may be empty):

    id, first_name, last_name, email, lms_user_id, sis_user_id, sis_login_id, section

- id, first_name, last_name, email and lms_user_id go into nbgrader's own student table.
- sis_user_id, sis_login_id and section have no place there. They go into one extra table,
  `cnnkit_lms_roster`, in the same gradebook database (keyed by the student id). Keeping them
  in gradebook.db rather than a sidecar file means one transaction writes both tables (the import
  is all-or-nothing), every nbgrader command that takes --db sees the same roster, and the files
  that `make clean` and .gitignore already handle stay the only grading state.

The whole file is checked before anything is written: a missing or unknown column, an empty id,
a duplicate id (or a duplicate email / LMS id, which would map two students onto one LMS user),
a short line or an empty file stops the import with every problem listed by line number. So do
an id outside STUDENT_ID (it becomes a folder name under submitted/ and a CSV cell) and a value
with a control character or one longer than nbgrader's columns hold (MAX_LENGTH).
Students already in the gradebook but not in the file are left as they are (never deleted).
"""

import csv
import os
import re
import sys
import unicodedata

from nbgrader.api import Gradebook, Student
from sqlalchemy import Column, String, inspect
from sqlalchemy.orm import declarative_base

from cnnkit import course

COLUMNS = ("id", "first_name", "last_name", "email", "lms_user_id", "sis_user_id", "sis_login_id", "section")
NBGRADER_FIELDS = ("first_name", "last_name", "email", "lms_user_id")  # columns of nbgrader's Student
EXTRA_FIELDS = ("sis_user_id", "sis_login_id", "section")  # stored in cnnkit_lms_roster
# Two students sharing one of these would receive each other's grades in the LMS.
UNIQUE_FIELDS = ("id", "email", "lms_user_id", "sis_user_id", "sis_login_id")

# A student id: ASCII letters, digits, '.', '_', '-', '@'; 1 to 64 characters; not starting with
# '.' or '-' (no hidden folder, no '..', nothing a command line reads as an option).
STUDENT_ID = re.compile(r"[A-Za-z0-9_@][A-Za-z0-9._@-]{0,63}")
STUDENT_ID_RULE = "1 to 64 letters, digits, '.', '_', '-' or '@', not starting with '.' or '-'"
MAX_LENGTH = 128  # nbgrader's student columns and cnnkit_lms_roster's are String(128)
# Text direction controls (U+202A-U+202E, U+2066-U+2069) and line/paragraph separators: they make a
# name display as something else, or break a line, without being Unicode control characters (Cc).
INVISIBLE_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029")

# Same value as c.CourseDirectory.course_id in nbgrader_config.py (Gradebook records the course).
COURSE_ID = "cnn-step-by-step"
DEFAULT_DB = course.gradebook_url()

Base = declarative_base()


class LmsFields(Base):
    """The roster fields nbgrader's student table has no column for; one row per student id."""

    __tablename__ = "cnnkit_lms_roster"

    student_id = Column(String(128), primary_key=True)
    sis_user_id = Column(String(128))
    sis_login_id = Column(String(128))
    section = Column(String(128))


class RosterError(Exception):
    """The roster file cannot be imported; `problems` lists each one as 'line N: what to fix'."""

    def __init__(self, path, problems):
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{path}: nothing imported; fix the following and run the import again:\n{lines}")


# --- reading and checking the file -------------------------------------------------------------


def read_lines(path):
    """[(line number, cells)] of a CSV file, blank lines skipped; RosterError if it cannot be read."""
    try:
        # utf-8-sig: a spreadsheet's "CSV UTF-8" export starts with a byte-order mark.
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            return [(reader.line_num, [cell.strip() for cell in cells]) for cells in reader if any(cells)]
    except FileNotFoundError:
        raise RosterError(path, ["file not found"]) from None
    except UnicodeDecodeError as error:
        raise RosterError(path, [f"not UTF-8 text ({error.reason}): save it as 'CSV UTF-8'"]) from None
    except csv.Error as error:
        raise RosterError(path, [f"not a valid CSV file: {error}"]) from None


def header_problems(line, header):
    """What is wrong with the header line (empty list: nothing)."""
    expected = ", ".join(COLUMNS)
    if len(header) == 1 and ";" in header[0]:
        return [f"line {line}: the columns are separated by ';': save the file with commas as separators"]
    problems = []
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        problems.append(f"line {line}: column(s) named twice: {', '.join(duplicated)}")
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        problems.append(f"line {line}: missing column(s) {', '.join(missing)}; the header must name: {expected}")
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        problems.append(f"line {line}: unknown column(s) {', '.join(unknown)}; the columns are: {expected}")
    return problems


def student_id_problem(student_id):
    """Why student_id cannot be a student id (None if it can): shared by every way a student is named."""
    if STUDENT_ID.fullmatch(student_id):
        return None
    return f"the id {shown(student_id)} is not a valid student id: use {STUDENT_ID_RULE}"


def control_character(text):
    """The first control character in text (Unicode Cc, direction controls, line separators), or None."""
    return next((c for c in text if unicodedata.category(c) == "Cc" or c in INVISIBLE_CONTROLS), None)


def shown(value):
    """A value as a message shows it: quoted and escaped (a control character is visible), cut at 40."""
    return repr(value if len(value) <= 40 else value[:40] + "...")


def field_problems(line, row):
    """Values no student may have: a bad id, a control character, a value too long to store."""
    problems = []
    for field in COLUMNS:
        value = row[field]
        control = control_character(value)
        if control is not None:
            problems.append(
                f"line {line}: {field} {shown(value)} contains the control character U+{ord(control):04X}: remove it"
            )
        elif len(value) > MAX_LENGTH:
            problems.append(f"line {line}: {field} has {len(value)} characters; at most {MAX_LENGTH} can be stored")
        elif field == "id":
            problem = student_id_problem(value)
            if problem:
                problems.append(f"line {line}: {problem}")
    return problems


def row_problems(line, header, cells, first_seen):
    """What is wrong with one student line; first_seen (field, value) -> line is updated."""
    if len(cells) != len(header):
        return [f"line {line}: {len(cells)} values but the header has {len(header)} columns"]
    row = dict(zip(header, cells))
    if not row["id"]:
        return [f"line {line}: the id is empty; every student needs the id nbgrader knows them by"]
    problems = field_problems(line, row)
    for field in UNIQUE_FIELDS:
        value = row[field]
        if not value:
            continue
        if (field, value) in first_seen:
            earlier = first_seen[(field, value)]
            problems.append(f"line {line}: {field} {value!r} is already used on line {earlier}")
        else:
            first_seen[(field, value)] = line
    return problems


def read_roster(path):
    """The roster as a list of {column: value} (empty cells as None); RosterError listing every problem."""
    lines = read_lines(path)
    if not lines:
        raise RosterError(path, [f"the file is empty: it needs a header line ({', '.join(COLUMNS)}) and students"])
    (header_line, header), body = lines[0], lines[1:]
    problems = header_problems(header_line, header)
    if problems:
        raise RosterError(path, problems)  # without a usable header the lines cannot be checked
    if not body:
        raise RosterError(path, [f"line {header_line}: a header but no students below it"])
    first_seen = {}
    for line, cells in body:
        problems += row_problems(line, header, cells, first_seen)
    if problems:
        raise RosterError(path, problems)
    return [{name: value or None for name, value in zip(header, cells)} for _, cells in body]


# --- writing to and reading from the gradebook -------------------------------------------------


def save(rows, db_url):
    """Create or update every student of rows, in ONE transaction: (created, updated) counts.

    nbgrader's Gradebook.update_or_create_student sets the same columns but commits each student
    on its own, so a failure halfway would leave half a roster. Here every row goes through the
    gradebook's own session and is committed once, or rolled back entirely.
    """
    created = updated = 0
    with Gradebook(db_url, COURSE_ID) as gradebook:
        Base.metadata.create_all(gradebook.engine)
        session = gradebook.db
        try:
            for row in rows:
                student = session.get(Student, row["id"])
                if student is None:
                    student = Student(id=row["id"])
                    session.add(student)
                    created += 1
                else:
                    updated += 1
                for field in NBGRADER_FIELDS:
                    setattr(student, field, row[field])
                session.merge(LmsFields(student_id=row["id"], **{field: row[field] for field in EXTRA_FIELDS}))
            session.commit()
        except Exception:
            session.rollback()
            raise
    return created, updated


def lms_fields(gradebook):
    """student id -> {sis_user_id, sis_login_id, section} for every imported student ({} before any import)."""
    if not inspect(gradebook.engine).has_table(LmsFields.__tablename__):
        return {}
    return {
        entry.student_id: {field: getattr(entry, field) for field in EXTRA_FIELDS}
        for entry in gradebook.db.query(LmsFields)
    }


def import_roster(path, db_url=DEFAULT_DB):
    """Check the whole file, then write it: (created, updated). RosterError and nothing written if bad."""
    return save(read_roster(path), db_url)


def put_alembic_on_path():
    """nbgrader creates a new gradebook by running the `alembic` command: use this environment's."""
    bin_dir = os.path.dirname(sys.executable)
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
