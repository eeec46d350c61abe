"""The service killed (SIGKILL) in the middle of grading, then restarted: nothing lost, nothing graded twice."""

import os
import signal
import sqlite3
import subprocess
import time

from cnnkit.policy.ledger import PATH, State
from tests.hub.support import (
    fetch_feedback,
    hub_course,
    mistaken,
    run_service_once,
    service_command,
    service_env,
    submit,
)

STUDENTS = {"erin": None, "frank": mistaken, "gina": None}


def graded_count(root):
    """How many gradings the running service has stored (0 before its state file exists)."""
    try:
        with sqlite3.connect(f"file:{root / PATH}?mode=ro", uri=True) as db:
            return db.execute("SELECT count(*) FROM events WHERE event = 'graded'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def kill_while_grading(root, deadline_seconds=600):
    """Start the service, SIGKILL it as soon as it stored its first grading; {student: status} at that moment.

    With 3 submissions and 2 grading processes, the others are then being graded or waiting.
    """
    service = subprocess.Popen(
        service_command(root, "--poll", "0.5"),
        cwd=root,
        env=service_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        started = time.monotonic()
        while graded_count(root) == 0:
            assert service.poll() is None, "the service stopped by itself"
            assert time.monotonic() - started < deadline_seconds, "the service never started grading"
            time.sleep(0.05)
        os.kill(service.pid, signal.SIGKILL)
        service.wait()
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()
    state = State(root, readonly=True)
    try:
        return {row["student"]: row["status"] for row in state.rows()}
    finally:
        state.close()


def test_a_service_killed_while_grading_resumes_and_grades_each_submission_once(released_course, tmp_path):
    root = hub_course(released_course, tmp_path, [])
    for student, answers in STUDENTS.items():
        submit(root, student, answers)

    at_kill = kill_while_grading(root)
    assert set(at_kill) == set(STUDENTS)
    assert any(status != "accepted" for status in at_kill.values()), at_kill  # one graded before the kill
    assert any(status == "accepted" for status in at_kill.values()), at_kill  # and one still being graded

    run_service_once(root)
    state = State(root, readonly=True)
    rows = state.rows()
    graded = sorted(event["name"] for event in state.events(event="graded"))
    released = sorted(event["name"] for event in state.events(event="released"))
    dispatches = {row["name"]: len(state.events(name=row["name"], event="dispatched")) for row in rows}
    state.close()
    assert [row["status"] for row in rows] == ["done"] * len(STUDENTS)
    assert graded == released == sorted(row["name"] for row in rows)  # each exactly once
    for row in rows:  # one graded before the kill was not sent to grading again after the restart
        sent = dispatches[row["name"]]
        assert sent == (1 if at_kill[row["student"]] != "accepted" else 2), (row["student"], at_kill, sent)
    outbound = root.parent / "exchange" / "cnn-step-by-step" / "feedback"
    assert len(list(outbound.iterdir())) == len(STUDENTS)  # one page per submission, no leftovers
    for student in STUDENTS:
        (page,) = fetch_feedback(root, student).values()
        assert "This submission (attempt 1)" in page
    assert not processes_of(root)  # the killed service's grading processes and kernels did not outlive it


def processes_of(root):
    """Live processes whose command line names the course (grading processes, their kernels)."""
    import psutil

    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(str(root) in part for part in process.info["cmdline"] or ()):
            found.append(process)
    return found
