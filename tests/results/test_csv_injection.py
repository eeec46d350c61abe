"""CSV formula injection (issue 11, class 10): every CSV the kit writes for people or an LMS.

Attackers whose student id, names, email, LMS ids or section start with a formula character
(= + - @, tab, carriage return) are put in a real gradebook beside an honest student, as
nbgrader's autograde (which adds a student per submitted folder) and the roster's writer would
leave them. Then grades.csv and the Canvas and Moodle files are made by the real `nbgrader export`,
and the report's tables by the report's own writer. Every text cell must come out neutralised
(OWASP: a leading single quote), every score must stay a plain number, and the honest student's
rows must be exactly what they are without the attackers.
"""

import csv
import io
import os
import warnings
from decimal import Decimal

import pytest
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from cnnkit import course
from cnnkit.results import csv_cells, report, roster
from cnnkit.results.report import read
from cnnkit.spec.parts import FUNCTIONS
from tests.results.test_report_tables import all_tables
from tests.support import BIN, clone_course, db_url, run_nbgrader

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
HYPERLINK = '=HYPERLINK("http://x","y")'
DDE = "+cmd|' /C calc'!A0"
# id, first_name, last_name, email, lms_user_id, sis_user_id, sis_login_id, section
ATTACKERS = [
    (HYPERLINK, "@SUM(1+1)", "-2+3", DDE, "=1+1", "@A1", "-A1", "+A1"),
    ("@SUM(1+1)", "\t=1+1", "\r=1+1", "=x@evil.example", "-7", "+S9", "=login", "@section"),
    ("-2+3", DDE, HYPERLINK, "@mallory.example", "+42", "-S8", "@login", "=1+1"),
    (DDE, "-1", "=mallory", "-m@evil.example", "@42", "=S7", "+login", "-section"),
]
HONEST = ("ada", "Ada", "Lovelace", "ada@uni.example", "101", "S001", "alovelace", "Section A")
ATTACKER_CELLS = {"test_zero_pad": 10, "test_conv_forward": 17.77, "test_create_mask_from_window": 5}
HONEST_PENALTY = 15.0
CANVAS_IDS = '{"cnn_step_by_step": "111"}'


def roster_row(values):
    return dict(zip(roster.COLUMNS, values))


def enter_submissions(url):
    """ada: full marks, 15 points late; each attacker: 32.77 (the cells above)."""
    with Gradebook(url, roster.COURSE_ID) as gradebook, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # add_submission's objects, harmlessly
        for values in [HONEST, *ATTACKERS]:
            submission = gradebook.add_submission(course.ASSIGNMENT, values[0])
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if values is HONEST:
                        grade.auto_score = grade.max_score
                    else:
                        grade.auto_score = ATTACKER_CELLS.get(grade.cell.name, 0.0)
                notebook.late_submission_penalty = HONEST_PENALTY if values is HONEST else 0.0
        gradebook.db.commit()


@pytest.fixture(scope="module")
def exported(released_course, tmp_path_factory):
    """{file name: rows}, {file name: raw text} and {file name: stderr} of grades.csv, canvas.csv, moodle.csv."""
    root = clone_course(released_course, tmp_path_factory.mktemp("csv_injection"))
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ['PATH']}"  # a new table: nbgrader's alembic
    # The roster's writer (the file check is tested below): the attackers' ids cannot pass it.
    roster.save([roster_row(values) for values in [HONEST, *ATTACKERS]], db_url(root))
    enter_submissions(db_url(root))
    runs = {
        "grades.csv": [],
        "canvas.csv": ["--exporter=cnnkit.results.lms.CanvasExport", f"--CanvasExport.assignment_ids={CANVAS_IDS}"],
        "moodle.csv": ["--exporter=cnnkit.results.lms.MoodleExport"],
    }
    rows, raw, logs = {}, {}, {}
    for name, settings in runs.items():
        logs[name] = run_nbgrader(root, "export", f"--to={root / name}", *settings).stderr
        raw[name] = (root / name).read_text(encoding="utf-8")
        with open(root / name, newline="", encoding="utf-8") as handle:
            rows[name] = list(csv.reader(handle))
    return rows, raw, logs


def text_cells(rows):
    return [cell for row in rows for cell in row]


