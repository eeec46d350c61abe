"""A hostile classmate on the same course changes nothing: real Unix accounts, the real exchange, the real service.

One course set up as `make hub` sets it up (tests/hub/classroom.py), one run of the grading service
(--once, as the service's account) over two honest students and every attack at once:

- class 2, one student stops grading for everyone: empty and non-UTF-8 submission_secret.txt, 150 tiny
  extra files through plain `nbgrader submit`, an inbound name with non-UTF-8 bytes, a 1000-deep folder
  chain, a folder or a file the service may not read;
- class 3, another student's feedback overwritten: a link in inbound named with one's own id pointing at
  the victim's submitted folder, a secret or a notebook linked to the victim's, a submission in the
  victim's name;
- class 4, work finished after the deadline graded as on time: the notebook rewritten in place, or
  replaced by a rename, after the deadline;
- class 5, timestamps: a hand-written timestamp.txt three minutes back; then the instructor's
  `nbgrader collect --update` and the kit's autograde, which must neither grade an attempt the policy
  refused nor the content written after the service took its copy;
- class 7, log forging: names with a newline, ANSI escapes and a forged "graded" line.

The honest students are graded exactly as alone (150 of 150, no penalty) and get their own feedback.
"""

import datetime
import re

import nbformat
import pytest
from nbgrader.api import Gradebook

from cnnkit import course
from cnnkit.hub import unix
from cnnkit.policy import rules
from cnnkit.policy.ledger import State, as_time
from cnnkit.spec import notebook, samples, totals
from tests.hub.classroom import NB, Classroom, require_root_and_environment

pytestmark = pytest.mark.slow(90)  # one and a half minutes with real accounts: scheduled early (tests/conftest.py)

FULL = 150.0
LATE = 0.5  # the share of the score taken off for one started day late
MISTAKEN_RAW = sum(samples.SAMPLES["sample-partial"][1].values())
ROLES = ("zalice", "zbob", "mallory", "many", "rewriter", "renamer", "backdater", "eve", "impostor")
POLICY = ["c.SubmitPolicy.max_graded_attempts = 1", f"c.SubmitPolicy.late_penalty_per_day = {LATE}"]
NAME_TIME = "2026-01-01 00:00:00.000000 UTC"
RECORD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING|ERROR) (?P<message>.*)")  # the service's lines

# Plain file operations a student runs in their own exchange folder (argv[1] is that folder).
EMPTY_SECRET = "import sys; open(sys.argv[1] + '/submission_secret.txt', 'w').close()"
BINARY_SECRET = "import sys; open(sys.argv[1] + '/submission_secret.txt', 'wb').write(bytes([0xFF, 0xFE, 0x80]) + b'x')"
DEEP_CHAIN = "import os, sys\nos.chdir(sys.argv[1])\nfor _ in range(1000):\n    os.mkdir('d')\n    os.chdir('d')"
LOCK_FOLDER = "import os, sys; os.chmod(sys.argv[1], 0o700)"
LOCK_FILE = "import os, sys; os.chmod(sys.argv[1] + '/notes.txt', 0)"
LINK_IN_PLACE = "import os, sys; os.remove(sys.argv[1] + '/' + sys.argv[2]); os.symlink(sys.argv[3], sys.argv[1] + '/' + sys.argv[2])"
MAKE_FOLDER = (
    "import os, sys\nfolder = os.path.join(os.fsencode(sys.argv[1]), bytes.fromhex(sys.argv[2]))\nos.mkdir(folder)\n"
    "open(os.path.join(folder, b'submission_secret.txt'), 'w').write('a' * 128)"
)
MAKE_EMPTY_FOLDER = "import os, sys; os.mkdir(os.path.join(sys.argv[1], sys.argv[2]))"
MAKE_LINK = "import os, sys; os.symlink(sys.argv[3], os.path.join(sys.argv[1], sys.argv[2]))"
COPY_IN_PLACE = "import shutil, sys; shutil.copyfile(sys.argv[1], sys.argv[2])"
COPY_AND_RENAME = "import os, shutil, sys; shutil.copyfile(sys.argv[1], sys.argv[2] + '.new'); os.replace(sys.argv[2] + '.new', sys.argv[2])"
WRITE_TIMESTAMP = "import sys; open(sys.argv[1] + '/timestamp.txt', 'w').write(sys.argv[2])"


