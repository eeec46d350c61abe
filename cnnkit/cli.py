"""The kit's commands: python -m cnnkit <command>. The Makefile wraps each one.

Every command runs the plain nbgrader command underneath (so the same steps can be
run by hand from the repo root) and ends by saying what it produced and where.
"""

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from cnnkit import course
from cnnkit.records import integrity, outcomes
from cnnkit.results import roster, run_summary, scores
from cnnkit.scale import coordinator
from cnnkit.spec import public_data, samples, validate

DB_URL = course.gradebook_url()
LOGS = course.LOGS


# Log lines that start work on one student, per nbgrader command: what the progress counts.
PROGRESS = {
    "feedback": re.compile(r"\] Converting notebook .*/autograded/([^/]+)/"),
}


def expected_count(step):
    """How many students the step will go through (for the progress line), or None."""
    folder = {"feedback": "autograded"}.get(step)
    if folder is None or not (course.ROOT / folder).exists():
        return None
    return sum(1 for path in (course.ROOT / folder).iterdir() if path.is_dir())


def progress_line(step, done, total, student, started):
    elapsed = time.perf_counter() - started
    if total and done > 1:
        eta = elapsed / (done - 1) * (total - done + 1)
        return f"  {step}: [{done}/{total}] {student} (elapsed {elapsed:.0f} s, about {eta:.0f} s left)"
    return f"  {step}: [{done}/{total or '?'}] {student}"


