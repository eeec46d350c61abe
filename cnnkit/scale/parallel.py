"""Autograde a whole class fast: N long-lived grading processes, one writer to the gradebook.

    python -m cnnkit.scale.parallel autograde [--workers N] [--student ID ...] [--force] [--timeout S]
    python -m cnnkit.scale.parallel autograde --dask                      # on a local Dask cluster
    python -m cnnkit.scale.parallel autograde --scheduler tcp://host:8786 # on a Dask cluster

Results are those of stock ``nbgrader autograde`` with this course's nbgrader_config.py,
because every submission *is* graded by nbgrader's own ``autograde`` command and the
configured pipeline (Execute or its replacement, the kit's steps, any sandbox kernel),
run inside a grading process in a private scratch course:

- a **course bundle** (nbgrader_config.py, the cnnkit package, source/, release/) and a
  **gradebook snapshot** (a copy of gradebook.db, taken once) go to every grading process;
- a **job** is one submission folder (its bytes): the grading process puts it into its
  scratch course, copies the snapshot to the scratch gradebook and runs
  ``nbgrader autograde <assignment>`` in-process (imports, config and the jinja/nbconvert
  machinery are loaded once per process, not once per submission), with a spare kernel
  booting for the next job meanwhile (cnnkit.grading.execute's ``spare_kernel_dir``);
- the **outcome** is the autograded folder (bytes), nbgrader's log, and the rows nbgrader
  wrote for that submission in the scratch gradebook (auto scores, needs-manual-grade
  flags, auto comments, late penalties, timestamp);
- the **coordinator** (this process) is the only writer of the real gradebook: it copies
  those rows into it (the same fields nbgrader's SaveAutoGrades, AssignLatePenalties and
  Autograde.init_assignment write) and puts the folder into autograded/<student>/.

A submission that hangs past ``--timeout`` or kills its grading process costs only that
submission: the process (with its kernel) is killed and a fresh one takes the next job.
The grading processes speak through a socket pair with pickled dicts, so the same
``GradingProcess`` runs here (local pool) and inside Dask workers (cnnkit/scale/dask.py).
"""

import atexit
import fnmatch
import hashlib
import io
import logging
import os
import queue
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path

ASSIGNMENT = "cnn_step_by_step"  # as cnnkit.course.ASSIGNMENT; not imported so grading processes stay light
# What a grading process needs of the course: what nbgrader_config.py loads (the kit) and what the
# pipeline reads (source/ for nbgrader, release/ for the kit's integrity checks). Never student data.
COURSE_FILES = ("nbgrader_config.py", "cnnkit", "source", "release")
BUNDLE_IGNORE = ("__pycache__", "*.pyc", ".ipynb_checkpoints")
# How a grading process starts: the course copy first on sys.path, so that cnnkit (and the
# config's HERE) is that copy's. Not PYTHONPATH: student kernels inherit the environment.
BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from cnnkit.scale.parallel import serve; serve(sys.argv[1], int(sys.argv[2]))"
GRADED, FAILED, TIMED_OUT, CRASHED, REFUSED, ERROR = "graded", "failed", "timed out", "crashed", "refused", "error"


# --------------------------------------------------------------------------------------
# Bytes in and out: folders travel as tar archives, so workers need no shared filesystem.
# --------------------------------------------------------------------------------------


def pack(folder):
    """A gzip'd tar of folder: directories and regular files (file symlinks followed, like shutil.copy)."""
    buffer = io.BytesIO()
    folder = Path(folder)
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1, dereference=True) as tar:
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = sorted(d for d in dirnames if not os.path.islink(Path(dirpath, d)))
            for name in sorted(filenames):
                path = Path(dirpath, name)
                if path.is_file():
                    tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    return buffer.getvalue()