def answered(answers=lambda solutions: solutions):
    return notebook.fill_in(samples.release_notebook(), answers(notebook.solutions()))


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def hand_over(room, role, nb):
    """A notebook file in the student's home, theirs, to copy from as they like."""
    path = room.home(role) / f"draft-{len(list(room.home(role).glob('draft-*')))}.ipynb"
    nbformat.write(nb, str(path))
    unix.chown_tree(path, room.students[role], room.students[role])
    return path


@pytest.fixture(scope="module")
def room():
    require_root_and_environment()
    classroom = Classroom(ROLES, POLICY)
    try:
        yield classroom
    finally:
        classroom.remove()


@pytest.fixture(scope="module")
def served(room):
    """Every submission and attack made, then one run of the service; (room, its result, names, deadline)."""
    names = {}
    solutions, untouched = answered(), samples.release_notebook()
    # Before the deadline: the honest students, the student with many files, eve's two attempts (the second
    # past the attempt limit), and two students who submit the untouched release, to finish it later.
    names["zalice"] = room.submit("zalice", solutions)
    # A folder in bob's name that is never finished (no submission_secret.txt) must not hold bob's own up.
    unready = f"{room.students['zbob']}+{course.ASSIGNMENT}+{NAME_TIME}+NeverReady00"
    room.run_python_as("impostor", MAKE_EMPTY_FOLDER, room.inbound, unready)
    names["zbob"] = room.submit("zbob", solutions)
    names["many"] = room.submit("many", solutions, extra={f"note{i:03}.txt": b"x" for i in range(150)})
    names["eve-1"] = room.submit("eve", answered(samples.SAMPLES["sample-partial"][0]))
    names["eve-2"] = room.submit("eve", solutions)
    names["rewriter"] = room.submit("rewriter", untouched)
    names["renamer"] = room.submit("renamer", untouched)
    names["impostor"] = room.submit("impostor", solutions, student=room.students["zalice"])
    deadline = utc_now()
    room.add_policy([f'c.SubmitPolicy.deadline = "{deadline.isoformat(sep=" ")} UTC"'])

    # After the deadline: work finished late, and a timestamp written back by three minutes.
    room.run_python_as("rewriter", COPY_IN_PLACE, hand_over(room, "rewriter", solutions), names["rewriter"] / NB)
    room.run_python_as("renamer", COPY_AND_RENAME, hand_over(room, "renamer", solutions), names["renamer"] / NB)
    names["backdater"] = room.submit("backdater", solutions)
    back = (deadline - datetime.timedelta(minutes=3)).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    room.run_python_as("backdater", WRITE_TIMESTAMP, names["backdater"], back)

    # mallory: every way found to stop the service, reach another student's feedback or forge the log.
    attack = {}
    for variant, code in [("empty-secret", EMPTY_SECRET), ("binary-secret", BINARY_SECRET), ("deep", DEEP_CHAIN)]:
        attack[variant] = room.submit("mallory", solutions)
        room.run_python_as("mallory", code, attack[variant])
    attack["locked-folder"] = room.submit("mallory", solutions)
    room.run_python_as("mallory", LOCK_FOLDER, attack["locked-folder"])
    attack["locked-file"] = room.submit("mallory", solutions, extra={"notes.txt": b"mine"})
    room.run_python_as("mallory", LOCK_FILE, attack["locked-file"])
    bob = room.submitted("zbob")
    attack["secret-link"] = room.submit("mallory", solutions)
    room.run_python_as(
        "mallory", LINK_IN_PLACE, attack["secret-link"], "submission_secret.txt", bob / "submission_secret.txt"
    )
    attack["notebook-link"] = room.submit("mallory", solutions)
    room.run_python_as("mallory", LINK_IN_PLACE, attack["notebook-link"], NB, bob / NB)
    forged = f"2026-12-01 12:00:00,000 INFO {room.students['zbob']}: graded attempt 1: 150.00 of 150 (late penalty 0)"
    attack["newline-notebook"] = room.submit("mallory", solutions, name=f"x\n{forged}\n.ipynb")
    mallory = room.students["mallory"]
    raw_names = {
        "non-utf8": f"{mallory}+{course.ASSIGNMENT}+{NAME_TIME}+".encode() + b"\xff\xfe\x80abcdefghi",
        "newline": f"{mallory}+{course.ASSIGNMENT}+{NAME_TIME}+abcdefghijkl\n{forged}\x1b[8m".encode(),
        "ansi-id": f"\x1b[2K\r{room.students['zbob']}+{course.ASSIGNMENT}+{NAME_TIME}+abcdefghijkl".encode(),
    }
    for raw in raw_names.values():
        room.run_python_as("mallory", MAKE_FOLDER, room.inbound, raw.hex())
    attack["folder-link"] = room.inbound / f"{mallory}+{course.ASSIGNMENT}+{NAME_TIME}+LinkToAlice0"
    room.run_python_as("mallory", MAKE_LINK, room.inbound, attack["folder-link"].name, room.submitted("zalice"))

    result = room.run_service_once()
    return room, result, names, attack, raw_names, forged, deadline


