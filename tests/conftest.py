"""Fixtures: generated copies of the course, nbgrader run for real inside them; how the suite runs on two cores.

Session fixtures (each xdist worker builds its own, once, when a test first asks):
- released_course: the course after `nbgrader generate_assignment`. Never write into it: take a copy
  with support.clone_course (milliseconds, where generating takes seconds).
- graded_course: one autograde batch over every end-to-end fixture (see its docstring), feedback and
  grades.csv. Tests read it; a test that writes takes a copy.

pyproject.toml runs the suite on the machine's cores with pytest-xdist (--dist loadgroup). The hooks
below keep each expensive fixture on one worker: the tests that use graded_course form one group and
every module another. Groups that run real nbgrader are handed out first, the shared batch before all,
so that no long one is left for the end while the other worker idles.
"""

import os
import shutil
import tempfile

import nbformat
import pytest

from cnnkit import course
from cnnkit.sandbox import bwrap
from cnnkit.spec import notebook, samples
from tests.spec import catalogue
from tests.support import clone_course, copy_course, run_nbgrader

COURSE_ID = "cnn-step-by-step"
SHARED_BATCH = "graded_course"
# Tests that use one of these start real nbgrader work: their groups are scheduled before the quick ones,
# as are the groups of tests marked slow (long without a course fixture).
REAL_COURSE_FIXTURES = {SHARED_BATCH, "released_course"}


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def released_course(tmp_path_factory):
    """A course folder after `nbgrader generate_assignment` (release/ and gradebook.db); read-only."""
    root = copy_course(tmp_path_factory.mktemp("released"))
    run_nbgrader(root, "generate_assignment", course.ASSIGNMENT, "--force")
    return root


@pytest.fixture(scope="session")
def graded_course(released_course, tmp_path_factory):
    """The course after ONE autograde batch, generate_feedback and `nbgrader export --to grades.csv`.

    The batch holds every submission the end-to-end tests look at:
    - the samples (samples.SAMPLES) and the master notebook itself ("master-as-submission");
    - the catalogue entries in catalogue.REAL_NBGRADER (tests/spec/test_catalogue.py compares them
      with in-process judging);
    - one submission that went through the exchange: release_assignment, fetch_assignment and
      submit as the current user, then collect (tests/e2e/test_exchange.py). The exchange folder is
      graded_course.parent / "exchange", the student's home graded_course.parent / "student".
    """
    base = tmp_path_factory.mktemp("graded")
    root = clone_course(released_course, base / "course")
    samples.write_samples(root)
    samples.write_submission(root, "master-as-submission", notebook.read(course.MASTER))
    release, solutions = samples.release_notebook(), notebook.solutions()
    for entry in catalogue.REAL_NBGRADER:
        samples.write_submission(root, entry, notebook.fill_in(release, catalogue.entry_answers(entry, solutions)))
    submit_through_the_exchange(root, base / "exchange", base / "student")
    run_nbgrader(root, "autograde", course.ASSIGNMENT)
    run_nbgrader(root, "generate_feedback", course.ASSIGNMENT)
    run_nbgrader(root, "export", "--to", str(root / "grades.csv"))
    return root


def submit_through_the_exchange(root, exchange, student_home):
    """Release to a local exchange, fetch, answer with the master's solutions, submit, collect into submitted/."""
    exchange.mkdir()
    student_home.mkdir()
    where = [f"--Exchange.root={exchange}", f"--course={COURSE_ID}"]
    run_nbgrader(root, "release_assignment", course.ASSIGNMENT, *where)
    run_nbgrader(root, "fetch_assignment", course.ASSIGNMENT, *where, cwd=student_home)
    fetched = student_home / course.ASSIGNMENT / f"{course.ASSIGNMENT}.ipynb"
    nbformat.write(notebook.fill_in(notebook.read(fetched), notebook.solutions()), str(fetched))
    run_nbgrader(root, "submit", course.ASSIGNMENT, *where, cwd=student_home)
    run_nbgrader(root, "collect", course.ASSIGNMENT, *where)


