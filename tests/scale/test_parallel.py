"""Parallel autograde (`python -m cnnkit autograde`) gives stock nbgrader's results, faster, and contains faults.

Three identical temporary courses with the same submissions (the samples, one that hangs in
a cell, one whose kernel exits): course A is graded by stock sequential `nbgrader autograde`,
course B by the kit's local pool (2 workers; B also holds a submission too slow for the
per-submission timeout, which is killed), course C on a real Dask cluster (a scheduler and
two workers started in folders of their own). One batch per mode.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from cnnkit import course
from cnnkit.spec import notebook, samples
from tests.support import BIN, clone_course, db_url, run_nbgrader

pytestmark = pytest.mark.slow(100)  # scheduled early, the longest first (tests/conftest.py)

CELL_TIMEOUT = 10  # Execute.timeout in the temporary courses, so that the hanging cell costs 10 s
KILL_AFTER = 40  # the kit's per-submission timeout in course B
TOO_SLOW = "asleep"  # sleeps 9 s in six answer cells, killed at KILL_AFTER (course B only; sorts first)


def answered(**replacements):
    """The release filled with the master's answers, some prefixed by the given code."""
    answers = notebook.solutions()
    answers = {**answers, **{name: code + answers[name] for name, code in replacements.items()}}
    return notebook.fill_in(samples.release_notebook(), answers)


def fault_submissions():
    """student -> notebook: a cell that hangs (interrupted at the cell timeout), a kernel that exits.

    It hangs asleep, not in a busy loop: the interruption is the same, and the three courses then leave the
    cores to the rest of the suite for their 3 x CELL_TIMEOUT seconds (tests/grading/test_faults.py has the
    busy loop).
    """
    return {
        "hangs": answered(zero_pad="import time\ntime.sleep(3600)\n"),
        "crashes": answered(conv_single_step="import os\nos._exit(1)\n"),
    }


def too_slow_submission():
    """Each cell stays under the cell timeout, the whole notebook does not stay under KILL_AFTER."""
    names = ("zero_pad", "conv_single_step", "conv_forward", "pool_forward", "conv_backward", "pool_backward")
    return answered(**{name: "import time\ntime.sleep(9)\n" for name in names})


def make_course(released_course, root, extra=None):
    """A course with the release generated, the samples and the fault submissions submitted."""
    clone_course(released_course, root)
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.Execute.timeout = {CELL_TIMEOUT}\n")
    samples.write_samples(root)
    for student, nb in {**fault_submissions(), **(extra or {})}.items():
        samples.write_submission(root, student, nb)
    return root


def run_kit(root, *args):
    """`python -m cnnkit autograde ...` in the course (its own copy of the kit); (result, seconds)."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "cnnkit", "autograde", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return result, time.perf_counter() - started


def gradebook_state(root):
    """student -> everything autograde writes: timestamp, per cell score / manual flag / comment, penalty."""
    from nbgrader.api import Gradebook

    state = {}
    with Gradebook(db_url(root)) as gradebook:
        for submission in gradebook.find_assignment(course.ASSIGNMENT).submissions:
            state[submission.student.id] = {
                "timestamp": submission.timestamp,
                "notebooks": {
                    nb.name: {
                        "penalty": nb.late_submission_penalty,
                        "grades": {g.name: (g.auto_score, g.needs_manual_grade, g.manual_score) for g in nb.grades},
                        "comments": {c.name: c.auto_comment for c in nb.comments},
                    }
                    for nb in submission.notebooks
                },
            }
    return state


def without_timings(value):
    """A notebook's JSON without what differs from run to run, stock nbgrader against itself too.

    Execution timestamps, cell ids, timings; the execution count of a cell that failed (when
    a cell kills its kernel, whether its count arrived first is a race); and how printed text
    was cut into stream messages (the kernel flushes stdout on a timer).
    """
    if isinstance(value, dict):
        failed = any(output.get("output_type") == "error" for output in value.get("outputs", []))
        drop = {"execution", "id", "seconds", *(("execution_count",) if failed else ())}
        return {k: without_timings(v) for k, v in value.items() if k not in drop}
    if isinstance(value, list):
        return [without_timings(v) for v in joined_streams(value)]
    return value


def joined_streams(items):
    """Consecutive stream outputs of one stream (stdout, stderr) as one output."""
    joined = []
    for item in items:
        previous = joined[-1] if joined else None
        if is_stream(item) and is_stream(previous) and item["name"] == previous["name"]:
            joined[-1] = {**previous, "text": previous["text"] + "".join(item["text"])}
        elif is_stream(item):
            joined.append({**item, "text": "".join(item["text"])})
        else:
            joined.append(item)
    return joined


def is_stream(item):
    return isinstance(item, dict) and item.get("output_type") == "stream"


def autograded_files(root, student):
    """relative path -> (mode, content) of a student's autograded folder; notebooks without timings."""
    folder = root / "autograded" / student / course.ASSIGNMENT
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        content = path.read_bytes()
        if path.suffix == ".ipynb":
            content = without_timings(json.loads(content))
        files[str(path.relative_to(folder))] = (path.stat().st_mode, content)
    return files


