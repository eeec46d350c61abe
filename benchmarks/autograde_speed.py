"""How long one full autograde of a correct, loop-based submission takes, and what the hidden tests cost.

Run: .venv/bin/python benchmarks/autograde_speed.py [--repeat N]

It grades the master notebook's own (loop-based) solutions as a submission, N times,
in a temporary copy of the course, and prints for each run the wall-clock seconds of
`nbgrader autograde`, the seconds the student's functions spent on the public and
hidden cases (measured in the kernel), the seconds the trusted verification took,
and the slowest check cell against the execution timeout.
"""

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cnnkit import course
from cnnkit.records.verdict import VERDICT_MIME  # noqa: E402
from cnnkit.spec import notebook, samples  # noqa: E402
from tests.support import copy_course, run_nbgrader  # noqa: E402


def verdict_timings(root, student):
    """function -> {'student_code': s, 'verify': s} read from the autograded notebook."""
    path = root / "autograded" / student / course.ASSIGNMENT / f"{course.ASSIGNMENT}.ipynb"
    timings = {}
    for cell in notebook.read(path).cells:
        for output in cell.get("outputs", []):
            summary = output.get("data", {}).get(VERDICT_MIME)
            if summary:
                timings[summary["function"]] = summary["seconds"]
    return timings


def execution_timeout(root):
    """The cell timeout the course's nbgrader_config.py sets, loaded as nbgrader loads it (it names the time policy's)."""
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config().Execute.timeout


def one_run(root, index):
    student = f"loop-solution-{index}"
    nb = notebook.fill_in(samples.release_notebook(), notebook.solutions())
    samples.write_submission(root, student, nb)
    started = time.perf_counter()
    run_nbgrader(root, "autograde", course.ASSIGNMENT, f"--student={student}")
    wall = time.perf_counter() - started
    return wall, verdict_timings(root, student)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cnnkit-bench-"))
    try:
        root = copy_course(workdir / "course")
        run_nbgrader(root, "generate_assignment", course.ASSIGNMENT, "--force")
        print(f"{'run':>3} {'autograde s':>12} {'student code s':>15} {'verify s':>9} {'slowest fn s':>13}")
        rows = []
        for index in range(args.repeat):
            wall, timings = one_run(root, index)
            code = sum(t["student_code"] for t in timings.values())
            verify = sum(t["verify"] for t in timings.values())
            slowest = max(timings.items(), key=lambda item: item[1]["student_code"])
            rows.append((wall, code, verify))
            print(
                f"{index + 1:>3} {wall:>12.2f} {code:>15.2f} {verify:>9.2f} {slowest[1]['student_code']:>9.2f} ({slowest[0]})"
            )
        wall, code, verify = (sorted(column)[len(column) // 2] for column in zip(*rows))
        print(
            json.dumps(
                {
                    "median_autograde_seconds": round(wall, 2),
                    "median_hidden_tests_seconds": round(code + verify, 2),
                    "hidden_tests_share_of_autograde": round((code + verify) / wall, 3),
                    "execution_timeout_seconds": execution_timeout(root),
                },
                indent=2,
            )
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
