"""The instructor's `nbgrader collect` on a course without the grading service applies the service's policy.

A real exchange, real `nbgrader submit` and the kit's collect plugin (nbgrader_config.py): of a student's
three submissions under an attempt limit of 2, collect brings in the second (the latest the policy accepts),
with the server's time, not the timestamp.txt the student wrote back to 2000, nor the third, refused one.
"""

import datetime

from cnnkit import course
from cnnkit.policy import rules
from cnnkit.spec import notebook
from tests.hub.support import NB, exchange_args, hub_course, mistaken, submit
from tests.support import run_nbgrader

POLICY = ["c.SubmitPolicy.max_graded_attempts = 2"]


def test_collect_without_the_service_brings_in_the_latest_accepted_attempt_at_the_servers_time(
    released_course, tmp_path
):
    root = hub_course(released_course, tmp_path, POLICY)
    submit(root, "kim", mistaken)
    before = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    second = submit(root, "kim")
    (second / "timestamp.txt").write_text("2000-01-01 00:00:00.000000 UTC")  # written back by hand
    submit(root, "kim", lambda solutions: {})  # the untouched release, past the attempt limit

    result = run_nbgrader(root, "collect", "--update", course.ASSIGNMENT, *exchange_args(root))

    collected = root / "submitted" / "kim" / course.ASSIGNMENT
    assert notebook.read(collected / NB) == notebook.read(second / NB), result.stdout + result.stderr
    stamp = rules.parse_time((collected / "timestamp.txt").read_text())
    assert stamp >= before - datetime.timedelta(seconds=1)  # the server's clock (ctime), not 2000
    log = result.stdout + result.stderr
    assert "refused by the course's policy: attempt limit reached: 2 of 2" in log
    assert "a later submission is the one the policy counts" in log  # the first attempt, and why not
