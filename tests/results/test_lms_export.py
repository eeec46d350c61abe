"""LMS export: the roster import and the Canvas and Moodle files, made by the real nbgrader export.

The course is real (nbgrader generate_assignment on a copy of it); the grades are entered through
nbgrader's Gradebook API so that every score, penalty and missing submission is known exactly.
One last test exports what the real autograder gave the sample submissions.
"""

import csv
import os
import shutil
import subprocess
import sys
import warnings

import pytest
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning, StatementError

from cnnkit import cli, course
from cnnkit.results import roster
from cnnkit.spec import samples
from cnnkit.spec.parts import CORE
from tests.support import BIN, clone_course, db_url, run_nbgrader

ROSTER = """\
id,first_name,last_name,email,lms_user_id,sis_user_id,sis_login_id,section
ada,Ada,Lovelace,ada@uni.example,101,S001,alovelace,Section A
bob,Charles,Babbage,bob@uni.example,102,S002,cbabbage,Section B
grace,Grace,Hopper,grace@uni.example,,S003,,Section A
"""
# bob: the sample-partial cell scores (core 47.77, optional 5). ada: full marks, 15 points late penalty.
BOB_CELLS = {
    "test_zero_pad": 10,
    "test_conv_forward": 17.77,
    "test_pool_forward": 20,
    "test_create_mask_from_window": 5,
}
ADA_PENALTY = 15.0
QUIZ = "quiz"  # a second assignment, without core/optional parts: ada 7.5 / 10, nobody else
# In the copied course's nbgrader_config.py, the way docs/lms.md tells instructors to set it.
CONFIG_IDS = {course.ASSIGNMENT: "111", QUIZ: "200"}
CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


@pytest.fixture(scope="module", autouse=True)
def alembic_on_path():
    """A new gradebook is stamped by nbgrader running `alembic`: the venv's, as under `make test`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")
        yield


def run_roster(root, *args):
    """The real `python -m cnnkit roster` command, run from the course folder (the copy's cnnkit)."""
    return subprocess.run(
        [sys.executable, "-m", "cnnkit", "roster", *args], cwd=root, capture_output=True, text=True, check=False
    )


def enter_grades(url):
    """Submissions as the autograder would leave them: ada (late), bob (partial), ada's quiz."""
    with Gradebook(url, "cnn-step-by-step") as gradebook, warnings.catch_warnings():
        # add_submission builds its objects before adding them to the session: SQLAlchemy warns, harmlessly.
        warnings.simplefilter("ignore", SAWarning)
        gradebook.add_assignment(QUIZ, duedate="2030-01-01 00:00:00")  # after cnn_step_by_step (no due date)
        gradebook.add_notebook(QUIZ, QUIZ)
        gradebook.add_grade_cell("q1", QUIZ, QUIZ, max_score=10, cell_type="code")
        for student, assignment, cells, penalty in [
            ("ada", course.ASSIGNMENT, None, ADA_PENALTY),
            ("bob", course.ASSIGNMENT, BOB_CELLS, 0.0),
            ("ada", QUIZ, {"q1": 7.5}, 0.0),
        ]:
            submission = gradebook.add_submission(assignment, student)
            for notebook in submission.notebooks:
                notebook.late_submission_penalty = penalty
                for grade in notebook.grades:
                    grade.auto_score = grade.max_score if cells is None else cells.get(grade.cell.name, 0.0)
        gradebook.db.commit()


@pytest.fixture(scope="module")
def lms_course(released_course, tmp_path_factory):
    """A generated course, the roster imported with the real command, grades entered."""
    root = clone_course(released_course, tmp_path_factory.mktemp("lms"))
    (root / "roster.csv").write_text(ROSTER)
    result = run_roster(root, "roster.csv")
    assert result.returncode == 0, result.stderr
    assert "3 students added" in result.stdout
    enter_grades(db_url(root))
    with open(root / "nbgrader_config.py", "a") as handle:
        handle.write(f"\nc.CanvasExport.assignment_ids = {CONFIG_IDS!r}\n")
    return root


def export(root, exporter, *settings, check=True, db=None, path=None):
    """Run the real `nbgrader export` with a cnnkit.results.lms plugin: (rows of the CSV or None, result)."""
    path = path or root / "lms-export.csv"
    path.unlink(missing_ok=True)
    extra = [f"--db={db}"] if db else []
    result = run_nbgrader(
        root, "export", f"--exporter=cnnkit.results.lms.{exporter}", f"--to={path}", *extra, *settings, check=check
    )
    if not path.exists():
        return None, result
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle)), result