def state_rows(room):
    state = State(room.course_dir, readonly=True)
    try:
        return {row["name"]: row for row in state.rows()}
    finally:
        state.close()


def official(room, role):
    with Gradebook(f"sqlite:///{room.course_dir / 'gradebook.db'}") as gradebook:
        found = totals.submission_totals(gradebook.find_submission(course.ASSIGNMENT, room.students[role]))
        return round(found.total, 4), round(found.penalty, 4)


def test_the_service_finishes_its_poll(served):
    _, result, *_ = served
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_the_honest_students_are_graded_as_alone_and_get_their_own_feedback(served):
    room, result, names, *_ = served
    for role in ("zalice", "zbob"):
        assert official(room, role) == (FULL, 0.0), result.stdout[-3000:]
        (page,) = room.fetch_feedback(role).values()
        assert "This submission (attempt 1): 150 of 150</li>" in page, role
        assert "not graded" not in page, role


def test_one_student_cannot_stop_or_spoil_the_others_submissions(served):
    """Each of mallory's attempts is recorded as not graded, with a reason that says what is wrong."""
    room, _, _, attack, *_ = served
    rows = state_rows(room)
    expected = {
        "empty-secret": "submission_secret.txt",
        "binary-secret": "submission_secret.txt",
        "deep": "nested",
        "locked-folder": "cannot be read",
        "locked-file": "cannot be read",
        "secret-link": "submission_secret.txt",
        "notebook-link": f"no notebook named {NB}",
        "newline-notebook": f"no notebook named {NB}",
        "folder-link": "not a folder",
    }
    for variant, words in expected.items():
        row = rows[attack[variant].name]
        assert row["status"] == "failed" and row["attempt"] is None, (variant, row)
        assert words in row["reason"], (variant, row["reason"])
    assert not room.submitted("mallory").exists()  # nothing of hers reached the course


def test_a_submission_with_many_extra_files_is_graded_and_its_feedback_released(served):
    room, _, names, *_ = served
    row = state_rows(room)[names["many"].name]
    assert (row["status"], row["score"]) == ("done", FULL)
    (page,) = room.fetch_feedback("many").values()
    assert "This submission (attempt 1): 150 of 150</li>" in page


def test_names_no_nbgrader_submit_makes_are_ignored_and_shown_escaped(served):
    room, *_ = served
    ignored = [row for row in state_rows(room).values() if row["status"] == "ignored"]
    assert len(ignored) == 3, ignored
    for row in ignored:
        assert row["reason"].isprintable() and row["reason"].isascii(), row["reason"]


