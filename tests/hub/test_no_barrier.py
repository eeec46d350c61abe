"""A slow submission holds up no one: what arrives while it is being graded is graded and released at once.

The service used to grade in batches, and whatever arrived during a batch waited for the whole batch: one
submission that slept inside its time budget delayed every later student's feedback by minutes (issue 18,
class 4). Now each submission goes to the grading engine as soon as it is accepted.
"""

import signal
import sqlite3
import subprocess
import time

from tests.hub.support import hub_course, service_command, service_env, submit

SLEEP = 60  # seconds the slow submission spends in one cell, well inside its time budget


def slow_answers(solutions):
    return {**solutions, "zero_pad": f"import time\ntime.sleep({SLEEP})\n" + solutions["zero_pad"]}


def statuses(root):
    """{student: (status, events)} of the running service's state file (empty before it exists)."""
    try:
        with sqlite3.connect(f"file:{root / 'logs' / 'submit-service.sqlite'}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT name, student, status FROM submissions").fetchall()
            events = db.execute("SELECT name, event FROM events").fetchall()
    except sqlite3.OperationalError:
        return {}
    return {student: (status, {e for n, e in events if n == name}) for name, student, status in rows}


def wait_for(root, test, what, deadline=600):
    """Poll the state file until test(statuses) holds; the statuses then."""
    started = time.monotonic()
    while time.monotonic() - started < deadline:
        found = statuses(root)
        if test(found):
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {deadline} s: {statuses(root)}")


def test_a_submission_made_while_a_slow_one_is_graded_is_released_first(released_course, tmp_path):
    root = hub_course(released_course, tmp_path, [])
    service = subprocess.Popen(service_command(root, "--poll", "0.5"), cwd=root, env=service_env())
    try:
        submit(root, "sloth", slow_answers)
        wait_for(root, lambda found: "dispatched" in found.get("sloth", ("", set()))[1], "the slow one's grading")
        submit(root, "swift")
        found = wait_for(root, lambda found: found.get("swift", ("",))[0] in ("released", "done"), "swift's feedback")
        assert found["sloth"][0] == "accepted", found  # still being graded: swift did not wait for it
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=60)