# --- Canvas -----------------------------------------------------------------------------------


def test_canvas_file_has_the_gradebook_import_layout(lms_course):
    rows, _ = export(lms_course, "CanvasExport")
    assert rows == [
        CANVAS_IDENTITY + ["cnn_step_by_step (111)", "quiz (200)"],
        ["Points Possible", "", "", "", "", "150", "10"],
        # Sorted by last name; the late penalty is taken off; no submission counts 0.
        ["Babbage, Charles", "102", "S002", "cbabbage", "Section B", "52.77", "0"],
        ["Hopper, Grace", "", "S003", "", "Section A", "0", "0"],
        ["Lovelace, Ada", "101", "S001", "alovelace", "Section A", "135", "7.5"],
    ]


def test_canvas_separate_parts_get_a_column_each_and_share_the_penalty(lms_course):
    ids = '{"cnn_step_by_step core": "111", "cnn_step_by_step optional": "112", "quiz": "200"}'
    rows, _ = export(lms_course, "CanvasExport", "--LmsExport.parts=separate", f"--CanvasExport.assignment_ids={ids}")
    assert rows[0] == CANVAS_IDENTITY + ["cnn_step_by_step core (111)", "cnn_step_by_step optional (112)", "quiz (200)"]
    assert rows[1] == ["Points Possible", "", "", "", "", "100", "50", "10"]
    assert [row[5:] for row in rows[2:]] == [["47.77", "5", "0"], ["0", "0", "0"], ["90", "45", "7.5"]]


def test_canvas_without_an_assignment_id_says_what_to_set_and_writes_nothing(lms_course):
    rows, result = export(
        lms_course,
        "CanvasExport",
        "--CanvasExport.parts=separate",
        '--CanvasExport.assignment_ids={"cnn_step_by_step core": "111"}',
        check=False,
    )
    assert result.returncode != 0
    assert rows is None
    assert 'c.CanvasExport.assignment_ids = {"cnn_step_by_step optional": "<Canvas assignment id>"' in result.stderr


def test_canvas_rejects_an_assignment_id_that_is_not_a_number(lms_course):
    rows, result = export(
        lms_course,
        "CanvasExport",
        '--CanvasExport.assignment_ids={"cnn_step_by_step": "CNN", "quiz": "1"}',
        check=False,
    )
    assert result.returncode != 0 and rows is None
    assert "'CNN' of cnn_step_by_step is not a number" in result.stderr


# --- Moodle -----------------------------------------------------------------------------------


def test_moodle_file_is_keyed_by_email_with_one_column_per_assignment(lms_course):
    rows, _ = export(lms_course, "MoodleExport")
    assert rows == [
        ["Email address", "cnn_step_by_step", "quiz"],  # no Points Possible row
        ["bob@uni.example", "52.77", "0"],
        ["grace@uni.example", "0", "0"],
        ["ada@uni.example", "135", "7.5"],
    ]


def test_moodle_idnumber_key_and_blank_missing_grades(lms_course):
    rows, _ = export(lms_course, "MoodleExport", "--MoodleExport.key_field=idnumber", "--LmsExport.missing=blank")
    assert rows == [
        ["ID number", "cnn_step_by_step", "quiz"],
        ["S002", "52.77", ""],
        ["S003", "", ""],
        ["S001", "135", "7.5"],
    ]


