"""The one grading engine: jobs in a queue, warm grading processes, each job's outcome as soon as it is done.

Every path that grades goes through it: ``make autograde`` (cnnkit.scale.coordinator), the hub's grading
service (cnnkit.hub.service) and a Dask cluster (cnnkit.scale.dask)::

    engine = Engine(root, assignment, workers=2)            # grading processes start warming up now
    engine.submit(Job("alice", feedback=True, tag=name))    # any time; starts when a process is free
    done = engine.next_finished(timeout=2)                  # a Finished (job, outcome), or None
    engine.record(done.outcome)                             # into the course: the engine is its one writer
    engine.close()

There are no batches: a job starts as soon as a grading process is free, whatever was submitted
before it, and its outcome is handed back as soon as it is made. A job carries everything it needs,
taken when it is submitted: the submission's folder (bytes), the gradebook snapshot it starts from,
whether to make the feedback page, and the caller's tag (returned untouched). Its outcome is the
record documented in cnnkit.records.outcomes.

The course's start step (cnnkit.scale.course_start: gradebook backup, admission, unfinished work
cleared) runs once, when the engine opens the course; admission runs again for each job, on that
student's folder only. The engine writes nothing into the course but through ``record``, called by
its owner's thread.
"""

import os
import queue
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnnkit.grading import time_policy
from cnnkit.records.outcomes import ERROR, Outcome, failure
from cnnkit.scale import course_start
from cnnkit.scale.course_view import Course
from cnnkit.scale.pool import GradingProcess
from cnnkit.scale.transport import course_bundle, course_fingerprint, gradebook_snapshot, write_once

STOPPED = "not graded: grading was stopped before this submission started"

# The public API, for the hub's grading service and the coordinator. Outcomes carry folders as
# cnnkit.records.packed bytes, which a caller keeping them (the hub's ledger) unpacks with that module.
__all__ = ["Engine", "Finished", "Job", "STOPPED", "default_timeout"]


@dataclass(frozen=True)
class Job:
    """One submission to grade: whose, whether to make its feedback page too, and the caller's tag."""

    student: str
    feedback: bool = False
    tag: Any = None  # the caller's own (the hub: the submission's name); never read by the engine


@dataclass(frozen=True)
class Finished:
    """A job and its outcome (cnnkit.records.outcomes)."""

    job: Job
    outcome: Outcome


@dataclass
class Work:
    """A job as a grading process receives it: the job and its payload (bytes and paths, no objects)."""

    job: Job
    payload: dict = field(default_factory=dict)


class Engine:
    """Grading for the course at root: submit jobs, take outcomes as they finish, record them.

    workers: grading processes (default: one per core). cluster: a cnnkit.scale.dask.ClusterRunner
    to grade on Dask instead. keep_warm: every grading process keeps a kernel booted for its next
    job even when nothing waits (a service that grades submissions as they come); otherwise only
    while jobs wait. timeout: seconds before a submission's grading process is killed (default: the
    time policy's, from the course's config). force: the Course's selection rule (`--force`).
    scratch: the folder for the grading processes' scratch courses (default: a temporary one, removed
    at close).
    """

    def __init__(
        self, root, assignment, workers=None, *, cluster=None, keep_warm=False, timeout=None, force=False, scratch=None
    ):
        self.root, self.assignment = Path(root).resolve(), assignment
        self.keep_warm = keep_warm
        self.own_scratch = scratch is None
        self.scratch = Path(scratch or tempfile.mkdtemp(prefix="cnnkit-engine-"))
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.todo, self.done = queue.Queue(), queue.Queue()
        self.stopped = threading.Event()
        self.pending = 0  # submitted and not yet handed back
        self._snapshot = None  # (signature of the gradebook file, (digest, path))
        self.course = None
        self.fixed_timeout = timeout
        self.fingerprint = course_fingerprint(self.root)
        self.bundle = self._write_bundle()
        self.runner = cluster or LocalRunner(workers or len(os.sched_getaffinity(0)))
        try:
            self.runner.start(self)  # processes import nbgrader and boot a kernel while the course is read
            course_start.prepare(self.root, assignment)
            self.course = Course(self.root, assignment, force)
            self.timeout = timeout or default_timeout(self.course)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ the caller's side

    def submit(self, job):
        """Queue job; it starts as soon as a grading process is free. Its folder is read now."""
        course_start.admit_one(self.root, self.assignment, job.student)
        digest, snapshot_path = self.snapshot()
        payload = {
            **self.course.job(job.student, str(snapshot_path)),
            "snapshot_digest": digest,
            "feedback": job.feedback,
        }
        self.pending += 1
        self.todo.put(Work(job, payload))

    def next_finished(self, timeout=None):
        """The next Finished job (in the order they finish); None if none finished within timeout seconds."""
        if self.pending == 0:
            return None
        try:
            finished = self.done.get(timeout=timeout)
        except queue.Empty:
            return None
        self.pending -= 1
        return finished

    def finished(self):
        """Every submitted job's Finished, as each one finishes, until none is pending."""
        while self.pending:
            yield self.next_finished()

    def record(self, outcome):
        """Bring an outcome into the course: its gradebook rows, autograded folder and, when the job asked
        for it, its feedback folder. The engine is the course's one writer: call from one thread."""
        self.course.record(outcome)

    def put_back(self, outcome, submitted=None, feedback=None):
        """Put a stored attempt back into the course: its outcome (as record), its submitted and feedback
        folders (pack() bytes). After this the course is as if that attempt had been the last one graded,
        so `make autograde` finds nothing new, and regrading it (FORCE=1) gives the same scores."""
        self.course.put_back(outcome, submitted, feedback)

    def refresh(self):
        """Take up changes of the course's files (config, kit, source, release): new jobs use them.

        Cheap when nothing changed (the files' sizes and times are compared first). A grading process
        finishing a job with the old files is replaced before its next one.
        """
        fingerprint = course_fingerprint(self.root)
        if fingerprint == self.fingerprint:
            return
        self.fingerprint = fingerprint
        digest, _data = course_bundle(self.root)
        if digest != self.bundle[0]:
            self.bundle = self._write_bundle()
            self.course.close()
            self.course = Course(self.root, self.assignment, force=True)
            self.timeout = self.fixed_timeout or default_timeout(self.course)
            self.runner.refresh(self)

    def stop(self):
        """No new job starts; those still queued come back as not graded (the running ones finish or are killed)."""
        self.stopped.set()
        while True:
            try:
                work = self.todo.get_nowait()
            except queue.Empty:
                return
            self.hand_back(work.job, failure(work.job.student, ERROR, STOPPED))

    def close(self):
        """Stop, end every grading process and its kernels, remove the scratch folders."""
        self.stop()
        self.runner.close()
        if self.course is not None:
            self.course.close()
        if self.own_scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *_exception):
        self.close()

    # ------------------------------------------------------------ the runners' side

    def next_work(self, wait=0.5):
        """The next queued Work for a runner, or None after wait seconds (or once stopped)."""
        if self.stopped.is_set():
            return None
        try:
            return self.todo.get(timeout=wait)
        except queue.Empty:
            return None

    def wants_spare(self):
        """Whether a grading process should boot a kernel for its next job now."""
        return self.keep_warm or not self.todo.empty()

    def hand_back(self, job, outcome):
        self.done.put(Finished(job, outcome))

    # ------------------------------------------------------------ what jobs start from

    def snapshot(self):
        """(digest, path) of a gradebook snapshot as the gradebook is now (a new one only after it changed).

        Grading processes start each job from it: due dates, extensions and the assignment's cells as
        the course has them when the job is submitted.
        """
        signature = gradebook_signature(self.course.sqlite_path())
        if self._snapshot is None or self._snapshot[0] != signature:
            digest, data = gradebook_snapshot(self.course.sqlite_path())
            self._snapshot = signature, (digest, write_once(self.scratch / f"gradebook-{digest}.db", data))
        return self._snapshot[1]

    def _write_bundle(self):
        """(digest, path) of the course bundle grading processes unpack (nbgrader_config.py, kit, source, release)."""
        digest, data = course_bundle(self.root)
        return digest, write_once(self.scratch / f"course-{digest}.tar.gz", data)