def _ignored(name, patterns):
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def unpack(data, target):
    """Extract pack() bytes into target: regular files and directories only, never outside target.

    Modes are kept (nbgrader makes autograded files read-only); links and devices are skipped,
    because the archive may hold what a student's kernel left in its working folder.
    """
    target = Path(target).resolve()
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            path = (target / member.name).resolve()
            if not path.is_relative_to(target) or not (member.isfile() or member.isdir()):
                continue
            if member.isdir():
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as source, open(path, "wb") as sink:
                shutil.copyfileobj(source, sink)
            os.chmod(path, member.mode & 0o777)


def course_bundle(root):
    """(digest, bytes) of what grading needs of the course (COURSE_FILES)."""
    root = Path(root)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for name in COURSE_FILES:
            if (root / name).exists():
                tar.add(root / name, arcname=name, filter=_bundle_filter)
    data = buffer.getvalue()
    return hashlib.sha256(data).hexdigest()[:16], data


def _bundle_filter(member):
    # mtimes are zeroed so the digest names the content: workers reuse an unpacked bundle.
    if any(_ignored(part, BUNDLE_IGNORE) for part in Path(member.name).parts):
        return None
    member.mtime, member.uid, member.gid, member.uname, member.gname = 0, 0, 0, "", ""
    return member


