"""The `autograde` command: select the submissions, submit them to the grading engine, record, summarize.

``autograde(args)`` (called by ``python -m cnnkit autograde``):

1. opens the grading engine (cnnkit.scale.engine) on the course: its grading processes start
   importing nbgrader while it runs the course's start step (gradebook backup, admission,
   unfinished work cleared) and reads the config as `nbgrader autograde` does;
2. selects the submissions with nbgrader's own rules (cnnkit.scale.course_view) and submits one job each;
3. records each outcome as it arrives (the engine is the gradebook's one writer) and shows progress;
4. writes the batch's log (nbgrader's log of every submission) and its outcomes file (status and
   message per student), both cnnkit.records.outcomes, and prints a summary.

Per-submission kill switch: cnnkit.grading.time_policy.kill_after, unless --timeout says otherwise.

On a Dask cluster the engine's jobs run as Dask tasks (cnnkit.scale.dask.ClusterRunner) and the
coordinator is a TLS client with the course's client certificate (cnnkit.scale.tls); an address it
will not use is refused before anything is read or written.
"""

import fnmatch
import os
import time
from pathlib import Path

from cnnkit import compat
from cnnkit.records import outcomes as outcomes_file
from cnnkit.records.outcomes import GRADED, REFUSED
from cnnkit.scale.engine import Engine, Job
from cnnkit.scale.progress import Progress


def skip_unused_slow_imports():
    """Call first thing in the command: see cnnkit.compat.skip_unused_slow_imports."""
    compat.skip_unused_slow_imports()


def autograde(args):
    """The `autograde` command; returns the process exit code (0: every selected submission graded).

    args: root (str), assignment, force, student (ids or globs, or None), workers, timeout,
    dask, scheduler, tls, allow_plain_tcp_on_loopback, scratch, log (see cnnkit.cli).
    """
    root = Path(args.root).resolve()
    runner = cluster_runner(args, cluster_security(args, root))
    log = args.log or root / outcomes_file.LOG_FILE
    check_nbgrader()
    outcomes = []
    try:
        with Engine(
            root,
            args.assignment,
            pool_size(args, root),
            cluster=runner,
            timeout=args.timeout,
            force=args.force,
            scratch=args.scratch,
        ) as engine:
            students = engine.course.select(args.student or ())
            if not students:
                print("Nothing to autograde (every submission is already autograded; --force regrades).")
                return 0
            started = time.perf_counter()
            grade_all(engine, students, outcomes, where(args, engine))
            return summarize(outcomes, students, time.perf_counter() - started, log)
    finally:
        if outcomes:
            outcomes_file.write_log(log, outcomes)
            outcomes_file.write_outcomes(root, args.assignment, outcomes)


def cluster_runner(args, security):
    """The engine's Dask runner for --dask or --scheduler (None: grading processes on this machine)."""
    if not (args.dask or args.scheduler):
        return None
    from cnnkit.scale.dask import ClusterRunner  # distributed is slow to import: only for --dask

    return ClusterRunner(args.scheduler, args.workers, security)


def where(args, engine):
    if args.scheduler:
        return f"on the Dask cluster at {args.scheduler}"
    if args.dask:
        return "on a local Dask cluster"
    return f"with {engine.runner.workers} worker(s)"


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


def grade_all(engine, students, outcomes, place):
    """Submit every student, record each outcome as it arrives, show progress.

    Outcomes are appended to `outcomes` as they are recorded, so an interrupted run still logs them.
    A refusal (the configuration refuses to grade here) stops the run: as stock, nothing more is graded.
    """
    print(f"Autograding {len(students)} submission(s) {place}, at most {engine.timeout:g} s each")
    for student in students:
        engine.submit(Job(student))
    progress = Progress(len(students))
    for finished in engine.finished():
        outcome = finished.outcome
        outcomes.append(outcome)
        if outcome["status"] == REFUSED:
            return
        engine.record(outcome)
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