def nbgrader(step, *args):
    """Run one nbgrader command from the repo root; its log goes to logs/<step>.log, progress to the screen."""
    LOGS.mkdir(exist_ok=True)
    log = LOGS / f"{step}.log"
    bin_dir = os.path.dirname(sys.executable)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    command = [os.path.join(bin_dir, "nbgrader"), *args]
    started = time.perf_counter()
    pattern, total, done = PROGRESS.get(step), expected_count(step), 0
    print(f"  {step}: nbgrader {' '.join(args)} ...", flush=True)
    with open(log, "w") as handle:
        process = subprocess.Popen(
            command,
            cwd=course.ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        for line in process.stdout:
            handle.write(line)
            match = pattern.search(line) if pattern else None
            if match:
                done += 1
                print(progress_line(step, done, total, match.group(1), started), flush=True)
        returncode = process.wait()
    seconds = time.perf_counter() - started
    if returncode != 0:
        tail = log.read_text().splitlines()[-15:]
        print("\n".join(f"    | {line}" for line in tail))
        print(f"  {step}: nbgrader exited {returncode} after {seconds:.0f} s; full log: {log}")
        return False
    print(f"  {step}: done in {seconds:.0f} s (log: {log.relative_to(course.ROOT)})")
    return True


def release(_args):
    """Check the master notebook, rebuild the public check data and regenerate release/ from source/ (pictures drawn)."""
    try:
        validate.validate_master()
    except validate.MasterError as error:
        print(f"  release: the master notebook needs fixing first:\n{error}", file=sys.stderr)
        return False
    public_data.write()
    # nbgrader's release step draws the illustrations too (cnnkit.grading.illustrations.DrawIllustrations).
    ok = nbgrader("release", "generate_assignment", course.ASSIGNMENT, "--force")
    if ok:
        print(f"Release written to {course.RELEASE.relative_to(course.ROOT)}/ (commit it, then hand it out).")
    return ok


def put_samples(_args):
    """The sample submissions into submitted/, and their students, with names, into the gradebook."""
    students = samples.write_samples()
    roster.put_alembic_on_path()
    empty = dict.fromkeys(roster.COLUMNS)
    names = [
        {**empty, "id": s, "first_name": first, "last_name": last} for s, (first, last) in samples.SAMPLE_NAMES.items()
    ]
    roster.save(names, DB_URL)
    print(f"Sample submissions written to submitted/: {', '.join(students)}")
    return True


def autograde(args):
    """Autograde in parallel (one worker per core, or a Dask cluster); same results as `nbgrader autograde`."""
    args.root, args.assignment = str(course.ROOT), course.ASSIGNMENT
    try:
        code = coordinator.autograde(args)
    except KeyboardInterrupt:  # the grading processes and their kernels are already killed
        print("Interrupted: submissions graded so far are recorded (see the log).", file=sys.stderr)
        return False
    print(scores.table(DB_URL))
    records = run_summary.summary()
    print("\nSubmissions:\n" + "\n".join(f"  {line}" for line in run_summary.render(records)))
    print(
        f"Autograded notebooks: autograded/<student>/{course.ASSIGNMENT}/ ({integrity.FILE} beside each); "
        "scores: gradebook.db"
    )
    # Failed submissions are listed above with what to do; the run itself failed only if nbgrader broke on one.
    return code == 0 or not run_summary.needs_attention(records)


def feedback(args):
    ok = nbgrader("feedback", "generate_feedback", course.ASSIGNMENT, *(["--force"] if args.force else []))
    print("Feedback (HTML, one per student): feedback/<student>/cnn_step_by_step/cnn_step_by_step.html")
    return ok


def grades(_args):
    ok = nbgrader("grades", "export", "--to", "grades.csv")
    print("Grades (core and optional columns): grades.csv")
    return ok


def instructor_report(args):
    """Build reports/<assignment>/ from the gradebook and the autograded notebooks."""
    from cnnkit.results import report  # here: its charts' imports are a quarter second every other command would pay

    try:
        index = report.build_report(course.ROOT, course.ASSIGNMENT, getattr(args, "db", None))
    except report.ReportError as error:
        print(f"  report: {error}")
        return False
    print(f"Instructor report: {index.relative_to(course.ROOT)} (charts and CSV beside it)")
    return True


def demo(args):
    """The whole cycle on the sample submissions."""
    args.force, args.student, args.workers, args.scheduler = True, None, None, None
    args.timeout, args.dask, args.scratch, args.log = None, False, None, None
    args.tls, args.allow_plain_tcp_on_loopback = None, False
    print("1/6 Generate the student release")
    if not release(args):
        return False
    print("2/6 Put the sample submissions into submitted/")
    put_samples(args)
    print("3/6 Autograde every submission")
    ok = autograde(args)
    print("4/6 Generate feedback")
    ok = feedback(args) and ok
    print("5/6 Export grades")
    ok = grades(args) and ok
    print("6/6 Build the instructor report")
    ok = instructor_report(args) and ok
    print(
        "\nOutputs:\n  release/cnn_step_by_step/   the student release\n"
        "  submitted/                  the sample submissions\n"
        "  autograded/                 executed, graded notebooks\n"
        "  feedback/                   HTML feedback per student\n"
        "  grades.csv                  grades, core and optional apart\n"
        "  reports/cnn_step_by_step/   instructor report: index.html, charts, CSV\n"
        "  gradebook.db                nbgrader's gradebook (backed up in backups/ before each autograde)\n"
        "  logs/                       each step's log"
    )
    return ok


def import_roster(args):
    """Add or update the students of a roster CSV file in the gradebook (docs/lms.md)."""
    roster.put_alembic_on_path()
    try:
        created, updated = roster.import_roster(args.roster, args.db or DB_URL)
    except roster.RosterError as error:
        print(error, file=sys.stderr)
        return False
    print(f"{args.roster}: {created} students added, {updated} updated in {args.db or DB_URL}")
    return True


def cluster_certs(args):
    """Certificates for grading on a Dask cluster over mutual TLS (docs/parallel.md)."""
    from cnnkit.scale import tls

    folder = Path(args.folder or course.ROOT / tls.DEFAULT_FOLDER).absolute()
    days = args.days or tls.DEFAULT_DAYS
    try:
        tls.create(folder, days=days, force=args.force)
    except tls.ClusterError as error:
        print(error, file=sys.stderr)
        return False
    print(
        f"Cluster certificates written to {folder}/ (valid {days} days; the CA's key was not kept):\n"
        f"  scheduler host:     ca.crt scheduler.crt scheduler.key\n"
        f"  every grading host: ca.crt worker.crt worker.key\n"
        f"  course host:        ca.crt client.crt client.key (autograde --tls {folder}, "
        f"or keep them in {tls.DEFAULT_FOLDER}/ in the course root)\n"
        "Copy each key only to its host (scp -p keeps its mode 0600). The dask commands: docs/parallel.md."
    )
    return True


def print_scores(_args):
    print(scores.table(DB_URL))
    return True


def parser():
    commands = argparse.ArgumentParser(prog="cnnkit", description=__doc__.split("\n\n")[0])
    sub = commands.add_subparsers(dest="command", required=True, metavar="command")
    sub.add_parser("demo", help="the whole cycle on the sample submissions").set_defaults(run=demo)
    sub.add_parser("release", help="regenerate release/ from source/").set_defaults(run=release)
    sub.add_parser("samples", help="put the sample submissions into submitted/").set_defaults(run=put_samples)
    command = sub.add_parser("autograde", help="autograde submitted/ in parallel (docs/parallel.md)")
    command.set_defaults(run=autograde)
    command.add_argument("--force", action="store_true", help="regrade submissions already autograded")
    command.add_argument("--student", nargs="+", help="only these students (ids or nbgrader-style globs)")
    command.add_argument("--workers", type=int, help="grading processes (default: number of cores)")
    command.add_argument("--timeout", type=float, help="seconds per submission before it is killed")
    command.add_argument("--dask", action="store_true", help="run on a local Dask cluster (distributed)")
    command.add_argument("--scheduler", help="run on the Dask cluster at this address (tls://host:port)")
    command.add_argument(
        "--tls",
        type=Path,
        help="folder with ca.crt, client.crt and client.key from cluster-certs "
        "(default: $CNNKIT_CLUSTER_CERTS, else cluster-certs/ in the course root)",
    )
    command.add_argument(
        "--allow-plain-tcp-on-loopback",
        action="store_true",
        help="accept a tcp:// scheduler on a loopback address (unencrypted, open to every local user)",
    )
    command.add_argument("--scratch", help="folder for the grading processes' scratch courses (default: a temp dir)")
    command.add_argument("--log", type=Path, help=f"nbgrader's log of every submission (default: {outcomes.LOG_FILE})")
    command = sub.add_parser("feedback", help="HTML feedback for every autograded submission")
    command.set_defaults(run=feedback)
    command.add_argument("--force", action="store_true", help="regenerate feedback already generated")
    sub.add_parser("grades", help="export grades.csv").set_defaults(run=grades)
    sub.add_parser("scores", help="print the score table").set_defaults(run=print_scores)
    command = sub.add_parser("report", help="the instructor report in reports/<assignment>/ (docs/report.md)")
    command.set_defaults(run=instructor_report)
    command.add_argument("--db", help="gradebook URL (default: the course's gradebook.db)")
    command = sub.add_parser("roster", help="import a roster CSV into the gradebook (docs/lms.md)")
    command.set_defaults(run=import_roster)
    command.add_argument("roster", type=Path, help=f"CSV file with the columns {', '.join(roster.COLUMNS)}")
    command.add_argument("--db", help="gradebook URL (default: the course's gradebook.db)")
    command = sub.add_parser("cluster-certs", help="certificates for a Dask cluster over TLS (docs/parallel.md)")
    command.set_defaults(run=cluster_certs)
    command.add_argument("folder", nargs="?", type=Path, help="where to write them (default: cluster-certs/)")
    command.add_argument("--days", type=int, help="how long they are valid (default: 400)")
    command.add_argument("--force", action="store_true", help="replace certificates already in the folder")
    return commands


def main(argv=None):
    args = parser().parse_args(argv)
    return 0 if args.run(args) else 1


if __name__ == "__main__":
    sys.exit(main())
