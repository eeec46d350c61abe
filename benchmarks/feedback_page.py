"""How much CPU one feedback page costs the grading process: `nbgrader generate_feedback` for one student, in-process.

Run: .venv/bin/python benchmarks/feedback_page.py COURSE [--rounds N]

COURSE is a course folder whose submissions were autograded already (after `make demo`, the repository
itself; or a scratch clone). The grading process makes each student's page right after grading them, in
the process that graded them (cnnkit/scale/worker.py, feedback_in_process); this does the same, through
the same call, for every autograded student in turn, N rounds, and prints the CPU seconds (process_time)
of each page: the first round is a cold process's, later rounds a warm one's. Pages are written to the
course's feedback/ folder, as `make feedback` would.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cnnkit import compat, course  # noqa: E402


def one_page(root, student):
    """CPU seconds of `nbgrader generate_feedback` for one student, as the grading process runs it."""
    started = time.process_time()
    code, log = compat.run_nbgrader_in(
        root, ["generate_feedback", course.ASSIGNMENT, f"--student={student}", "--force"]
    )
    spent = time.process_time() - started
    if code not in (0, None):
        raise SystemExit(f"generate_feedback failed for {student} (exit {code}):\n{log[-2000:]}")
    return spent


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("course", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    root = args.course.resolve()
    students = sorted(path.name for path in (root / "autograded").iterdir() if path.is_dir())
    if not students:
        raise SystemExit(f"nothing autograded in {root}: run `make demo` there first")
    compat.skip_unused_slow_imports()
    rounds = []
    for number in range(1, args.rounds + 1):
        seconds = [one_page(root, student) for student in students]
        rounds.append(seconds)
        print(f"round {number}: " + "  ".join(f"{who} {s:.3f}" for who, s in zip(students, seconds)))
    later = [s for seconds in rounds[1:] for s in seconds]
    print(f"first page (cold process): {rounds[0][0]:.3f} s CPU")
    if later:
        print(f"warm pages: median {statistics.median(later):.3f} s CPU (min {min(later):.3f}, max {max(later):.3f})")


if __name__ == "__main__":
    main()