@pytest.mark.parametrize("name", ["grades.csv", "canvas.csv", "moodle.csv"])
def test_no_cell_of_an_exported_file_starts_a_formula(exported, name):
    rows, _, _ = exported
    live = [cell for cell in text_cells(rows[name]) if cell.startswith(TRIGGERS)]
    assert live == []


def test_grades_csv_neutralises_every_attacker_field_and_keeps_scores_numbers(exported):
    rows, raw, _ = exported
    header, *body = rows["grades.csv"]
    by_id = {row[header.index("student_id")]: dict(zip(header, row)) for row in body}
    for student_id, first, last, email, *_ in ATTACKERS:
        row = by_id["'" + student_id]
        assert (row["first_name"], row["last_name"], row["email"]) == ("'" + first, "'" + last, "'" + email)
        assert (float(row["core_score"]), float(row["optional_score"]), float(row["score"])) == (27.77, 5.0, 32.77)
    # Scores are written as bare numbers (text cells are in double quotes): no quote, no apostrophe.
    lines = raw["grades.csv"].splitlines()
    assert sum(line.endswith('",27.77,100.0,5.0,50.0,32.77,0.0,32.77,150.0') for line in lines) == len(ATTACKERS)
    assert sum(line.endswith('",90.0,100.0,45.0,50.0,150.0,15.0,135.0,150.0') for line in lines) == 1


def test_grades_csv_row_of_the_honest_student_is_unchanged(exported):
    rows, _, _ = exported
    header, *body = rows["grades.csv"]
    [ada] = [dict(zip(header, row)) for row in body if row[header.index("student_id")] == "ada"]
    assert ada == {
        "assignment": course.ASSIGNMENT,
        "duedate": "",
        "timestamp": ada["timestamp"],
        "student_id": "ada",
        "last_name": "Lovelace",
        "first_name": "Ada",
        "email": "ada@uni.example",
        "core_score": "90.0",
        "core_max": "100.0",
        "optional_score": "45.0",
        "optional_max": "50.0",
        "raw_score": "150.0",
        "late_submission_penalty": "15.0",
        "score": "135.0",
        "max_score": "150.0",
    }


def test_canvas_csv_neutralises_names_ids_and_sections(exported):
    rows, raw, _ = exported
    header, points, *body = rows["canvas.csv"]
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "cnn_step_by_step (111)"]
    assert points == ["Points Possible", "", "", "", "", "150"]
    got = {tuple(row[1:5]) for row in body}
    for _, first, last, _, lms_id, sis_id, login, section in ATTACKERS:
        assert ("'" + lms_id, "'" + sis_id, "'" + login, "'" + section) in got
        [row] = [row for row in body if row[1] == "'" + lms_id]
        assert row[0] == f"'{last}, {first}" and row[5] == "32.77"
    assert ["Lovelace, Ada", "101", "S001", "alovelace", "Section A", "135"] in body
    lines = raw["canvas.csv"].splitlines()
    assert lines[1] == '"Points Possible","","","","",150'
    assert sum(line.endswith('",32.77') for line in lines) == len(ATTACKERS)
    assert '"Lovelace, Ada","101","S001","alovelace","Section A",135' in lines


def test_moodle_csv_neutralises_the_key_and_keeps_the_honest_row(exported):
    rows, _, _ = exported
    header, *body = rows["moodle.csv"]
    assert header == ["Email address", "cnn_step_by_step"]
    assert ["ada@uni.example", "135"] in body
    for _, _, _, email, *_ in ATTACKERS:
        assert ["'" + email, "32.77"] in body
    assert len(body) == 1 + len(ATTACKERS)


@pytest.mark.parametrize("name", ["canvas.csv", "moodle.csv"])
def test_lms_exports_warn_about_match_keys_that_got_a_quote(exported, name):
    """Canvas matches on ID / SIS ids, Moodle on the email: the instructor is told whose key was quoted."""
    _, _, logs = exported
    [warning] = [line for line in logs[name].splitlines() if "was written with a leading '" in line]
    assert all(values[0] in warning for values in ATTACKERS) and ": ada" not in warning and ", ada" not in warning


# --- the report's tables ----------------------------------------------------------------------


