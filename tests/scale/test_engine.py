"""The grading engine, for real (grading processes, nbgrader, sandboxed kernels): jobs start as soon as a
process is free, outcomes come back as they finish with the caller's tag, and a stop hands back what waits."""

import pytest

from cnnkit import course
from cnnkit.records.outcomes import ERROR, GRADED
from cnnkit.results import scores
from cnnkit.scale.engine import STOPPED, Engine, Job
from cnnkit.spec import notebook, samples
from tests.support import clone_course, db_url

SLEEP = 20  # seconds the slow submission spends in one cell: far longer than grading a correct one


def answered(**prefixes):
    answers = notebook.solutions()
    return notebook.fill_in(samples.release_notebook(), {**answers, **{k: v + answers[k] for k, v in prefixes.items()}})


@pytest.fixture(scope="module")
def engine_course(released_course, tmp_path_factory):
    root = clone_course(released_course, tmp_path_factory.mktemp("engine") / "course")
    samples.write_submission(root, "slow", answered(zero_pad=f"import time\ntime.sleep({SLEEP})\n"))
    for student in ("fast-1", "fast-2", "waits-1", "waits-2"):
        samples.write_submission(root, student, answered())
    return root


def test_a_slow_submission_holds_no_other_and_each_outcome_comes_back_with_its_tag(engine_course):
    with Engine(engine_course, course.ASSIGNMENT, workers=2, keep_warm=True) as engine:
        engine.submit(Job("slow", tag="first in"))
        engine.submit(Job("fast-1", tag=1))
        engine.submit(Job("fast-2", tag=2, feedback=True))
        finished = []
        for done in engine.finished():
            finished.append(done)
            engine.record(done.outcome)
    assert [done.job.student for done in finished] == ["fast-1", "fast-2", "slow"]
    assert [done.job.tag for done in finished] == [1, 2, "first in"]
    assert all(done.outcome["status"] == GRADED for done in finished)
    assert finished[1].outcome["feedback"] is not None and finished[0].outcome["feedback"] is None
    totals = {
        student: sum(scores.cell_scores(db_url(engine_course), student).values()) for student in ("fast-1", "slow")
    }
    assert totals == {"fast-1": pytest.approx(150.0), "slow": pytest.approx(150.0)}


def test_stop_hands_back_what_still_waits_as_not_graded(engine_course):
    with Engine(engine_course, course.ASSIGNMENT, workers=1, force=True) as engine:
        for student in ("fast-1", "waits-1", "waits-2"):
            engine.submit(Job(student))
        engine.stop()  # the one process has taken fast-1 at most: grading takes seconds
        finished = {done.job.student: done.outcome for done in engine.finished()}
    assert set(finished) == {"fast-1", "waits-1", "waits-2"}
    assert [(finished[s]["status"], finished[s]["message"]) for s in ("waits-1", "waits-2")] == [(ERROR, STOPPED)] * 2
