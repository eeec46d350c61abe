"""No data lost: backups before each batch, idempotent reruns, interrupted batches that resume."""

import os
import signal
import sqlite3
import subprocess
import time

import pytest

from cnnkit import course
from cnnkit.records.marker import FILE as MARKER
from cnnkit.results import scores
from cnnkit.spec import samples
from tests.support import BIN, clone_course, db_url, run_nbgrader

EXPECTED = {student: cells for student, (_, cells) in samples.SAMPLES.items()}
# The samples under other ids: a batch of several seconds each, long enough to interrupt in the middle.
STUDENTS = {f"{student}-1": cells for student, cells in EXPECTED.items()}
FORCED = "sample-partial-1"  # the student the forced rerun regrades


def prepared_course(released_course, root):
    clone_course(released_course, root)
    samples.write_samples(root)
    for student in EXPECTED:
        (root / "submitted" / student).rename(root / "submitted" / f"{student}-1")
    return root


def rounded(by_student):
    return {student: {k: round(v, 2) for k, v in cells.items()} for student, cells in by_student.items()}


def all_scores(root, url=None):
    return rounded({student: scores.cell_scores(url or db_url(root), student) for student in STUDENTS})


def processes_under(root):
    """Pids of live processes whose working directory is inside root (kernels run in autograded/)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/cwd").startswith(str(root) + "/"):
                    found.append(int(entry))
            except OSError:
                pass
    return found


def interrupt_midway(root, sig):
    """Start a batch, let one submission finish, then send sig to the whole process group."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    process = subprocess.Popen(
        [str(BIN / "nbgrader"), "autograde", course.ASSIGNMENT],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    while not list((root / "autograded").glob(f"*/{course.ASSIGNMENT}/{MARKER}")):
        assert process.poll() is None and time.monotonic() < deadline, "the batch ended before it could be interrupted"
        time.sleep(0.2)
    time.sleep(1.0)  # now inside the next submission
    os.killpg(process.pid, sig)
    process.wait(timeout=60)
    return process.returncode


def integrity_ok(root):
    with sqlite3.connect(root / "gradebook.db") as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["killed", "ctrl-c"])
def test_an_interrupted_batch_is_consistent_and_resumes(released_course, tmp_path, sig):
    root = prepared_course(released_course, tmp_path / "course")
    interrupt_midway(root, sig)
    assert integrity_ok(root)
    deadline = time.monotonic() + 20
    while processes_under(root) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert processes_under(root) == [], "kernels outlived the interrupted batch"
    finished = {p.parent.parent.name for p in (root / "autograded").glob(f"*/*/{MARKER}")}
    started = {p.parent.name for p in (root / "autograded").glob(f"*/{course.ASSIGNMENT}")}
    assert 0 < len(finished) < len(STUDENTS)

    resumed = run_nbgrader(root, "autograde", course.ASSIGNMENT)
    if started - finished:  # a half-graded folder was left behind: it must be redone, not skipped
        assert "regrading unfinished submissions" in resumed.stderr
    assert all_scores(root) == rounded(STUDENTS)
    assert len(list((root / "backups").glob("gradebook-*.db"))) == 2


def test_reruns_are_idempotent_and_each_batch_is_backed_up(released_course, tmp_path):
    root = prepared_course(released_course, tmp_path / "course")
    run_nbgrader(root, "autograde", course.ASSIGNMENT)
    first = all_scores(root)
    assert first == rounded(STUDENTS)
    again = run_nbgrader(root, "autograde", course.ASSIGNMENT)
    assert "Skipping existing assignment" in again.stdout + again.stderr
    # One student forced is a batch like any other (backed up first) and regrades from scratch.
    run_nbgrader(root, "autograde", course.ASSIGNMENT, "--force", "--student", FORCED)
    assert all_scores(root) == first
    backups = sorted((root / "backups").glob("gradebook-*.db"))
    assert len(backups) == 3
    # The last backup was taken before the forced rerun: it holds the first run's scores.
    assert all_scores(root, f"sqlite:///{backups[-1]}") == first