def attacker_submission(student):
    """A graded submission whose failure and problem texts are the student's own (exception text)."""
    found = read.Submission(
        student,
        graded=True,
        problems=[read.Problem(student, "crash", "conv_forward", "@SUM(1+1)")],
        flags=[{"reason": "-2+3", "where": HYPERLINK}],
    )
    failure = {"case": 1, "kind": "raised", "detail": DDE, "description": "=1+1", "visibility": "-x"}
    found.verdicts = {"zero_pad": {"function": "zero_pad", "passed": 0, "total": 1, "score": 0, "failures": [failure]}}
    return found


def test_report_tables_neutralise_student_text_and_keep_numbers(tmp_path):
    honest = read.Submission("ada", graded=True, problems=[], flags=[])
    honest.verdicts = {"zero_pad": {"function": "zero_pad", "passed": 1, "total": 1, "score": 10, "failures": []}}
    klass = [honest, *(attacker_submission(values[0]) for values in ATTACKERS)]
    tables = all_tables(klass, {"test_zero_pad": 10})
    report.write_tables(tmp_path, tables)
    for name in report.CSV_FILES:
        with open(tmp_path / name, newline="", encoding="utf-8") as handle:
            cells = text_cells(csv.reader(handle))
        assert [cell for cell in cells if cell.startswith(TRIGGERS)] == [], name
    with open(tmp_path / "problems.csv", newline="") as handle:
        problems = list(csv.DictReader(handle))
    assert {row["student"] for row in problems} == {"'" + values[0] for values in ATTACKERS}
    assert {row["detail"] for row in problems} == {"'@SUM(1+1)"}
    with open(tmp_path / "function_pass_rates.csv", newline="") as handle:
        zero_pad = next(csv.DictReader(handle))
    assert (zero_pad["points"], zero_pad["graded"], zero_pad["full_marks_rate"]) == ("10", "5", "0.2")
    with open(tmp_path / "students.csv", newline="") as handle:
        students = {row["student"]: row for row in csv.DictReader(handle)}
    assert students["ada"]["flags"] == "" and set(students) == {"ada", *("'" + v[0] for v in ATTACKERS)}
    assert set(FUNCTIONS) <= set(students["ada"])


# --- the helper, in-process -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, written",
    [
        (HYPERLINK, "'" + HYPERLINK),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("-2+3", "'-2+3"),
        (DDE, "'" + DDE),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-5", "'-5"),  # text that looks like a number is still text
        ("'=already quoted", "'=already quoted"),
        ("Ada Lovelace", "Ada Lovelace"),
        ("a=b", "a=b"),
        (" =1+1", " =1+1"),
        ("", ""),
        (None, ""),
    ],
)
def test_safe_cell_quotes_text_that_starts_a_formula(value, written):
    assert csv_cells.safe_cell(value) == written
    assert csv_cells.changes(value) == (written != ("" if value is None else value))


@pytest.mark.parametrize("value", [0, 52.77, -15.0, 135, 10**400, Decimal("7.5")])
def test_safe_cell_leaves_numbers_alone(value):
    assert csv_cells.safe_cell(value) is value
    assert not csv_cells.changes(value)


@pytest.mark.parametrize(
    "value, written",
    [(True, "True"), (float("-inf"), "'-inf"), (float("nan"), "nan"), (Decimal("-Infinity"), "'-Infinity")],
)
def test_bools_and_non_finite_floats_are_text(value, written):
    assert csv_cells.safe_cell(value) == written


def test_safe_writer_quotes_text_and_writes_numbers_bare():
    out = io.StringIO()
    writer = csv_cells.SafeWriter(out)
    writer.writerows([["student", "score"], ["-2+3", -1.5], ["x;=1+1", 52.77], [None, 0]])
    # A ';' inside a quoted cell cannot start a cell, even where a spreadsheet splits on ';'.
    assert out.getvalue().splitlines() == ['"student","score"', '"\'-2+3",-1.5', '"x;=1+1",52.77', '"",0']


def test_safe_dict_writer_checks_keys_like_csv_dict_writer():
    out = io.StringIO()
    writer = csv_cells.SafeDictWriter(out, ["student", "score"])
    writer.writeheader()
    writer.writerows([{"student": "@x", "score": 3}, {"student": "ann"}])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["student", "score"], ["'@x", "3"], ["ann", ""]]
    with pytest.raises(ValueError, match="fields not in the CSV header: grade"):
        writer.writerow({"student": "ann", "grade": 1})
