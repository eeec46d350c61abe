"""Grading for the service: the kit's grading processes, kept alive between batches.

``make autograde`` (cnnkit.scale.coordinator) starts its grading processes for one batch. The service
grades a few submissions every few seconds, so it keeps them (cnnkit.scale.pool.GradingProcess),
each with a kernel booted ahead for the next submission, and replaces them when the course's files
(config, kit, source, release) change. Each batch is the coordinator's, step for step: the batch start
(cnnkit.grading.batch.prepare_autograde: gradebook backup, admission gate, unfinished work cleared),
the course read as `nbgrader autograde` reads it (cnnkit.scale.course_view.Course), a gradebook
snapshot for the processes, and each outcome brought back by this process, the only writer. So a
submission scores here exactly what `make autograde` gives it.
"""

import queue
import shutil
import tempfile
import threading
from pathlib import Path

from cnnkit.results import totals
from cnnkit.scale import course_start, engine
from cnnkit.scale.course_view import Course
from cnnkit.scale.outcome import ERROR, failure
from cnnkit.scale.pool import GradingProcess, close_all
from cnnkit.scale.transport import course_bundle, gradebook_snapshot, write_once

LOG = Path("logs", "submit-service-autograde.log")
SCRATCH = Path(
    "logs", "submit-service-work"
)  # the grading processes' scratch courses  # nbgrader's log of every submission the service graded


class Grader:
    """Grading processes for the course at root; ``grade(students, ...)`` runs one batch."""

    def __init__(self, root, assignment, workers):
        self.root, self.assignment, self.workers = Path(root), assignment, workers
        # Under the course, emptied at start: a service killed outright leaves no scratch behind for long.
        # (Only one service runs per course: cnnkit.hub.state's lock.)
        self.scratch = self.root / SCRATCH
        shutil.rmtree(self.scratch, ignore_errors=True)
        self.scratch.mkdir(parents=True)
        self.digest = None
        self.processes = []

    def ready(self):
        """The grading processes for the course's files as they are now (restarted if they changed)."""
        digest, data = course_bundle(self.root)
        if digest != self.digest:
            close_all(self.processes)
            bundle = write_once(self.scratch / f"course-{digest}.tar.gz", data)
            self.processes = [
                GradingProcess(bundle, Path(tempfile.mkdtemp(prefix="grader-", dir=self.scratch)))
                for _ in range(self.workers)
            ]
            for process in self.processes:
                process.start()  # they import nbgrader and boot a kernel while the service waits
            self.digest = digest
        return self.processes

    def course(self):
        """The course as `nbgrader autograde --force` reads it (the caller closes it)."""
        return Course(self.root, self.assignment, force=True)

    def grade(self, students, keep):
        """Grade each student's submitted/ folder; yields (outcome, recorded) in the order they finish.

        keep(outcome) is called first for each outcome (the service stores it durably) and says
        whether to write it into the course (gradebook rows and autograded folder): a failed
        grading is not written, so the student's official attempt stays in place.
        """
        processes = self.ready()
        course_start.prepare(self.root, self.assignment)
        course = self.course()
        try:
            snapshot = gradebook_snapshot(course.sqlite_path())
            snapshot_path = write_once(self.scratch / f"gradebook-{snapshot[0]}.db", snapshot[1])
            timeout = engine.default_timeout(course)
            for outcome in self.dispatch(course, students, snapshot_path, timeout, processes):
                recorded = keep(outcome)
                if recorded:
                    course.record(outcome)
                append_log(self.root / LOG, outcome)
                yield outcome, recorded
        finally:
            course.close()

    def dispatch(self, course, students, snapshot_path, timeout, processes):
        """Each student to a free grading process; outcomes as they come (a process that dies is restarted)."""
        todo, done = queue.Queue(), queue.Queue()
        for student in students:
            todo.put(student)

        def work(process):
            while True:
                try:
                    student = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    # Always boot the next kernel ahead: the next submission may come any second.
                    # The feedback is made there too, in parallel, by the process that has nbgrader loaded.
                    job = {**course.job(student, str(snapshot_path)), "spare_kernel": True, "feedback": True}
                    done.put(process.grade(job, timeout))
                except Exception as error:  # the kit's own failure: report it, keep going
                    done.put(failure(student, ERROR, f"{type(error).__name__}: {error}"))

        threads = [threading.Thread(target=work, args=(process,), daemon=True) for process in processes]
        for thread in threads:
            thread.start()
        for _ in students:
            yield done.get()
        for thread in threads:
            thread.join()

    def close(self):
        close_all(self.processes)
        self.processes = []
        shutil.rmtree(self.scratch, ignore_errors=True)


def append_log(path, outcome):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        handle.write(f"===== {outcome['student']}: {outcome['status']} ({outcome['seconds']:.1f} s")
        handle.write(f" on {outcome['host']}) {outcome['message']}\n{outcome['log']}\n")


def restore(course, outcome, submitted_bytes, feedback_bytes):
    """Put a stored attempt back into the course: gradebook rows, autograded/, submitted/ and feedback/.

    After this the course is as if that attempt had been the last one graded, so `make autograde`
    sees nothing new to grade, and regrading it (FORCE=1) gives the same scores.
    """
    from cnnkit.scale.transport import unpack

    student = outcome["student"]
    course.record(outcome)
    if submitted_bytes is not None:
        replace_folder(course.path("submitted", student), submitted_bytes, unpack)
    if feedback_bytes is not None:
        replace_folder(Path(course.root, "feedback", student, course.assignment), feedback_bytes, unpack)


def replace_folder(folder, data, unpack):
    if folder.exists():
        shutil.rmtree(folder)
    unpack(data, folder)


def outcome_score(outcome):
    """(score after the late penalty, penalty) of an outcome, added up as every kit output adds it up."""
    cells, penalty = {}, 0.0
    for notebook in outcome["gradebook"]["notebooks"].values():
        cells.update({cell: auto for cell, (auto, _manual) in notebook["grades"].items()})
        penalty += float(notebook["late_submission_penalty"] or 0.0)
    found = totals.totals(cells, penalty)
    return round(found.total, 6), round(found.penalty, 6)