def test_a_link_in_inbound_cannot_replace_another_students_feedback(served):
    room, _, _, attack, *_ = served
    (page,) = room.fetch_feedback("zalice").values()
    assert "This submission (attempt 1): 150 of 150</li>" in page
    row = state_rows(room)[attack["folder-link"].name]
    assert row["status"] == "failed" and "not a folder" in row["reason"]


def test_a_submission_in_another_students_name_is_refused(served):
    room, _, names, *_ = served
    row = state_rows(room)[names["impostor"].name]
    assert row["status"] == "refused" and room.students["impostor"] in row["reason"]
    assert official(room, "zalice") == (FULL, 0.0)


@pytest.mark.parametrize("role", ["rewriter", "renamer", "backdater"])
def test_work_finished_after_the_deadline_is_late_by_the_servers_clock(served, role):
    room, _, names, *_, deadline = served
    row = state_rows(room)[names[role].name]
    assert as_time(row["submitted_at"]) > deadline, (row["submitted_at"], deadline)
    assert (row["score"], row["penalty"]) == (FULL * (1 - LATE), FULL * LATE), row
    assert official(room, role) == (FULL * (1 - LATE), FULL * LATE)
    stamp = (room.submitted(role) / "timestamp.txt").read_text()
    assert stamp == rules.nbgrader_timestamp(as_time(row["submitted_at"]))  # the official time, for autograde


def test_the_log_holds_one_line_per_event_and_nothing_a_student_wrote_as_a_line(served):
    room, _, _, _, _, forged, _ = served
    log = room.service_log()
    assert "\x1b" not in log and "\r" not in log
    lines = log.splitlines()
    assert not [line for line in lines if line.startswith(forged)]
    records = [RECORD.match(line) for line in lines]
    assert all(records), [line for line, record in zip(lines, records) if not record][:3]
    bob = room.students["zbob"]
    assert [record["message"] for record in records if record["message"].startswith(f"{bob}: graded")] == [
        f"{bob}: graded attempt 1: 150.00 of 150 (late penalty 0)"
    ]


def test_every_submission_ends_graded_or_not_graded_with_a_reason(served):
    room, *_ = served
    rows = state_rows(room).values()
    assert {row["status"] for row in rows} <= {"done", "failed", "refused", "ignored"}, rows
    assert all(row["reason"] for row in rows if row["status"] != "done")


# ---------------------------------------------------------------- the instructor collects and regrades


@pytest.fixture(scope="module")
def regraded(served):
    """After the service: rewriter changes the notebook once more; then collect --update and autograde --force."""
    room, _, names, *_ = served
    room.run_python_as(
        "rewriter", COPY_IN_PLACE, hand_over(room, "rewriter", samples.release_notebook()), names["rewriter"] / NB
    )
    collect = room.as_grader(room.layout.env / "bin" / "nbgrader", "collect", "--update", course.ASSIGNMENT)
    students = [room.students[role] for role in ("eve", "rewriter", "zalice")]
    autograde = room.as_grader(room.layout.python, "-m", "cnnkit", "autograde", "--force", "--student", *students)
    return room, names, collect, autograde


def test_collect_brings_in_the_official_attempt_with_the_servers_time(regraded):
    room, names, collect, autograde = regraded
    assert collect.returncode == 0, collect.stdout + collect.stderr
    assert autograde.returncode == 0, autograde.stdout[-3000:] + autograde.stderr[-3000:]
    rows = state_rows(room)
    assert rows[names["eve-2"].name]["status"] == "refused"
    first = rows[names["eve-1"].name]
    stamp = (room.submitted("eve") / "timestamp.txt").read_text()
    assert stamp == rules.nbgrader_timestamp(as_time(first["submitted_at"])), (stamp, first)
    assert official(room, "eve") == (pytest.approx(MISTAKEN_RAW), 0.0)  # not the refused attempt's 150
    assert "refused" in collect.stdout + collect.stderr  # collect says why it left that attempt


def test_content_written_after_the_service_took_its_copy_is_never_graded(regraded):
    room, *_ = regraded
    assert official(room, "rewriter") == (FULL * (1 - LATE), FULL * LATE)
    assert official(room, "zalice") == (FULL, 0.0)