def gradebook_signature(path):
    """What changes whenever SQLite writes the gradebook: size and time of the file and its write-ahead log."""
    found = []
    for name in (path, Path(f"{path}-wal")):
        try:
            info = os.stat(name)
            found.append((info.st_size, info.st_mtime_ns))
        except FileNotFoundError:
            found.append(None)
    return tuple(found)


def default_timeout(course):
    """Seconds a submission may take before its grading process is killed: the time policy's kill_after.

    Stock nbgrader bounds a notebook by its config (ContainedExecute.notebook_budget, else
    Execute.timeout per code cell); the kill comes well after that bound.
    """
    config = course.app.config
    budget = config.ContainedExecute.get("notebook_budget")
    cells = 1 if budget else course.code_cells()  # counted only when no notebook budget bounds the notebook
    return time_policy.kill_after(budget, config.Execute.get("timeout"), cells)


class LocalRunner:
    """Grading processes on this machine, one thread each, every thread taking the next job when it is free."""

    def __init__(self, workers):
        self.workers = workers
        self.processes, self.threads = [], []

    def start(self, engine):
        for index in range(self.workers):
            process = self._new_process(engine)
            process.start()
            self.processes.append(process)
            thread = threading.Thread(target=self._serve, args=(engine, index), daemon=True, name=f"grader-{index}")
            self.threads.append(thread)
        for thread in self.threads:
            thread.start()

    @staticmethod
    def _new_process(engine):
        workspace = Path(tempfile.mkdtemp(prefix="grader-", dir=engine.scratch))
        return GradingProcess(engine.bundle[1], workspace)

    def _serve(self, engine, index):
        """One grading process's thread: take a job, grade it, hand the outcome back; until the engine stops."""
        while not engine.stopped.is_set():
            work = engine.next_work()
            if work is None:
                continue
            process = self.processes[index]
            if process.bundle_path != engine.bundle[1]:  # the course changed: a process with its new files
                process.close()
                process = self.processes[index] = self._new_process(engine)
            started = time.perf_counter()
            try:
                outcome = process.grade({**work.payload, "spare_kernel": engine.wants_spare()}, engine.timeout)
            except Exception as error:  # the kit's own failure: report it with its cause, keep serving
                seconds = time.perf_counter() - started
                outcome = failure(work.job.student, ERROR, f"{type(error).__name__}: {error}", seconds)
            engine.hand_back(work.job, outcome)

    def refresh(self, engine):
        """Nothing to do now: each thread replaces its process before its next job (see _serve)."""

    def close(self):
        for process in self.processes:
            process.release()  # idle ones shut their spare kernel down and exit, in parallel
        for thread in self.threads:
            thread.join(timeout=1)
        for process in self.processes:
            process.close()
