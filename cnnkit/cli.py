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

from cnnkit import course, parallel, public_data, report, runreport, samples, scores

DB_URL = f"sqlite:///{course.ROOT / 'gradebook.db'}"
LOGS = course.ROOT / "logs"


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
    """Rebuild the public check data and regenerate release/ from source/."""
    public_data.write()
    ok = nbgrader("release", "generate_assignment", course.ASSIGNMENT, "--force")
    if ok:
        print(f"Release written to {course.RELEASE.relative_to(course.ROOT)}/ (commit it, then hand it out).")
    return ok


def put_samples(_args):
    students = samples.write_samples()
    print(f"Sample submissions written to submitted/: {', '.join(students)}")
    return True


def autograde(args):
    """Autograde in parallel (one worker per core, or a Dask cluster); same results as `nbgrader autograde`."""
    argv = ["autograde", "--root", str(course.ROOT)]
    argv += ["--force"] if args.force else []
    argv += ["--student", args.student] if args.student else []
    argv += ["--workers", str(args.workers)] if args.workers else []
    argv += ["--scheduler", args.scheduler] if args.scheduler else []
    print("  autograde: python -m cnnkit.parallel " + " ".join(argv[1:]), flush=True)
    parallel.main(argv)
    print(scores.table(DB_URL))
    lines = runreport.run_report()
    print("\nSubmissions:\n" + "\n".join(f"  {line}" for line in lines))
    print(
        "Autograded notebooks: autograded/<student>/cnn_step_by_step/ (integrity.json beside each); "
        "scores: gradebook.db"
    )
    # Failed submissions are listed above with what to do; the run itself failed only if nbgrader broke on one.
    return not any("NOT GRADED" in line and "nbgrader failed" in line for line in lines)


def feedback(args):
    ok = nbgrader("feedback", "generate_feedback", course.ASSIGNMENT, *(["--force"] if args.force else []))
    print("Feedback (HTML, one per student): feedback/<student>/cnn_step_by_step/cnn_step_by_step.html")
    return ok


def grades(_args):
    ok = nbgrader("grades", "export", "--to", "grades.csv")
    print("Grades (core and optional columns): grades.csv")
    return ok


def instructor_report(_args):
    """Build reports/<assignment>/ from the gradebook and the autograded notebooks."""
    try:
        index = report.build_report(course.ROOT, course.ASSIGNMENT)
    except report.ReportError as error:
        print(f"  report: {error}")
        return False
    print(f"Instructor report: {index.relative_to(course.ROOT)} (charts and CSV beside it)")
    return True


def demo(args):
    """The whole cycle on the sample submissions."""
    args.force, args.student, args.workers, args.scheduler = True, None, None, None
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


COMMANDS = {
    "release": release,
    "samples": put_samples,
    "autograde": autograde,
    "feedback": feedback,
    "grades": grades,
    "report": instructor_report,
    "demo": demo,
    "scores": lambda _args: print(scores.table(DB_URL)) or True,
}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m cnnkit", description=__doc__)
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument("--force", action="store_true", help="redo work already done (autograde, feedback)")
    parser.add_argument("--student", help="only this student (autograde)")
    parser.add_argument("--workers", type=int, help="parallel autograde workers (default: cores)")
    parser.add_argument("--scheduler", help="autograde on this Dask cluster (tcp://host:port)")
    args = parser.parse_args(argv)
    return 0 if COMMANDS[args.command](args) else 1


if __name__ == "__main__":
    sys.exit(main())