def test_moodle_separate_parts_and_the_assignment_and_student_filters(lms_course):
    rows, _ = export(
        lms_course,
        "MoodleExport",
        "--MoodleExport.parts=separate",
        f"--assignment={course.ASSIGNMENT}",
        "--student=bob",
    )
    assert rows == [
        ["Email address", "cnn_step_by_step core", "cnn_step_by_step optional"],
        ["bob@uni.example", "47.77", "5"],
    ]


def test_a_student_the_lms_cannot_match_stops_the_export_unless_skipped(lms_course):
    # grace has no sis_login_id, which is Moodle's username.
    rows, result = export(lms_course, "MoodleExport", "--MoodleExport.key_field=username", check=False)
    assert result.returncode != 0 and rows is None
    assert "1 student(s) have no username" in result.stderr and ": grace." in result.stderr
    rows, result = export(
        lms_course, "MoodleExport", "--MoodleExport.key_field=username", "--MoodleExport.skip_unmatched=True"
    )
    assert rows == [["Username", "cnn_step_by_step", "quiz"], ["cbabbage", "52.77", "0"], ["alovelace", "135", "7.5"]]
    assert "Left out" in result.stderr and "grace" in result.stderr


def test_a_student_missing_from_the_roster_stops_the_canvas_export(lms_course, tmp_path):
    """A student nbgrader knows (autograde adds them) but the roster does not: no Canvas id at all."""
    copy = tmp_path / "gradebook.db"
    shutil.copy(lms_course / "gradebook.db", copy)
    with Gradebook(f"sqlite:///{copy}") as gradebook:
        gradebook.add_student("walk-in", first_name="Wal", last_name="Kin")
    rows, result = export(lms_course, "CanvasExport", check=False, db=f"sqlite:///{copy}")
    assert result.returncode != 0 and rows is None
    assert "have no Canvas ID, SIS User ID or SIS Login ID" in result.stderr and "walk-in" in result.stderr


# --- roster import ------------------------------------------------------------------------------

HEADER = "id,first_name,last_name,email,lms_user_id,sis_user_id,sis_login_id,section\n"


def gradebook_students(url):
    """{id: (first, last, email, lms_user_id)} and the roster's extra fields, as stored."""
    with Gradebook(url) as gradebook:
        students = {s.id: (s.first_name, s.last_name, s.email, s.lms_user_id) for s in gradebook.students}
        return students, roster.lms_fields(gradebook)


@pytest.fixture(scope="module")
def one_student_db(tmp_path_factory):
    """A gradebook holding one imported student (made once: a new gradebook takes seconds)."""
    path = tmp_path_factory.mktemp("one-student") / "gradebook.db"
    roster.save([{field: f"{field}-0" for field in roster.COLUMNS} | {"id": "existing"}], f"sqlite:///{path}")
    return path


@pytest.fixture
def gradebook_url(one_student_db, tmp_path):
    """A fresh copy of one_student_db for one test: its URL."""
    shutil.copy(one_student_db, tmp_path / "gradebook.db")
    return f"sqlite:///{tmp_path / 'gradebook.db'}"


@pytest.mark.parametrize(
    "text, messages",
    [
        ("", ["the file is empty: it needs a header line (id, first_name"]),
        (HEADER, ["line 1: a header but no students below it"]),
        (
            "id,first_name,last_name,email,lms_user_id,sis_id\nann,A,B,a@x,1,S1\n",
            [
                "line 1: missing column(s) sis_user_id, sis_login_id, section; the header must name: id, first_name",
                "line 1: unknown column(s) sis_id; the columns are: id, first_name",
            ],
        ),
        ("id;first_name;last_name\nann;A;B\n", ["line 1: the columns are separated by ';'"]),
        (
            HEADER + "ann,Ann,Lee,ann@x,1,S1,alee,A\n\nann,Ann,Lee,other@x,1,S9,,A\n,No,Id,,,,,\nbo,Bo\n",
            [
                "line 4: id 'ann' is already used on line 2",
                "line 4: lms_user_id '1' is already used on line 2",
                "line 5: the id is empty",
                "line 6: 2 values but the header has 8 columns",
            ],
        ),
    ],
    ids=["empty-file", "header-only", "missing-and-unknown-columns", "semicolons", "duplicates-and-short-lines"],
)
def test_bad_roster_names_each_line_to_fix_and_writes_nothing(gradebook_url, tmp_path, capsys, text, messages):
    before = gradebook_students(gradebook_url)
    path = tmp_path / "roster.csv"
    path.write_text(text)
    assert cli.main(["roster", str(path), "--db", gradebook_url]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"{path}: nothing imported; fix the following and run the import again:")
    for message in messages:
        assert message in error
    assert len(error.strip().splitlines()) == 1 + len(messages)  # every problem, nothing else
    assert gradebook_students(gradebook_url) == before