def processes_under(*folders):
    """Live processes whose working directory or command line lies in one of folders."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline", "cwd"]):
        text = " ".join(process.info["cmdline"] or []) + " " + (process.info["cwd"] or "")
        if any(str(folder) in text for folder in folders):
            found.append(f"{process.info['pid']}: {text[:200]}")
    return found


def wait_until_gone(folders, seconds=20):
    deadline = time.monotonic() + seconds
    while processes_under(*folders) and time.monotonic() < deadline:
        time.sleep(0.5)
    return processes_under(*folders)


def reported(stderr):
    """student -> (status, seconds) from the progress lines (one per finished submission)."""
    found = {}
    for match in re.finditer(r"  (\S+): ([a-z ]+) \((\d+\.\d) s\)$", stderr, re.MULTILINE):
        found[match.group(1)] = (match.group(2), float(match.group(3)))
    return found


STUDENTS = [*sorted(samples.SAMPLES), *sorted(fault_submissions())]


@pytest.fixture(scope="module")
def stock(released_course, tmp_path_factory):
    """Course A, graded by stock sequential nbgrader (it exits 0: the kit's Execute contains the faults)."""
    root = make_course(released_course, tmp_path_factory.mktemp("stock"))
    started = time.perf_counter()
    run_nbgrader(root, "autograde", course.ASSIGNMENT, check=False)
    print(f"stock nbgrader autograde: {len(STUDENTS)} submissions in {time.perf_counter() - started:.1f} s")
    return root


def temporary_json_files():
    """Files like the connection files jupyter_client writes with mkstemp (tmpXXXXXXXX.json)."""
    return set(Path(tempfile.gettempdir()).glob("tmp*.json"))


@pytest.fixture(scope="module")
def pool(released_course, tmp_path_factory):
    """Course B, graded by the kit's local pool with 2 workers; also holds the too slow submission."""
    root = make_course(released_course, tmp_path_factory.mktemp("pool"), {TOO_SLOW: too_slow_submission()})
    scratch = tmp_path_factory.mktemp("pool-scratch")
    before = temporary_json_files()
    result, seconds = run_kit(root, "--workers", "2", "--timeout", str(KILL_AFTER), "--scratch", str(scratch))
    print(f"kit, 2 workers: {len(STUDENTS) + 1} submissions in {seconds:.1f} s")
    return root, scratch, result, seconds, temporary_json_files() - before


def test_pool_gives_every_submission_exactly_the_stock_gradebook_rows(stock, pool):
    root, _, result, _, _ = pool
    expected, got = gradebook_state(stock), gradebook_state(root)
    for student in STUDENTS:
        assert got[student] == expected[student], f"{student}\n{result.stdout}\n{result.stderr}"


def test_pool_writes_the_stock_autograded_folders(stock, pool):
    root = pool[0]
    for student in STUDENTS:
        assert autograded_files(root, student) == autograded_files(stock, student), student


def test_samples_keep_their_known_scores_in_parallel(pool):
    from cnnkit.results import scores

    for student, (_, expected) in samples.SAMPLES.items():
        assert scores.cell_scores(db_url(pool[0]), student) == pytest.approx(expected)


def test_hanging_and_crashing_cells_cost_their_own_check_only(pool):
    state = gradebook_state(pool[0])
    grades = {s: state[s]["notebooks"][course.ASSIGNMENT]["grades"] for s in fault_submissions()}
    assert grades["hangs"]["test_zero_pad"][0] == 0 and grades["hangs"]["test_pool_forward"][0] == 40
    assert grades["crashes"]["test_conv_single_step"][0] == 0 and grades["crashes"]["test_zero_pad"][0] == 10


def test_a_too_slow_submission_is_killed_at_the_timeout_without_stalling_the_others(pool):
    root, scratch, result, seconds, _ = pool
    outcomes = reported(result.stderr)
    assert result.returncode == 1, result.stdout + result.stderr
    assert set(outcomes) == {*STUDENTS, TOO_SLOW}
    status, slow_seconds = outcomes[TOO_SLOW]
    assert status == "timed out" and KILL_AFTER <= slow_seconds < KILL_AFTER + 20
    assert all(outcomes[s][0] == "graded" for s in STUDENTS)
    # The others were graded while the slow one held its worker, not after it.
    assert seconds < slow_seconds + sum(outcomes[s][1] for s in STUDENTS)
    # Stock writes the submission before it runs it: so does the kit; no autograded folder, as for a failure.
    assert TOO_SLOW in gradebook_state(root)
    assert not (root / "autograded" / TOO_SLOW / course.ASSIGNMENT).exists()
    assert "timed out" in (root / "logs" / "autograde.log").read_text()
    assert wait_until_gone([scratch]) == []


def test_pool_skips_what_is_graded_unless_forced(pool):
    root = pool[0]
    result, _ = run_kit(root, "--student", "sample-complete", "--workers", "1")
    assert result.returncode == 0 and "Nothing to autograde" in result.stdout


def test_notebooks_ran_in_spare_kernels_with_the_stock_results(pool):
    """Grading processes start each next kernel ahead (cnnkit.grading.execute); the comparisons above cover those runs."""
    root, scratch, _, _, _ = pool
    log = (root / "logs" / "autograde.log").read_text()
    assert log.count("Running the notebook in the spare kernel started for it") >= 3
    assert wait_until_gone([scratch]) == []


def test_no_kernel_connection_file_is_left_behind_not_even_by_the_killed_submission(pool):
    assert pool[4] == set()


def outcome_statuses(root):
    data = json.loads((root / "logs" / "autograde-outcomes.json").read_text())
    assert data["assignment"] == course.ASSIGNMENT
    return {entry["student"]: entry["status"] for entry in data["outcomes"]}


def test_every_outcome_is_recorded_for_programs(pool):
    assert outcome_statuses(pool[0]) == {**{student: "graded" for student in STUDENTS}, TOO_SLOW: "timed out"}


def test_a_batch_backs_up_the_gradebook_and_regrades_what_an_interrupted_one_left(pool):
    """Runs last on course B: it rewrites the log. An autograded folder without the marker is regraded."""
    from cnnkit.records.marker import FILE as MARKER

    root = pool[0]
    backups = set((root / "backups").glob("gradebook-*.db"))
    assert backups  # the first batch's
    (root / "autograded" / "sample-partial" / course.ASSIGNMENT / MARKER).unlink()
    result, _ = run_kit(root, "--student", "sample-partial", "--workers", "1")
    assert "regrading unfinished submissions: sample-partial" in result.stderr, result.stderr
    progress = reported(result.stderr)
    assert set(progress) == {"sample-partial"} and progress["sample-partial"][0] == "graded"
    assert set((root / "backups").glob("gradebook-*.db")) > backups
    assert (root / "autograded" / "sample-partial" / course.ASSIGNMENT / MARKER).exists()
    # The others keep the record of the batch that graded them.
    assert outcome_statuses(root) == {**{student: "graded" for student in STUDENTS}, TOO_SLOW: "timed out"}


# ---- Dask: a real scheduler and two workers, in folders of their own. ----


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DaskCluster:
    """`dask scheduler` and two `dask worker` processes, each started in its own empty folder.

    The workers' environment has no PYTHONPATH and their folders are not the course: they can
    grade only with what the kit sends them.
    """

    def __init__(self, base):
        self.base = base
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        self.env["PATH"] = f"{BIN}{os.pathsep}{os.environ['PATH']}"
        self.processes = []

    def spawn(self, name, *args):
        folder = self.base / name
        folder.mkdir()
        log = open(folder / "log.txt", "w")
        self.processes.append(
            subprocess.Popen(
                [str(BIN / "dask"), *args],
                cwd=folder,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        log.close()

    def start(self):
        self.spawn("scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard")
        for index in (1, 2):
            folder = self.base / f"worker-{index}"
            self.spawn(
                f"worker-{index}",
                "worker",
                self.address,
                "--nthreads",
                "1",
                "--no-dashboard",
                "--local-directory",
                str(folder / "local"),
            )
        from distributed import Client

        with Client(self.address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=90)

    def stop(self):
        """SIGTERM every process group, then SIGKILL what is left; wait for all."""
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    cluster = DaskCluster(tmp_path_factory.mktemp("dask"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def test_dask_cluster_gives_the_stock_results_and_leaves_no_process(
    stock, dask_cluster, released_course, tmp_path_factory
):
    root = make_course(released_course, tmp_path_factory.mktemp("dask-course"))
    # Plain TCP on loopback, opted in; the TLS path: tests/scale/test_cluster_tls.py.
    result, seconds = run_kit(root, "--scheduler", dask_cluster.address, "--allow-plain-tcp-on-loopback")
    print(f"kit on Dask (2 workers): {len(STUDENTS)} submissions in {seconds:.1f} s")
    assert result.returncode == 0, result.stdout + result.stderr
    expected, got = gradebook_state(stock), gradebook_state(root)
    for student in STUDENTS:
        assert got[student] == expected[student], student
        assert autograded_files(root, student) == autograded_files(stock, student), student
    # The work happened in the workers' own folders, never in the course.
    assert list((dask_cluster.base / "worker-1" / "local").rglob("grader-*")) or list(
        (dask_cluster.base / "worker-2" / "local").rglob("grader-*")
    )
    dask_cluster.stop()
    assert wait_until_gone([dask_cluster.base, dask_cluster.address]) == []
