"""Inside a grading process: one submission at a time through stock ``nbgrader autograde``, in a scratch course.

A grading process is started by ``cnnkit.scale.pool.GradingProcess`` with its scratch course (the
course bundle unpacked: nbgrader_config.py, cnnkit, source/, release/) first on sys.path, and
serves jobs from a socket until it closes (``serve``). For each job it:

1. puts the submission's bytes into its scratch course and copies the gradebook snapshot there;
2. runs ``nbgrader autograde <assignment>`` in-process (imports, config and the jinja/nbconvert
   machinery are loaded once per process, not once per submission), with the database pinned to
   the scratch copy and, meanwhile, a spare kernel booting for the next job
   (cnnkit.grading.execute's ``spare_kernel_dir``);
3. if the job asks for it (the grading service does), runs ``nbgrader generate_feedback`` for the
   student there too, so feedback is made in parallel, by the process that has everything loaded;
4. sends back the outcome (cnnkit.records.outcomes), with why when nbgrader failed (cnnkit.scale.cause:
   the exception, its step and cell): the autograded folder (bytes), nbgrader's log,
   the rows nbgrader wrote for the submission (cnnkit.scale.gradebook_writer.submission_state)
   and the feedback folder (bytes) if it was asked for.
"""

import os
import shutil
import socket
import sys
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path

from cnnkit import compat
from cnnkit.records.outcomes import ERROR, FAILED, GRADED, REFUSED, failure
from cnnkit.records.packed import pack, unpack
from cnnkit.scale.cause import describe, keeping_cause
from cnnkit.scale.gradebook_writer import submission_state
from cnnkit.scale.processes import watch_parent

POKE_EVERY = 0.05  # seconds between two pokes of a spare kernel while the process waits for a job
ASSIGNMENT = "cnn_step_by_step"  # as cnnkit.course.ASSIGNMENT; not imported so grading processes stay light


def serve(course_root, fd):
    """A grading process's loop: receive a job, grade it, send the outcome; until the pipe closes."""
    compat.skip_unused_slow_imports()
    connection = Connection(fd)
    watch_parent()
    broken = preload(course_root)
    while True:
        try:
            poke_spare_kernel(idle=lambda: not connection.poll(POKE_EVERY))
            job = connection.recv()
        except (EOFError, OSError):  # the batch is over
            discard_spare_kernel()
            # Nothing else to clean up (the coordinator removes the scratch folders): skip the
            # interpreter's slow teardown of everything nbgrader imported.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        if broken:
            connection.send(failure(job["student"], ERROR, broken))
            continue
        try:
            outcome = grade_in_scratch(Path(course_root), job)
        except Exception as error:  # a bug of the kit's, not the submission's: report it and serve on
            message = f"the grading process failed: {describe(error)}"
            outcome = failure(job["student"], ERROR, message, log=traceback.format_exc())
        connection.send(outcome)


def preload(course_root, assignment=ASSIGNMENT):
    """Before the first job: import nbgrader and what the course's config imports (the kit, numpy).

    Loading the config once here (as `nbgrader autograde` would, without running it) moves
    these imports out of the first submission and overlaps them with the coordinator's own.
    The configured Execute step, if it is the kit's, starts the first job's spare kernel.
    Returns why this process cannot grade (an nbgrader it does not know), or None.
    """
    import nbclient  # noqa: F401
    import nbconvert.exporters  # noqa: F401

    try:
        compat.check_scale()
    except compat.ScaleApiChanged as error:
        return str(error)
    saved_cwd = os.getcwd()
    os.chdir(course_root)
    try:
        with compat.nbgrader_app(["autograde", assignment]) as app:
            start_spare_kernel(app.config, spare_kernel_dir(course_root))
    except SystemExit:  # a config error: the first job will report it
        pass
    finally:
        os.chdir(saved_cwd)
    return None