UNSAFE_ROSTER = (
    HEADER
    + '"=HYPERLINK(""http://x"",""y"")",Eve,Il,,,,,\n'  # line 2
    + "-2+3,,,,,,,\n.hidden,,,,,,,\n../bob,,,,,,,\na b,,,,,,,\n"  # lines 3-6
    + "x" * 65
    + ",,,,,,,\nj\u00f6ns,,,,,,,\n"  # lines 7-8
    + 'ann,"Ann\x07",Lee,,,,,\nbea,Bea,"Lee\nSmith",,,,,\n'  # line 9; lines 10-11 (a quoted line break)
    + 'cy,Cy,Li,"c\ty@x",,,,"\u202eA"\n'  # line 12
    + "di,"
    + "D" * 129
    + ",Li,,,,,\n"  # line 13
)
UNSAFE_MESSAGES = [
    'line 2: the id \'=HYPERLINK("http://x","y")\' is not a valid student id: use 1 to 64 letters, digits, '
    "'.', '_', '-' or '@', not starting with '.' or '-'",
    "line 3: the id '-2+3' is not a valid student id",
    "line 4: the id '.hidden' is not a valid student id",
    "line 5: the id '../bob' is not a valid student id",
    "line 6: the id 'a b' is not a valid student id",
    f"line 7: the id '{'x' * 40}...' is not a valid student id",
    "line 8: the id 'j\u00f6ns' is not a valid student id",
    "line 9: first_name 'Ann\\x07' contains the control character U+0007: remove it",
    "line 11: last_name 'Lee\\nSmith' contains the control character U+000A: remove it",
    "line 12: email 'c\\ty@x' contains the control character U+0009: remove it",
    "line 12: section '\\u202eA' contains the control character U+202E: remove it",
    "line 13: first_name has 129 characters; at most 128 can be stored",
]


def test_roster_refuses_unsafe_ids_and_control_characters_and_writes_nothing(gradebook_url, tmp_path, capsys):
    """Ids become folder names and CSV cells; control characters hide or break what a name shows."""
    before = gradebook_students(gradebook_url)
    path = tmp_path / "roster.csv"
    path.write_text(UNSAFE_ROSTER, encoding="utf-8")
    assert cli.main(["roster", str(path), "--db", gradebook_url]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"{path}: nothing imported; fix the following and run the import again:")
    for message in UNSAFE_MESSAGES:
        assert message in error
    assert len(error.strip().splitlines()) == 1 + len(UNSAFE_MESSAGES)
    assert gradebook_students(gradebook_url) == before


def test_roster_accepts_usual_ids_and_names_and_stores_them_as_given(gradebook_url, tmp_path):
    """Dotted, email-like and numeric ids; accents, apostrophes, a name starting with '=' (text, quoted on export)."""
    path = tmp_path / "roster.csv"
    path.write_text(
        HEADER
        + "jane.doe@uni.edu,Jos\u00e9,O'Brien,jane.doe@uni.edu,7,S-1,jdoe,Section A\n"
        + "s_20240001,=Eve,-Smith,,,,,\n"
        + "A" * 64
        + ",\u674e,\u5a1c,,,,,\n",
        encoding="utf-8",
    )
    assert roster.import_roster(path, gradebook_url) == (3, 0)
    students, fields = gradebook_students(gradebook_url)
    assert students["jane.doe@uni.edu"] == ("Jos\u00e9", "O'Brien", "jane.doe@uni.edu", "7")
    assert students["s_20240001"] == ("=Eve", "-Smith", None, None)
    assert students["A" * 64] == ("\u674e", "\u5a1c", None, None)
    assert fields["jane.doe@uni.edu"] == {"sis_user_id": "S-1", "sis_login_id": "jdoe", "section": "Section A"}


