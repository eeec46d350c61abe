"""Throughput of autograding a class: stock nbgrader, the kit with 1 and N workers, and the floor.

Run: .venv/bin/python benchmarks/autograde_throughput.py [--submissions M] [--workers N] [--rounds R]

It makes M synthetic submissions (default 12): in turn correct, wrong (the planted mistakes of
the sample-partial submission), untouched (the release) and slow (correct, plus about 1.5 s of
busy loop in one answer cell), puts them in identical temporary courses and times, in one run:

- stock:  `nbgrader autograde` (sequential), this repo's nbgrader_config.py;
- kit-1:  `python -m cnnkit.parallel autograde --workers 1`;
- kit-N:  `python -m cnnkit.parallel autograde --workers N` (N = cores by default);
- floor:  the notebooks nbgrader executed (their cells, hidden tests included), each run with
          nbclient in a fresh kernel, one after the other: no nbgrader, no gradebook, no kit.

Each time is the whole command's wall clock (start-up included), the median of R rounds
(each round runs every mode once, in turn, on a fresh copy of the submissions, so that a
change in the machine's load hits every mode alike). It prints submissions per minute,
kit-N / stock and kit-1 / stock speed-ups, kit-1's overhead over the floor, the CPU seconds
each mode used (its processes and their kernels: less sensitive to other jobs on the
machine than wall clock), checks that the kit's scores equal stock's, and shows the load
average before and after.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cnnkit import course, notebook, samples, scores  # noqa: E402
from tests.conftest import BIN, copy_course, db_url, run_nbgrader  # noqa: E402

SLOW = "import time as _time\n_until = _time.perf_counter() + 1.5\nwhile _time.perf_counter() < _until:\n    pass\n"


def synthetic_submissions(count):
    """student -> notebook: correct, wrong, untouched and slow submissions, in turn."""
    answers = notebook.solutions()
    release = samples.release_notebook()
    kinds = {
        "correct": answers,
        "wrong": samples.SAMPLES["sample-partial"][0](answers),
        "untouched": {},
        "slow": {**answers, "conv_forward": SLOW + answers["conv_forward"]},
    }
    names = list(kinds)
    return {
        f"{index:03d}-{names[index % 4]}": notebook.fill_in(release, kinds[names[index % 4]]) for index in range(count)
    }


def make_base(workdir, count):
    """A course with the release generated and the synthetic submissions submitted."""
    base = copy_course(workdir / "base")
    run_nbgrader(base, "generate_assignment", course.ASSIGNMENT, "--force")
    for student, nb in synthetic_submissions(count).items():
        samples.write_submission(base, student, nb)
    return base


def cpu_seconds():
    """CPU seconds used so far by this process and its waited-for descendants (commands, kernels)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(label, command, cwd):
    """(wall seconds, CPU seconds) of the command; fails loudly if it failed."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    cpu, started = cpu_seconds(), time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    if result.returncode != 0:
        raise SystemExit(f"{label} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    print(f"  {label:<8} {seconds:7.1f} s  ({cpu:.1f} s CPU)", flush=True)
    return seconds, cpu


def run_floor(graded_root, students):
    """(wall, CPU) seconds to execute each autograded notebook's cells with nbclient, a fresh kernel each."""
    import nbformat
    from nbclient import NotebookClient

    cpu, started = cpu_seconds(), time.perf_counter()
    for student in students:
        folder = graded_root / "autograded" / student / course.ASSIGNMENT
        scratch = Path(tempfile.mkdtemp(prefix="floor-"))
        for path in folder.iterdir():
            shutil.copy(path, scratch / path.name)
            os.chmod(scratch / path.name, 0o644)
        nb = nbformat.read(str(scratch / f"{course.ASSIGNMENT}.ipynb"), as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = []
        client = NotebookClient(nb, timeout=120, allow_errors=True, resources={"metadata": {"path": str(scratch)}})
        client.execute()
        shutil.rmtree(scratch)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    print(f"  {'floor':<8} {seconds:7.1f} s  ({cpu:.1f} s CPU)", flush=True)
    return seconds, cpu


def same_scores(a, b, students):
    return all(scores.cell_scores(db_url(a), s) == scores.cell_scores(db_url(b), s) for s in students)


def one_round(base, workdir, round_index, students, workers):
    """mode -> (wall, CPU) seconds, each mode on a fresh copy of the submissions."""
    roots = {mode: workdir / f"{mode}-{round_index}" for mode in ("stock", "kit-1", "kit-N")}
    for root in roots.values():
        shutil.copytree(base, root)
    kit = [sys.executable, "-m", "cnnkit.parallel", "autograde"]
    measured = {
        "stock": timed("stock", [str(BIN / "nbgrader"), "autograde", course.ASSIGNMENT], roots["stock"]),
        "kit-1": timed("kit-1", [*kit, "--workers", "1"], roots["kit-1"]),
        "kit-N": timed("kit-N", [*kit, "--workers", str(workers)], roots["kit-N"]),
        "floor": run_floor(roots["stock"], students),
    }
    equal = same_scores(roots["stock"], roots["kit-1"], students) and same_scores(
        roots["stock"], roots["kit-N"], students
    )
    for root in roots.values():
        shutil.rmtree(root)
    return measured, equal


def report(rounds, submissions, workers, equal, load_before):
    """The summary: medians over the rounds."""
    wall = {mode: statistics.median(r[mode][0] for r in rounds) for mode in rounds[0]}
    cpu = {mode: statistics.median(r[mode][1] for r in rounds) for mode in rounds[0]}
    return {
        "submissions": submissions,
        "workers": workers,
        "cores": len(os.sched_getaffinity(0)),
        "rounds": len(rounds),
        "median_seconds": {mode: round(s, 1) for mode, s in wall.items()},
        "median_cpu_seconds": {mode: round(s, 1) for mode, s in cpu.items()},
        "submissions_per_minute": {mode: round(submissions / s * 60, 2) for mode, s in wall.items()},
        "speedup_kit_N_over_stock": round(wall["stock"] / wall["kit-N"], 2),
        "speedup_kit_1_over_stock": round(wall["stock"] / wall["kit-1"], 2),
        "kit_1_overhead_over_floor": round(wall["kit-1"] / wall["floor"] - 1, 3),
        "kit_1_cpu_over_stock_cpu": round(cpu["kit-1"] / cpu["stock"], 3),
        "kit_scores_equal_stock": equal,
        "load_average_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=12)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cnnkit-throughput-"))
    load_before = os.getloadavg()[0]
    try:
        base = make_base(workdir, args.submissions)
        students = sorted(synthetic_submissions(args.submissions))
        print(f"{args.submissions} submissions, {args.workers} workers, {len(os.sched_getaffinity(0))} cores")
        rounds, equal = [], True
        for index in range(args.rounds):
            print(f"round {index + 1} of {args.rounds}")
            measured, same = one_round(base, workdir, index, students, args.workers)
            rounds.append(measured)
            equal = equal and same
        print(json.dumps(report(rounds, args.submissions, args.workers, equal, load_before), indent=2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
