"""The `autograde` command's coordinator: what to grade, jobs out, outcomes into the real course, one writer.

``autograde(args)`` (called by ``python -m cnnkit autograde``) runs one batch:

1. start the grading processes (local pool) so they import nbgrader while this process reads the course;
2. back up the gradebook and clear unfinished autograded folders (cnnkit.grading.batch.prepare_autograde);
3. load the course's config as `nbgrader autograde` does and select the submissions with nbgrader's
   own rules (cnnkit.scale.course_view);
4. send every submission to a grading process (cnnkit.scale.pool, or Dask: cnnkit.scale.dask) and
   record each outcome as it arrives: gradebook rows, autograded folder, progress line;
5. write logs/autograde.log (nbgrader's log of every submission) and logs/autograde-outcomes.json
   (cnnkit.scale.outcome), and print a summary.

Per-submission kill switch: cnnkit.grading.time_policy.kill_after, unless --timeout says otherwise.

On a Dask cluster the coordinator is a TLS client with the course's client certificate
(cnnkit.scale.tls); an address it will not use is refused before anything is read or written.
"""

import fnmatch
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from cnnkit import compat
from cnnkit.grading import batch, time_policy
from cnnkit.scale import outcome as outcomes_file
from cnnkit.scale.course_view import Course
from cnnkit.scale.outcome import GRADED, REFUSED
from cnnkit.scale.pool import LocalPool
from cnnkit.scale.progress import Progress
from cnnkit.scale.transport import course_bundle, gradebook_snapshot, write_once

OUTCOMES = Path("logs", "autograde-outcomes.json")  # relative to the course root


def skip_unused_slow_imports():
    """Call first thing in the command: see cnnkit.compat.skip_unused_slow_imports."""
    compat.skip_unused_slow_imports()


def autograde(args):
    """The `autograde` command; returns the process exit code (0: every selected submission graded).

    args: root (str), assignment, force, student (ids or globs, or None), workers, timeout,
    dask, scheduler, tls, allow_plain_tcp_on_loopback, scratch, log (see cnnkit.cli).
    """
    root = Path(args.root).resolve()
    security = cluster_security(args, root)
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
        check_nbgrader()
        batch.prepare_autograde(root)
        course = Course(root, args.assignment, args.force)
        snapshot = gradebook_snapshot(course.sqlite_path())
        students = course.select(args.student or ())
        if not students:
            print("Nothing to autograde (every submission is already autograded; --force regrades).")
            return 0
        started = time.perf_counter()
        grade_all(course, students, bundle, snapshot, pool, scratch, args, outcomes, security)
        return summarize(outcomes, students, time.perf_counter() - started, log)
    finally:
        if pool is not None:
            pool.close()
        if course is not None:
            course.close()
        if not args.scratch:
            shutil.rmtree(scratch, ignore_errors=True)
        if outcomes:
            outcomes_file.write_log(log, outcomes)
            outcomes_file.write_outcomes(root / OUTCOMES, args.assignment, outcomes)


def cluster_security(args, root):
    """Dask's Security for this batch (None: the local pool, or plain TCP on loopback as opted in).

    Decided first, so that a refused address (SystemExit with the reason) touches nothing:
    --scheduler must be tls:// with the client certificate of --tls DIR, $CNNKIT_CLUSTER_CERTS or
    cluster-certs/ in the course root; --dask runs its local cluster over TLS on loopback.
    """
    if not (args.dask or args.scheduler):
        return None
    from cnnkit.scale import tls

    try:
        if not args.scheduler:
            return tls.local_security()
        if tls.checked_address(args.scheduler, getattr(args, "allow_plain_tcp_on_loopback", False)) == "tcp":
            return None
        return tls.client_security(tls.certs_folder(getattr(args, "tls", None), root))
    except tls.ClusterError as error:
        raise SystemExit(f"Not autograding on the Dask cluster: {error}") from None


def check_nbgrader():
    """Stop before grading anything if the installed nbgrader lacks what the kit relies on."""
    try:
        compat.check_scale()
    except compat.ScaleApiChanged as error:
        raise SystemExit(f"Parallel autograde cannot run with this nbgrader: {error}") from None


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


def default_timeout(course):
    """Seconds a submission may take before its grading process is killed: the time policy's kill_after.

    Stock nbgrader bounds a notebook by its config (ContainedExecute.notebook_budget, else
    Execute.timeout per code cell); the kill comes well after that bound.
    """
    config = course.app.config
    budget = config.ContainedExecute.get("notebook_budget")
    cells = 1 if budget else course.code_cells()  # counted only when no notebook budget bounds the notebook
    return time_policy.kill_after(budget, config.Execute.get("timeout"), cells)


def grade_all(course, students, bundle, snapshot, pool, scratch, args, outcomes, security=None):
    """Dispatch every student, record each outcome as it arrives (the single writer), show progress.

    Outcomes are appended to `outcomes` as they are recorded, so an interrupted batch still logs them.
    security: Dask's, for the cluster (cluster_security).
    """
    stop = threading.Event()
    timeout = args.timeout or default_timeout(course)
    if pool is None:
        from cnnkit.scale import dask as dask_grading  # distributed is slow to import: only for --dask

        where = f"the Dask cluster at {args.scheduler}" if args.scheduler else "a local Dask cluster"
        print(f"Autograding {len(students)} submission(s) on {where}, at most {timeout:g} s each")
        stream = dask_grading.run(students, course, bundle, snapshot, timeout, args, stop, security)
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