def test_roster_command_line_reports_a_bad_file_and_leaves_the_gradebook_alone(lms_course, tmp_path):
    """The real command: the valid first student of a bad file is not written either."""
    bad = tmp_path / "roster.csv"
    bad.write_text(HEADER + "zoe,Zoe,Z,zoe@x,9,S9,zz,C\nbob,Bob,B,,,,,\nbob,Bob,B,,,,,\n")
    before = gradebook_students(db_url(lms_course))
    result = run_roster(lms_course, str(bad))
    assert result.returncode == 1
    assert "line 4: id 'bob' is already used on line 3" in result.stderr
    assert gradebook_students(db_url(lms_course)) == before


def test_roster_reimport_updates_the_students_it_names_and_keeps_the_others(lms_course, tmp_path):
    copy = tmp_path / "gradebook.db"
    shutil.copy(lms_course / "gradebook.db", copy)
    path = tmp_path / "roster.csv"
    path.write_text(HEADER + "bob,Charles,Babbage,charles@uni.example,102,S002,cbabbage,Section C\n")
    assert roster.import_roster(path, f"sqlite:///{copy}") == (0, 1)
    students, fields = gradebook_students(f"sqlite:///{copy}")
    assert students["bob"] == ("Charles", "Babbage", "charles@uni.example", "102")
    assert fields["bob"] == {"sis_user_id": "S002", "sis_login_id": "cbabbage", "section": "Section C"}
    assert students["ada"] == ("Ada", "Lovelace", "ada@uni.example", "101")  # not in this file: unchanged


def test_roster_is_written_in_one_transaction(gradebook_url):
    """A database error on the second student leaves no trace of the first (nor changes the others)."""
    before = gradebook_students(gradebook_url)
    good = {field: None for field in roster.COLUMNS} | {"id": "first"}
    unstorable = good | {"id": "second", "first_name": object()}  # SQLite cannot store it
    with pytest.raises(StatementError):
        roster.save([good | {"id": "existing"}, good, unstorable], gradebook_url)
    assert gradebook_students(gradebook_url) == before


# --- the real autograder's scores -----------------------------------------------------------------


def test_autograded_samples_export_with_the_scores_they_were_given(graded_course, tmp_path):
    """The session's autograded samples (conftest.graded_course), on a copy of its gradebook."""
    copy = tmp_path / "gradebook.db"
    shutil.copy(graded_course / "gradebook.db", copy)
    students = [*samples.SAMPLES, "master-as-submission"]
    path = tmp_path / "roster.csv"
    path.write_text(HEADER + "".join(f"{s},,,{s}@uni.example,,,,\n" for s in students))
    roster.import_roster(path, f"sqlite:///{copy}")
    rows, _ = export(
        graded_course,
        "MoodleExport",
        "--MoodleExport.parts=separate",
        *(f"--student={student}" for student in students),  # the batch also holds catalogue entries (conftest)
        db=f"sqlite:///{copy}",
        path=tmp_path / "moodle.csv",  # the session's course folder is shared: write nothing into it
    )
    expected = {name: cells for name, (_, cells) in samples.SAMPLES.items()} | {"master-as-submission": samples.FULL}
    core = {
        name: sum(v for k, v in cells.items() if k.removeprefix("test_") in CORE) for name, cells in expected.items()
    }
    assert rows[0] == ["Email address", "cnn_step_by_step core", "cnn_step_by_step optional"]
    got = {row[0].split("@")[0]: (float(row[1]), float(row[2])) for row in rows[1:]}
    assert got == {
        name: pytest.approx((core[name], sum(cells.values()) - core[name]), abs=0.01)
        for name, cells in expected.items()
    }
