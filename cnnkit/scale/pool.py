"""The parent side of grading processes: start one, send it a job, wait at most the timeout, kill it.

- ``GradingProcess``: one long-lived grading process (cnnkit.scale.worker) with a private scratch
  course; started on first use, and again after it was killed (timeout) or died (crash). The
  grading engine's local runner (cnnkit.scale.engine) keeps one per core, each fed by a thread.
- ``grade_here``: this thread's own GradingProcess (Dask workers run tasks in threads).

A grading process speaks through a socket pair with pickled dicts, so the same class runs
beside the engine and inside Dask workers (cnnkit.scale.dask).
"""

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

from cnnkit.records.outcomes import CRASHED, ERROR, TIMED_OUT, failure
from cnnkit.records.packed import unpack
from cnnkit.scale.processes import kill_tree

# How a grading process starts: the course copy first on sys.path, so that cnnkit (and the
# config's HERE) is that copy's. Not PYTHONPATH: student kernels inherit the environment.
BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from cnnkit.scale.worker import serve; serve(sys.argv[1], int(sys.argv[2]))"
)


def grading_environment(workspace):
    """The environment of a grading process: nbgrader shells out to `alembic` from PATH.

    Its temporary files go to its workspace: jupyter_client writes each kernel's connection file
    with mkstemp and the sandbox launcher its socket folder, and a process killed at the timeout
    cannot remove them; the workspace is removed at the end of the batch.
    """
    bin_dir = os.path.dirname(sys.executable)
    tmp = Path(workspace) / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""), "TMPDIR": str(tmp)}


class GradingProcess:
    """A long-lived grading process with a private scratch course in workspace.

    Started on first use and again after it was killed (timeout) or died (crash).
    """

    def __init__(self, bundle_path, workspace):
        self.bundle_path = Path(bundle_path)
        self.workspace = Path(workspace)
        self.course_root = self.workspace / "course"
        self.process = None
        self.connection = None
        self.closed = False
        self.busy = False  # a job is being graded

    def start(self):
        """Unpack the course bundle (once) and start the process."""
        if not self.course_root.exists():
            unpack(self.bundle_path.read_bytes(), self.course_root)
        ours, theirs = socket.socketpair()
        with open(self.workspace / "grading-process.log", "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", BOOT, str(self.course_root), str(theirs.fileno())],
                cwd=self.course_root,
                env=grading_environment(self.workspace),
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own session: a Ctrl-C meant for the coordinator does not reach it.
                start_new_session=True,
            )
        theirs.close()
        self.connection = Connection(ours.detach())

    def grade(self, job, timeout):
        """The outcome of job; a TIMED_OUT or CRASHED outcome if the process did not deliver one in timeout s."""
        if self.closed:  # the batch was stopped (Ctrl-C, a refusal): never start a process again
            return failure(job["student"], ERROR, "not graded: the batch was stopped")
        if self.process is not None and self.process.poll() is not None:
            self.stop()  # it died between jobs: that is no submission's fault
        if self.process is None:
            self.start()
        started = time.perf_counter()
        self.busy = True
        try:
            self.connection.send(job)
            if self.connection.poll(timeout):
                return self.connection.recv()
            reason, status = f"no result after {timeout:g} s: grading process and kernel killed", TIMED_OUT
        except (EOFError, OSError) as error:
            reason, status = f"the grading process died ({error or type(error).__name__})", CRASHED
        finally:
            self.busy = False
        self.stop()
        tail = self.log_tail()
        last_words = next((line.strip() for line in reversed(tail.splitlines()) if line.strip()), "")
        if status == CRASHED and last_words:
            reason += f"; its last words: {last_words[:300]}"
        return failure(job["student"], status, reason, time.perf_counter() - started, tail)

    def log_tail(self, lines=30):
        path = self.workspace / "grading-process.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self):
        """Kill the process and its kernels (no grading state is lost: each job starts afresh)."""
        if self.process is not None:
            kill_tree(self.process.pid)
            self.process.wait()
            self.connection.close()
        self.process = self.connection = None

    def release(self):
        """Tell an idle process that the batch is over: it shuts its spare kernel down and exits.

        A busy one (the batch was interrupted) is left to stop(), which kills it with its kernels.
        """
        self.closed = True
        if self.process is not None and self.process.poll() is None and not self.busy:
            self.connection.close()

    def close(self, remove=True, wait=10):
        """End the process (give a released one `wait` seconds to exit by itself) and remove the workspace."""
        self.release()
        if self.process is not None and self.connection.closed:
            try:
                self.process.wait(wait)
            except subprocess.TimeoutExpired:
                pass
        self.stop()
        if remove:
            shutil.rmtree(self.workspace, ignore_errors=True)


def close_all(graders):
    """Release every grader first (each shuts its spare kernel down, in parallel), then close them."""
    for grader in graders:
        grader.release()
    for grader in graders:
        grader.close()


# Grading processes of this Python process, one per thread (Dask workers run tasks in threads).
_local = threading.local()
_thread_graders = []


def grade_here(bundle_path, workspace_base, job, timeout):
    """Grade job in this thread's GradingProcess (started on first use, reused after, replaced for a new bundle)."""
    grader = getattr(_local, "grader", None)
    if grader is None or grader.bundle_path != Path(bundle_path):
        if grader is not None:
            grader.close()
        workspace = Path(tempfile.mkdtemp(prefix="grader-", dir=workspace_base))
        grader = _local.grader = GradingProcess(bundle_path, workspace)
        _thread_graders.append(grader)
    return grader.grade(job, timeout)


@atexit.register
def close_thread_graders():
    """End every thread's grading process (at exit, or when a Dask worker switches to a newer kit)."""
    close_all(_thread_graders)