# ---------------------------------------------------------------- running on several cores (pytest-xdist)

_PRIVATE_TMP = pytest.StashKey[str]()


def pytest_configure(config):
    """Each xdist worker gets its own TMPDIR and sandbox user, inherited by every nbgrader, kernel and launcher.

    Kernels write their connection files (tmp*.json) in TMPDIR: tests that check that none is left
    behind then see only their own worker's. (Socket folders go to /tmp itself: cnnkit/sandbox/socketdir.py.)
    Sandboxes run as root share their user's processes (RLIMIT_NPROC counts them machine-wide; each sandbox
    gets its budget on top, docs/security.md): a user per worker keeps the fork bomb of tests/sandbox apart
    from the kernels another worker starts.
    """
    worker = getattr(config, "workerinput", {}).get("workerid")
    if worker is None:
        return
    private = tempfile.mkdtemp(prefix=f"cnnkit-tests-{worker}-")
    config.stash[_PRIVATE_TMP] = private
    os.environ["TMPDIR"] = private
    tempfile.tempdir = None  # forget the folder tempfile chose before
    os.environ[bwrap.UID_ENV] = str(bwrap.Settings.uid - 1 - int(worker.removeprefix("gw")))


def pytest_unconfigure(config):
    private = config.stash.get(_PRIVATE_TMP, None)
    if private:
        shutil.rmtree(private, ignore_errors=True)


def pytest_xdist_auto_num_workers(config):
    """`-n auto`: one worker more than this machine has cores (--maxprocesses still caps it).

    About a fifth of the suite's time is spent waiting, not computing: on browsers, on hubs and servers
    coming up, on cells that sleep until their timeout. With a worker per core the cores then idle (seen
    with vmstat: 18 % idle over a 2-worker run); the extra worker computes meanwhile. Measured on 2 cores:
    593 s with 2 workers, 553 s with 3. PYTEST_XDIST_AUTO_NUM_WORKERS still overrides this.
    """
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    return len(os.sched_getaffinity(0)) + 1


def xdist_group(item):
    """The tests that must run in one worker: every user of the shared batch, otherwise a test's module.

    A whole module stays on one worker so that its module-scoped fixtures (a course graded for that
    module, a server) are built once; xdist then hands out the groups to whichever worker is free.
    """
    return SHARED_BATCH if SHARED_BATCH in item.fixturenames else item.nodeid.split("::")[0]


def is_long(item):
    """True for a test that starts real nbgrader work (a course fixture) or is marked slow."""
    return bool(REAL_COURSE_FIXTURES & set(item.fixturenames)) or item.get_closest_marker("slow") is not None


def seconds(item):
    """What `slow(seconds)` says its group takes on 2 busy cores (0 when it does not say)."""
    marker = item.get_closest_marker("slow")
    return marker.args[0] if marker is not None and marker.args else 0


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook turns the marks into scheduling groups
def pytest_collection_modifyitems(items):
    """Mark each item's xdist group; run the shared batch first, then the groups that run real nbgrader.

    Among those, the longest first (as `slow(seconds)` says): a long group handed out last keeps one worker
    busy while the others have nothing left to do. The sort is stable and by group: the tests of a group
    keep their order and stay together.
    """
    groups = {item: xdist_group(item) for item in items}
    long_groups = {group for item, group in groups.items() if is_long(item)}
    length = {}
    for item, group in groups.items():
        item.add_marker(pytest.mark.xdist_group(group))
        length[group] = max(length.get(group, 0), seconds(item))

    def order(item):
        group = groups[item]
        return (0 if group == SHARED_BATCH else 1 if group in long_groups else 2), -length[group]

    items.sort(key=order)


def pytest_terminal_summary(terminalreporter):
    """Print the one-line summaries tests recorded with record_property("summary", ...), also from workers."""
    lines = [
        value
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        for name, value in getattr(report, "user_properties", [])
        if name == "summary"
    ]
    if lines:
        terminalreporter.section("summaries")
        for line in lines:
            terminalreporter.write_line(str(line))