def gradebook_snapshot(db_path):
    """(digest, bytes) of a consistent copy of the SQLite gradebook (sqlite3's backup API)."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch, "snapshot.db")
        source, target = sqlite3.connect(db_path), sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        data = copy.read_bytes()
    return hashlib.sha256(data).hexdigest()[:16], data


def write_once(path, data):
    """Write data to path atomically unless it is there already (several processes may race)."""
    path = Path(path)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return path


# --------------------------------------------------------------------------------------
# Inside a grading process: one submission through stock nbgrader, in the scratch course.
# --------------------------------------------------------------------------------------


def skip_unused_slow_imports():
    """Keep jsonschema from compiling an RFC 3987 grammar in this process: 0.8 s of CPU per process.

    When the optional rfc3987-syntax package is installed, importing jsonschema (which nbformat,
    hence nbgrader, does) builds some 35 Earley parsers for the "iri" formats; nothing in
    nbformat, nbgrader or the kit checks those formats (upstream: python-jsonschema/jsonschema#1428).
    Blocking the import makes jsonschema skip those two format checkers, as it does when the
    package is absent. Called first thing in the coordinator and in every grading process.
    """
    sys.modules.setdefault("rfc3987_syntax", None)


def serve(course_root, fd):
    """A grading process's loop: receive a job, grade it, send the outcome; until the pipe closes."""
    skip_unused_slow_imports()
    connection = Connection(fd)
    watch_parent()
    preload(course_root)
    while True:
        try:
            job = connection.recv()
        except (EOFError, OSError):  # the batch is over
            discard_spare_kernel()
            # Nothing else to clean up (the coordinator removes the scratch folders): skip the
            # interpreter's slow teardown of everything nbgrader imported.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        try:
            outcome = grade_in_scratch(Path(course_root), job)
        except Exception:  # a bug of the kit's, not the submission's: report it and serve on
            outcome = failure(job["student"], ERROR, "the grading process failed", log=traceback.format_exc())
        connection.send(outcome)


def watch_parent(interval=1.0):
    """Kill this process and its kernels when the process that started it is gone.

    A coordinator killed with SIGKILL cannot clean up; without this, its grading processes
    would finish their submission (or hang with it) as orphans.
    """
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(interval)
        kill_tree(os.getpid())

    threading.Thread(target=watch, daemon=True, name="watch-parent").start()


def preload(course_root, assignment=ASSIGNMENT):
    """Before the first job: import nbgrader and what the course's config imports (the kit, numpy).

    Loading the config once here (as `nbgrader autograde` would, without running it) moves
    these imports out of the first submission and overlaps them with the coordinator's own.
    The configured Execute step, if it is the kit's, starts the first job's spare kernel.
    """
    import nbclient  # noqa: F401
    import nbconvert.exporters  # noqa: F401
    from nbgrader.apps.nbgraderapp import NbGraderApp

    saved_cwd = os.getcwd()
    os.chdir(course_root)
    app = NbGraderApp.instance()
    try:
        app.initialize(["autograde", assignment])
        start_spare_kernel(app.config, spare_kernel_dir(course_root))
    except SystemExit:  # a config error: the first job will report it
        pass
    finally:
        app.reset()
        os.chdir(saved_cwd)


def spare_kernel_dir(course_root):
    return Path(course_root).parent / "kernels"


def start_spare_kernel(config, folder):
    """If the configured autograde steps include the kit's ContainedExecute, start a spare kernel with it."""
    execute = sys.modules.get("cnnkit.grading.execute")  # imported by the config, from the scratch course
    if execute is None:
        return
    steps = config.Autograde.get("autograde_preprocessors", [])
    kinds = [step for step in steps if isinstance(step, type) and issubclass(step, execute.ContainedExecute)]
    if kinds:
        kinds[0].start_spare_ahead(config, folder)


def discard_spare_kernel():
    """Shut down the spare kernel the last job started (the module is the scratch course's, as the config's)."""
    execute = sys.modules.get("cnnkit.grading.execute")
    if execute is not None:
        execute.discard_spare()


def grade_in_scratch(course_root, job):
    """Grade job's submission with `nbgrader autograde` in course_root; return the outcome dict."""
    started = time.perf_counter()
    reset_scratch(course_root)
    shutil.copyfile(job["snapshot"], course_root / "gradebook.db")
    unpack(job["submission"], course_root / job["submitted"])
    db_url = f"sqlite:///{course_root / 'gradebook.db'}"
    # A spare kernel boots for the next job while this one runs (cnnkit.grading.execute), unless this is the last.
    spare_dir = spare_kernel_dir(course_root) if job.get("spare_kernel", True) else ""
    code, log = autograde_in_process(course_root, job["assignment"], db_url, spare_dir)
    status = exit_status(code)
    autograded = course_root / job["autograded"]
    outcome = {
        "student": job["student"],
        "status": status,
        "message": code if status == REFUSED else "",
        "gradebook": submission_state(db_url, job["assignment"], job["student"]),
        "autograded": pack(autograded) if autograded.is_dir() else None,
        "log": log,
        "scratch_root": str(course_root),
        "host": socket.gethostname(),
        "seconds": time.perf_counter() - started,
    }
    reset_scratch(course_root)
    return outcome


def reset_scratch(course_root):
    """Remove the previous job's state: its submission, autograded folder and gradebook."""
    for name in ("submitted", "autograded", "feedback"):
        shutil.rmtree(course_root / name, ignore_errors=True)
    for path in course_root.glob("gradebook.db*"):
        path.unlink()


def exit_status(code):
    """Status of a submission from nbgrader's exit code.

    nbgrader exits 1 when converting the submission failed (it logged why); a SystemExit
    with a message comes from the configuration (e.g. the sandbox's refusal to run), which
    would stop stock nbgrader before any submission too.
    """
    if code in (0, None):
        return GRADED
    if isinstance(code, int):
        return FAILED
    return REFUSED


def autograde_in_process(course_root, assignment, db_url, spare_dir=""):
    """Run `nbgrader autograde <assignment>` in this process, from course_root; (exit code, log).

    The command line is stock nbgrader's, so the course's nbgrader_config.py is loaded the
    way the CLI loads it. Only the database is pinned to the scratch copy: whatever db_url
    the config names, a grading process never writes the real gradebook. spare_dir: where
    ContainedExecute starts a spare kernel for the next job (ignored by other Execute steps).
    """
    from jupyter_core.application import NoStart
    from nbgrader.apps.nbgraderapp import NbGraderApp

    saved_path, saved_cwd = list(sys.path), os.getcwd()
    buffer = io.StringIO()
    os.chdir(course_root)
    app = NbGraderApp.instance()
    try:
        app.initialize(
            [
                "autograde",
                assignment,
                f"--CourseDirectory.db_url={db_url}",
                f"--ContainedExecute.spare_kernel_dir={spare_dir}",
            ]
        )
        app.init_logging(logging.StreamHandler, [buffer], color=False, subapps=True)
        app.start()
        code = 0
    except NoStart:  # how a Jupyter app says its subcommand ran
        code = 0
    except SystemExit as exit:
        code = exit.code
    finally:
        app.reset()
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
    return code, buffer.getvalue()


def submission_state(db_url, assignment, student):
    """What autograde wrote for this submission: timestamp and, per notebook, grades and comments.

    None when nbgrader stopped before creating the submission.
    """
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry:
            return None
        return {
            "timestamp": submission.timestamp,
            "notebooks": {
                notebook.name: {
                    "late_submission_penalty": notebook.late_submission_penalty,
                    "grades": {grade.name: (grade.auto_score, grade.needs_manual_grade) for grade in notebook.grades},
                    "comments": {comment.name: comment.auto_comment for comment in notebook.comments},
                }
                for notebook in submission.notebooks
            },
        }


# --------------------------------------------------------------------------------------
# The parent side of a grading process: start, send a job, wait at most the timeout, kill.
# --------------------------------------------------------------------------------------


def kill_tree(pid):
    """SIGKILL pid and every process under it (kernels run in sessions of their own)."""
    import psutil  # a dependency of ipykernel, so present wherever grading runs

    try:
        root = psutil.Process(pid)
        processes = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    for process in processes:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(processes, timeout=10)


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
        """The outcome of job; a TIMED_OUT or CRASHED outcome if the process did not deliver one."""
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
        return failure(job["student"], status, reason, time.perf_counter() - started, self.log_tail())

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


def failure(student, status, message, seconds=0.0, log=""):
    """An outcome for a submission nbgrader did not finish with."""
    return {
        "student": student,
        "status": status,
        "message": message,
        "gradebook": None,
        "autograded": None,
        "log": log,
        "scratch_root": None,
        "host": socket.gethostname(),
        "seconds": seconds,
    }


# Grading processes of this Python process, one per thread (Dask workers run tasks in threads).
_local = threading.local()
_all_graders = []


def grade_here(bundle_path, workspace_base, job, timeout):
    """Grade job in this thread's GradingProcess (started on first use, reused after)."""
    grader = getattr(_local, "grader", None)
    if grader is None or grader.bundle_path != Path(bundle_path):
        if grader is not None:
            grader.close()
        workspace = Path(tempfile.mkdtemp(prefix="grader-", dir=workspace_base))
        grader = _local.grader = GradingProcess(bundle_path, workspace)
        _all_graders.append(grader)
    return grader.grade(job, timeout)


def grade_on_dask_worker(job, timeout, bundle_digest, snapshot_digest):
    """A Dask task: grade job with the bundle and snapshot that dask_grading.InstallKit put here."""
    from distributed import get_worker

    base = Path(get_worker().local_directory) / "cnnkit-grading"
    job = {**job, "snapshot": str(base / f"gradebook-{snapshot_digest}.db")}
    return grade_here(base / f"course-{bundle_digest}.tar.gz", base, job, timeout)


@atexit.register
def _close_graders():
    for grader in _all_graders:
        grader.release()
    for grader in _all_graders:
        grader.close()


# --------------------------------------------------------------------------------------
# The coordinator: what to grade, jobs out, outcomes into the real gradebook and autograded/.
# --------------------------------------------------------------------------------------


class Course:
    """The real course as stock nbgrader sees it: its config, paths, gradebook and selection rules."""

    def __init__(self, root, assignment, force=False):
        from nbgrader.apps.autogradeapp import AutogradeApp
        from nbgrader.converters import Autograde

        self.root, self.assignment = Path(root).resolve(), assignment
        argv = [assignment, *(["--force"] if force else [])]
        saved_cwd, saved_argv = os.getcwd(), sys.argv
        # The config is loaded as for the stock command this one replaces (`nbgrader autograde`),
        # from the course root: a config that acts once per autograde command (e.g. cnnkit.grading.batch
        # backs up the gradebook) acts here. Grading processes run it as another command.
        os.chdir(self.root)
        sys.argv = [str(Path(sys.executable).with_name("nbgrader")), "autograde", *argv]
        try:
            self.app = AutogradeApp()
            self.app.initialize(argv)
            self.app.log.setLevel(logging.WARNING)
            self.coursedir = self.app.coursedir
            self.coursedir.assignment_id = assignment
            self.converter = Autograde(coursedir=self.coursedir, parent=self.app)
        finally:
            os.chdir(saved_cwd)
            sys.argv = saved_argv
        self.db_url = self.coursedir.db_url
        self._gradebook = None

    def code_cells(self):
        """How many code cells the assignment's notebooks have (in source/)."""
        import nbformat

        source = Path(self.coursedir.format_path(self.coursedir.source_directory, ".", self.assignment))
        notebooks = [nbformat.read(str(path), as_version=4) for path in source.glob("*.ipynb")]
        return sum(cell.cell_type == "code" for nb in notebooks for cell in nb.cells)

    def path(self, step, student):
        """The folder of student's assignment in step (submitted, autograded), as nbgrader lays it out."""
        directory = getattr(self.coursedir, f"{step}_directory")
        return Path(self.coursedir.format_path(directory, student, self.assignment))

    def select(self, students=()):
        """Students whose submission stock autograde would process now, in its order.

        nbgrader's own rules: its submission glob, student_id_exclude, and init_destination
        (not yet autograded, --force, or a newer submission; --force and newer submissions
        remove the old autograded folder, as stock does).
        """
        from nbgrader.converters import NbGraderException

        try:
            self.converter.init_notebooks()
        except NbGraderException:  # nbgrader logged which glob matched nothing
            raise SystemExit(f"No submission in {self.path('submitted', '*')}") from None
        pattern = re.escape(str(self.path("submitted", "@@"))).replace("@@", "(?P<student>.*)")
        found = {re.fullmatch(pattern, path).group("student"): path for path in self.converter.assignments}
        wanted = [s for s in sorted(found) if not students or any(fnmatch.fnmatchcase(s, p) for p in students)]
        missing = [p for p in students if not any(fnmatch.fnmatchcase(s, p) for s in found)]
        if missing:
            raise SystemExit(f"No submission in {self.path('submitted', '*')} for: {', '.join(missing)}")
        selected = []
        for student in wanted:
            self.converter.notebooks = sorted(self.converter.assignments[found[student]])
            if self.converter.init_destination(self.assignment, student):
                selected.append(student)
        return selected

    def sqlite_path(self):
        """The gradebook's file; a snapshot of it is what grading processes start from."""
        prefix = "sqlite:///"
        if not self.db_url.startswith(prefix):
            raise SystemExit(
                f"Parallel autograde needs a SQLite gradebook (db_url is {self.db_url}); "
                "use stock `nbgrader autograde` with other databases."
            )
        path = Path(self.db_url[len(prefix) :])
        self.check_assignment()
        return path

    def check_assignment(self):
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(self.db_url, self.coursedir.course_id) as gradebook:
            try:
                gradebook.find_assignment(self.assignment)
            except MissingEntry:
                raise SystemExit(
                    f"No assignment {self.assignment!r} in {self.db_url}: run `nbgrader generate_assignment` first."
                ) from None

    def job(self, student, snapshot):
        """One submission, as bytes, with where it goes in a scratch course."""
        return {
            "student": student,
            "assignment": self.assignment,
            "submission": pack(self.path("submitted", student)),
            "submitted": str(self.path("submitted", student).relative_to(self.root)),
            "autograded": str(self.path("autograded", student).relative_to(self.root)),
            "snapshot": snapshot,
        }

    def record(self, outcome):
        """Bring one outcome into the real course: the gradebook rows, then autograded/<student>/."""
        self.record_grades(outcome)
        self.record_folder(outcome)

    def record_grades(self, outcome):
        """Write what autograde wrote for the submission in the scratch gradebook into the real one.

        The fields are exactly those stock autograde writes: the student and the submission
        with its timestamp (Autograde.init_assignment), then per cell auto_score and
        needs_manual_grade (SaveAutoGrades), auto_comment, and per notebook the late penalty
        (AssignLatePenalties). Manual scores and comments are never touched.
        """
        student, state = outcome["student"], outcome["gradebook"]
        gradebook = self.gradebook()
        gradebook.update_or_create_student(student)
        if state is None:
            self.register_unfinished(gradebook, student)
            return
        timestamp = {"timestamp": state["timestamp"]} if state["timestamp"] is not None else {}
        submission = gradebook.update_or_create_submission(self.assignment, student, **timestamp)
        for notebook in submission.notebooks:
            written = state["notebooks"].get(notebook.name)
            if written is None:
                continue
            notebook.late_submission_penalty = written["late_submission_penalty"]
            for grade in notebook.grades:
                grade.auto_score, grade.needs_manual_grade = written["grades"][grade.name]
            for comment in notebook.comments:
                comment.auto_comment = written["comments"][comment.name]
        gradebook.db.commit()

    def gradebook(self):
        """The real gradebook, opened once for the batch: this process is its only writer."""
        if self._gradebook is None:
            from nbgrader.api import Gradebook

            self._gradebook = Gradebook(self.db_url, self.coursedir.course_id)
        return self._gradebook

    def close(self):
        if self._gradebook is not None:
            self._gradebook.close()
            self._gradebook = None

    def register_unfinished(self, gradebook, student):
        """A submission whose grading process never reported: what stock writes before it converts.

        The submission with its timestamp, and zero for notebooks that were not submitted
        (Autograde.init_assignment); its scores stay as they were, as when stock fails on it.
        """
        submitted = self.path("submitted", student)
        timestamp = self.coursedir.get_existing_timestamp(str(submitted))
        extra = {"timestamp": timestamp} if timestamp else {}
        submission = gradebook.update_or_create_submission(self.assignment, student, **extra)
        for notebook in submission.notebooks:
            if not (submitted / f"{notebook.name}.ipynb").exists():
                for grade in notebook.grades:
                    grade.auto_score, grade.needs_manual_grade = 0, False
        gradebook.db.commit()

    def record_folder(self, outcome):
        """autograded/<student>/<assignment>/ from the outcome (removed if grading failed, as stock does)."""
        destination = self.path("autograded", outcome["student"])
        if destination.exists():
            shutil.rmtree(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        if outcome["autograded"] is not None:
            unpack(outcome["autograded"], destination)
            relocate_notebooks(destination, outcome["scratch_root"], self.root)


def relocate_notebooks(folder, scratch_root, root):
    """Say root where a notebook's outputs name the scratch course (e.g. a traceback's file path).

    The kernel ran in <scratch>/autograded/...; stock nbgrader runs it in <root>/autograded/...
    """
    if not scratch_root or str(scratch_root) == str(root):
        return
    for path in folder.rglob("*.ipynb"):
        text = path.read_text()
        if scratch_root in text:
            mode = path.stat().st_mode
            os.chmod(path, mode | 0o200)
            path.write_text(text.replace(scratch_root, str(root)))
            os.chmod(path, mode)


# --------------------------------------------------------------------------------------
# Running the jobs: a local pool of grading processes (Dask: cnnkit/scale/dask.py).
# --------------------------------------------------------------------------------------


class LocalPool:
    """`workers` grading processes on this machine, each fed by a thread of the coordinator."""

    def __init__(self, bundle_path, scratch, workers):
        self.graders = [
            GradingProcess(bundle_path, Path(tempfile.mkdtemp(prefix="grader-", dir=scratch))) for _ in range(workers)
        ]

    def start(self):
        """Start every process now: they import nbgrader while the coordinator reads the course."""
        for grader in self.graders:
            grader.start()

    def run(self, course, students, snapshot_path, timeout, stop):
        """Grade students; yields outcomes as they come (a crashed or killed process is restarted)."""
        todo, done = queue.Queue(), queue.Queue()
        for student in students:
            todo.put(student)

        def work(grader):
            while not stop.is_set():
                try:
                    student = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    # A grading process starts a spare kernel for its next job; not after the last one.
                    job = {**course.job(student, str(snapshot_path)), "spare_kernel": not todo.empty()}
                    done.put(grader.grade(job, timeout))
                except Exception as error:  # the kit's own failure: report it, keep the pool going
                    done.put(failure(student, ERROR, f"{type(error).__name__}: {error}"))

        threads = [threading.Thread(target=work, args=(grader,), daemon=True) for grader in self.graders]
        for thread in threads:
            thread.start()
        for _ in students:
            yield done.get()
            if stop.is_set():
                break
        for thread in threads:
            thread.join()

    def close(self):
        for grader in self.graders:  # all at once: each shuts its spare kernel down in parallel
            grader.release()
        for grader in self.graders:
            grader.close()


class Progress:
    """A one-line progress bar with ETA on a terminal; one line per submission otherwise (logs, CI)."""

    def __init__(self, total, stream=sys.stderr, width=28):
        self.total, self.stream, self.width = total, stream, width
        self.done, self.failed = 0, 0
        self.started = time.perf_counter()
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.show("")

    def update(self, outcome):
        self.done += 1
        self.failed += outcome["status"] != GRADED
        self.show(f"{outcome['student']}: {outcome['status']} ({outcome['seconds']:.1f} s)")

    def show(self, last):
        elapsed = time.perf_counter() - self.started
        eta = elapsed / self.done * (self.total - self.done) if self.done else None
        filled = int(self.width * self.done / max(self.total, 1))
        bar = "#" * filled + "-" * (self.width - filled)
        line = (
            f"autograde [{bar}] {self.done}/{self.total}"
            f"{f', {self.failed} not graded' if self.failed else ''}"
            f"  elapsed {clock(elapsed)}  ETA {clock(eta) if eta is not None else '?'}  {last}"
        )
        if self.tty:
            self.stream.write("\r\033[K" + line + ("\n" if self.done == self.total else ""))
        elif last or not self.total:
            self.stream.write(line + "\n")
        self.stream.flush()


def clock(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes}:{seconds:02d}"


def default_timeout(course):
    """Seconds a submission may take before its grading process is killed.

    Stock nbgrader bounds a notebook by its config (a per-notebook budget such as
    ContainedExecute.notebook_budget, else Execute.timeout per cell); killing earlier than
    that would give a different result than stock. Twice the bound plus a minute of margin
    (kernel start-up, verification) is only reached by a submission stock would hang on.
    """
    config = course.app.config
    budget = config.ContainedExecute.get("notebook_budget")
    if budget:
        return 2 * float(budget) + 60
    per_cell = float(config.Execute.get("timeout", 30) or 30)
    return 2 * per_cell * max(course.code_cells(), 1) + 60


def write_log(path, outcomes):
    """Every submission's nbgrader log, in the order they finished."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        for outcome in outcomes:
            handle.write(f"===== {outcome['student']}: {outcome['status']} ({outcome['seconds']:.1f} s")
            handle.write(f" on {outcome['host']}) {outcome['message']}\n{outcome['log']}\n")


def autograde(args):
    """The `autograde` command: returns the process exit code (0: every submission graded)."""
    root = Path(args.root).resolve()
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="cnnkit-autograde-"))
    scratch.mkdir(parents=True, exist_ok=True)
    log = args.log or root / "logs" / "autograde.log"
    pool = course = None
    outcomes = []
    try:
        bundle = course_bundle(root)
        if not (args.dask or args.scheduler):
            bundle_path = write_once(scratch / f"course-{bundle[0]}.tar.gz", bundle[1])
            pool = LocalPool(bundle_path, scratch, pool_size(args, root))
            pool.start()
        course = Course(root, args.assignment, args.force)
        snapshot = gradebook_snapshot(course.sqlite_path())
        students = course.select(args.student or ())
        if not students:
            print("Nothing to autograde (every submission is already autograded; --force regrades).")
            return 0
        started = time.perf_counter()
        grade_all(course, students, bundle, snapshot, pool, scratch, args, outcomes)
        return summarize(outcomes, students, time.perf_counter() - started, log)
    finally:
        if pool is not None:
            pool.close()
        if course is not None:
            course.close()
        if not args.scratch:
            shutil.rmtree(scratch, ignore_errors=True)
        if outcomes:
            write_log(log, outcomes)


def pool_size(args, root):
    """--workers (default: cores), but no more processes than there are submissions to grade.

    Counted in nbgrader's default layout before the config is read, since the processes
    start first; with another layout (nothing found there) the count does not limit.
    """
    workers = args.workers or len(os.sched_getaffinity(0))
    submitted = [p.parent.name for p in Path(root, "submitted").glob(f"*/{args.assignment}")]
    if args.student:
        submitted = [s for s in submitted if any(fnmatch.fnmatchcase(s, pattern) for pattern in args.student)]
    return max(1, min(workers, len(submitted))) if submitted else workers


def grade_all(course, students, bundle, snapshot, pool, scratch, args, outcomes):
    """Dispatch every student, record each outcome as it arrives (the single writer), show progress.

    Outcomes are appended to `outcomes` as they are recorded, so an interrupted batch still logs them.
    """
    stop = threading.Event()
    timeout = args.timeout or default_timeout(course)
    if pool is None:
        from cnnkit.scale import dask as dask_grading

        where = f"the Dask cluster at {args.scheduler}" if args.scheduler else "a local Dask cluster"
        print(f"Autograding {len(students)} submission(s) on {where}, at most {timeout:g} s each")
        stream = dask_grading.run(students, course, bundle, snapshot, timeout, args, stop)
    else:
        print(
            f"Autograding {len(students)} submission(s) with {len(pool.graders)} worker(s), at most {timeout:g} s each"
        )
        snapshot_path = write_once(scratch / f"gradebook-{snapshot[0]}.db", snapshot[1])
        stream = pool.run(course, students, snapshot_path, timeout, stop)
    progress = Progress(len(students))
    for outcome in stream:
        if outcome["status"] == REFUSED:
            stop.set()  # the configuration refuses to grade here: as stock, grade nothing more
        else:
            course.record(outcome)
        outcomes.append(outcome)
        progress.update(outcome)


def summarize(outcomes, students, seconds, log):
    """Print what happened; the exit code (1 if any submission was not graded, as stock)."""
    refused = [o for o in outcomes if o["status"] == REFUSED]
    if refused:
        print(f"Stopped: {refused[0]['message']}")
        return 1
    bad = [o for o in outcomes if o["status"] != GRADED]
    for outcome in bad:
        print(f"  {outcome['student']}: {outcome['status']} {outcome['message']}".rstrip())
    rate = len(outcomes) / seconds * 60 if seconds else 0
    print(
        f"Autograded {len(outcomes) - len(bad)} of {len(students)} submission(s) in {seconds:.1f} s "
        f"({rate:.1f} per minute); nbgrader's log: {log}"
    )
    return 1 if bad or len(outcomes) < len(students) else 0
