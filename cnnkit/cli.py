"""The kit's commands: python -m cnnkit <command>. The Makefile wraps each one.

Every command runs the plain nbgrader command underneath (so the same steps can be
run by hand from the repo root) and ends by saying what it produced and where.
"""

import argparse
import os
import subprocess
import sys
import time

from cnnkit import course, public_data, runreport, samples, scores

DB_URL = f"sqlite:///{course.ROOT / 'gradebook.db'}"
LOGS = course.ROOT / "logs"


def nbgrader(step, *args):
    """Run one nbgrader command from the repo root; its log goes to logs/<step>.log."""
    LOGS.mkdir(exist_ok=True)
    log = LOGS / f"{step}.log"
    bin_dir = os.path.dirname(sys.executable)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    command = [os.path.join(bin_dir, "nbgrader"), *args]
    started = time.perf_counter()
    print(f"  {step}: nbgrader {' '.join(args)} ...", flush=True)
    with open(log, "w") as handle:
        result = subprocess.run(command, cwd=course.ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        tail = log.read_text().splitlines()[-15:]
        print("\n".join(f"    | {line}" for line in tail))
        print(f"  {step}: nbgrader exited {result.returncode} after {seconds:.0f} s; full log: {log}")
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
    extra = ["--force"] if args.force else []
    extra += [f"--student={args.student}"] if args.student else []
    nbgrader("autograde", "autograde", course.ASSIGNMENT, *extra)
    print(scores.table(DB_URL))
    lines = runreport.run_report()
    print("\nSubmissions:\n" + "\n".join(f"  {line}" for line in lines))
    print(
        "Autograded notebooks: autograded/<student>/cnn_step_by_step/ (integrity.json beside each); "
        "scores: gradebook.db"
    )
    # nbgrader exits 1 when any submission failed; the report above says which, so the run itself succeeded.
    return not any("NOT GRADED" in line and "nbgrader failed" in line for line in lines)


def feedback(args):
    ok = nbgrader("feedback", "generate_feedback", course.ASSIGNMENT, *(["--force"] if args.force else []))
    print("Feedback (HTML, one per student): feedback/<student>/cnn_step_by_step/cnn_step_by_step.html")
    return ok


def grades(_args):
    ok = nbgrader("grades", "export", "--to", "grades.csv")
    print("Grades (core and optional columns): grades.csv")
    return ok


def demo(args):
    """The whole cycle on the sample submissions."""
    args.force, args.student = True, None
    print("1/5 Generate the student release")
    if not release(args):
        return False
    print("2/5 Put the sample submissions into submitted/")
    put_samples(args)
    print("3/5 Autograde every submission")
    ok = autograde(args)
    print("4/5 Generate feedback")
    ok = feedback(args) and ok
    print("5/5 Export grades")
    ok = grades(args) and ok
    print(
        "\nOutputs:\n  release/cnn_step_by_step/   the student release\n"
        "  submitted/                  the sample submissions\n"
        "  autograded/                 executed, graded notebooks\n"
        "  feedback/                   HTML feedback per student\n"
        "  grades.csv                  grades, core and optional apart\n"
        "  gradebook.db                nbgrader's gradebook\n  logs/                       each step's log"
    )
    return ok


COMMANDS = {
    "release": release,
    "samples": put_samples,
    "autograde": autograde,
    "feedback": feedback,
    "grades": grades,
    "demo": demo,
    "scores": lambda _args: print(scores.table(DB_URL)) or True,
}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m cnnkit", description=__doc__)
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument("--force", action="store_true", help="redo work already done (autograde, feedback)")
    parser.add_argument("--student", help="only this student (autograde)")
    args = parser.parse_args(argv)
    return 0 if COMMANDS[args.command](args) else 1


if __name__ == "__main__":
    sys.exit(main())