def spare_kernel_dir(course_root):
    """Where the spare kernels of the grading process at course_root boot: beside its scratch course."""
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


def poke_spare_kernel(idle=lambda: False):
    """Get the spare kernel's imports going (cnnkit.grading.spare.poke_while_idle) while idle() says no job came.

    The default pokes once: between a job's steps, the spare may have come up since the notebook's last cell.
    """
    spare = sys.modules.get("cnnkit.grading.spare")
    if spare is not None:
        spare.poke_while_idle(idle)


def discard_spare_kernel():
    """Shut down the spare kernel the last job started (the module is the scratch course's, as the config's)."""
    spare = sys.modules.get("cnnkit.grading.spare")
    if spare is not None:
        spare.discard_spare()


def grade_in_scratch(course_root, job):
    """Grade job's submission with `nbgrader autograde` in course_root; return the outcome dict."""
    started = time.perf_counter()
    reset_scratch(course_root)
    shutil.copyfile(job["snapshot"], course_root / "gradebook.db")
    unpack(job["submission"], course_root / job["submitted"])
    db_url = f"sqlite:///{course_root / 'gradebook.db'}"
    # A spare kernel boots for the next job while this one runs (cnnkit.grading.execute), unless this is the last.
    spare_dir = spare_kernel_dir(course_root) if job.get("spare_kernel", True) else ""
    with keeping_cause() as keeper:
        code, log = autograde_in_process(course_root, job["assignment"], db_url, spare_dir)
    status = exit_status(code)
    autograded = course_root / job["autograded"]
    feedback = None
    if job.get("feedback") and status == GRADED:
        poke_spare_kernel()  # its imports then run beside the feedback page
        feedback, feedback_log = feedback_in_process(course_root, job["assignment"], job["student"], db_url)
        log += feedback_log
    outcome = {
        "student": job["student"],
        "status": status,
        "message": failure_message(status, code, keeper.cause()),
        "gradebook": submission_state(db_url, job["assignment"], job["student"]),
        "autograded": pack(autograded) if autograded.is_dir() else None,
        "feedback": feedback,
        "log": log,
        "scratch_root": str(course_root),
        "host": socket.gethostname(),
        "seconds": time.perf_counter() - started,
    }
    reset_scratch(course_root)
    return outcome


def feedback_in_process(course_root, assignment, student, db_url):
    """`nbgrader generate_feedback` for the student just graded; (its feedback folder as pack() bytes or None, log).

    None when nbgrader made no page: whoever asked makes the feedback itself then (and sees why in the log).
    """
    code, log = compat.run_nbgrader_in(
        course_root,
        ["generate_feedback", assignment, f"--student={student}", "--force", f"--CourseDirectory.db_url={db_url}"],
    )
    folder = course_root / "feedback" / student / assignment
    made = code in (0, None) and any(folder.glob("*.html"))
    return (pack(folder) if made else None), log


def reset_scratch(course_root):
    """Remove the previous job's state: its submission, autograded folder and gradebook."""
    for name in ("submitted", "autograded", "feedback"):
        shutil.rmtree(course_root / name, ignore_errors=True)
    for path in course_root.glob("gradebook.db*"):
        path.unlink()


def failure_message(status, code, cause):
    """What the outcome says about a submission nbgrader did not grade ('' when it did): why, and where."""
    if status == REFUSED:
        return str(code)
    if status == FAILED:
        return cause or f"nbgrader exited {code} without logging why"
    return ""


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
    The course's start step (gradebook backup, admission, unfinished folders cleared) is done
    once on the real course by the engine, so cnnkit.scale.course_start.AutogradeStart skips it in the scratch course.
    """
    argv = [
        "autograde",
        assignment,
        f"--CourseDirectory.db_url={db_url}",
        f"--ContainedExecute.spare_kernel_dir={spare_dir}",
        "--AutogradeStart.prepare_batch=False",
    ]
    return compat.run_nbgrader_in(course_root, argv)
