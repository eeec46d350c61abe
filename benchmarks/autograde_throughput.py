"""Throughput of autograding a class: stock nbgrader, the kit with 1 and N workers, and the floor.

Run: .venv/bin/python benchmarks/autograde_throughput.py [--submissions M] [--workers N] [--rounds R]
     .venv/bin/python benchmarks/autograde_throughput.py --sizes 12 24 48 96 [--modes stock kit-N]

It makes M synthetic submissions (default 12): in turn correct, wrong (the planted mistakes of
the sample-partial submission), untouched (the release) and slow (correct, plus about 1.5 s of
busy loop in one answer cell), puts them in identical temporary courses and times, in one run:

- stock:  `nbgrader autograde` (sequential), this repo's nbgrader_config.py;
- kit-1:  `python -m cnnkit autograde --workers 1`;
- kit-N:  `python -m cnnkit autograde --workers N` (N = cores by default);
- floor:  the notebooks nbgrader executed (their cells, hidden tests included), each run with
          nbclient in a fresh kernel, one after the other: no nbgrader, no gradebook, no kit,
          no sandbox, and its imports done before the clock starts;
- floor-N: the same split into N processes running side by side (their start-up included):
          how much faster N streams of bare notebook execution get on this machine at all,
          the ceiling for kit-N's speed-up.

kit-N is what `make autograde` runs (`python -m cnnkit autograde`, one worker per core by default).

Each time is the whole command's wall clock (start-up included), the median of R rounds
(each round runs every mode once, in turn, on a fresh copy of the submissions, so that a
change in the machine's load hits every mode alike). It prints a table of every mode (wall,
submissions per minute, CPU), then the ratios: kit-N / stock and kit-1 / stock speed-ups, kit-N
and kit-1 time over the floor's (the sequential nbclient run), kit-N's over floor-N's, floor-N's own
speed-up; the CPU seconds are the machine's busy time during each mode (all cores: sandboxed kernels
are not children the command waits for, so its rusage would miss them); it checks that the kit's
scores equal stock's, and shows the load average before and after. Then the same as JSON.

--sizes: cost growth instead. For each number of submissions (the first ones of the same synthetic
class), the modes given (default stock and kit-N), in turn within each round; a table of the wall and
CPU seconds per submission at each size, and kit-N's speed-up over stock at each size.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cnnkit import course
from cnnkit.results import scores  # noqa: E402
from cnnkit.spec import notebook, samples
from tests.support import BIN, copy_course, db_url, run_nbgrader  # noqa: E402

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


def first_submissions(base, target, count):
    """A copy of base holding only its first count submissions (the same students as a class of count)."""
    shutil.copytree(base, target)
    for student in sorted(os.listdir(target / "submitted"))[count:]:
        shutil.rmtree(target / "submitted" / student)
    return target


def cpu_seconds():
    """CPU seconds the whole machine has been busy (all cores, /proc/stat).

    Machine-wide on purpose: sandboxed kernels live in PID namespaces of their own and are never
    waited for by the command, so getrusage would not count them. Other jobs on the machine count
    too: compare modes within one run, on an otherwise idle machine.
    """
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


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


# The kernels nbgrader starts here run in the kit's sandbox with one BLAS thread; the floor's too, so
# that N floor streams do not fight over the cores with BLAS threads the graded kernels never have.
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def execute_floor(graded_root, students):
    """Execute each autograded notebook's cells with nbclient, a fresh kernel each, one after the other."""
    import nbformat
    from nbclient import NotebookClient

    for student in students:
        folder = Path(graded_root) / "autograded" / student / course.ASSIGNMENT
        scratch = Path(tempfile.mkdtemp(prefix="floor-"))
        for path in folder.iterdir():
            shutil.copy(path, scratch / path.name)
            os.chmod(scratch / path.name, 0o644)
        nb = nbformat.read(str(scratch / f"{course.ASSIGNMENT}.ipynb"), as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = []
        client = NotebookClient(nb, timeout=120, allow_errors=True, resources={"metadata": {"path": str(scratch)}})
        client.execute(env={**os.environ, **ONE_THREAD})
        shutil.rmtree(scratch)


def run_floor(graded_root, students):
    """(wall, CPU) seconds of execute_floor in this process (its imports done: the strictest floor)."""
    import nbclient  # noqa: F401  (imported before the clock starts)

    cpu, started = cpu_seconds(), time.perf_counter()
    execute_floor(graded_root, students)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    print(f"  {'floor':<8} {seconds:7.1f} s  ({cpu:.1f} s CPU)", flush=True)
    return seconds, cpu


def run_parallel_floor(graded_root, students, streams):
    """(wall, CPU) seconds of the floor split into `streams` processes running side by side (start-up included)."""
    command = [sys.executable, __file__, "--floor-stream", str(graded_root)]
    cpu, started = cpu_seconds(), time.perf_counter()
    processes = [
        subprocess.Popen([*command, *students[index::streams]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for index in range(streams)
    ]
    if any(process.wait() for process in processes):
        raise SystemExit("a floor stream failed")
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    print(f"  {'floor-N':<8} {seconds:7.1f} s  ({cpu:.1f} s CPU)", flush=True)
    return seconds, cpu


def same_scores(a, b, students):
    return all(scores.cell_scores(db_url(a), s) == scores.cell_scores(db_url(b), s) for s in students)


MODES = ("stock", "kit-1", "kit-N", "floor", "floor-N")


def one_round(base, workdir, round_index, students, workers, modes=MODES):
    """mode -> (wall, CPU) seconds, each mode on a fresh copy of the submissions; and whether scores agree."""
    graders = [mode for mode in modes if not mode.startswith("floor")]
    roots = {mode: workdir / f"{mode}-{round_index}" for mode in graders}
    for root in roots.values():
        shutil.copytree(base, root)
    kit = [sys.executable, "-m", "cnnkit", "autograde"]
    commands = {
        "stock": [str(BIN / "nbgrader"), "autograde", course.ASSIGNMENT],
        "kit-1": [*kit, "--workers", "1"],
        "kit-N": [*kit, "--workers", str(workers)],
    }
    measured = {mode: timed(mode, commands[mode], roots[mode]) for mode in graders}
    floors = [mode for mode in modes if mode.startswith("floor")]
    if floors and not graders:
        raise SystemExit("the floor needs one grading mode too (it runs the notebooks that mode executed)")
    if "floor" in floors:  # the floor runs the notebooks a grader executed (the first mode that ran)
        measured["floor"] = run_floor(roots[graders[0]], students)
    if "floor-N" in floors:
        measured["floor-N"] = run_parallel_floor(roots[graders[0]], students, workers)
    equal = all(same_scores(roots[graders[0]], roots[mode], students) for mode in graders[1:])
    for root in roots.values():
        shutil.rmtree(root)
    return measured, equal


def ratio(wall, numerator, denominator):
    """wall[numerator] / wall[denominator], or None if a mode did not run."""
    if numerator not in wall or denominator not in wall:
        return None
    return round(wall[numerator] / wall[denominator], 2)


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
        "speedup_kit_N_over_stock": ratio(wall, "stock", "kit-N"),
        "speedup_kit_1_over_stock": ratio(wall, "stock", "kit-1"),
        "kit_N_time_over_floor": ratio(wall, "kit-N", "floor"),
        "kit_1_time_over_floor": ratio(wall, "kit-1", "floor"),
        "kit_N_time_over_floor_N": ratio(wall, "kit-N", "floor-N"),
        "speedup_floor_N_over_floor": ratio(wall, "floor", "floor-N"),
        "kit_1_cpu_over_stock_cpu": ratio(cpu, "kit-1", "stock"),
        "kit_scores_equal_stock": equal,
        "load_average_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def print_table(summary):
    """The summary as a table and ratio lines that paste into docs/parallel.md."""
    stock = summary["median_seconds"].get("stock")
    print("\n| mode | wall s | submissions / min | vs stock | CPU s |")
    print("|---|---|---|---|---|")
    for mode, seconds in summary["median_seconds"].items():
        versus = f"{stock / seconds:.2f}x" if stock and not mode.startswith("floor") else ""
        print(
            f"| {mode} | {seconds} | {summary['submissions_per_minute'][mode]} | {versus} | "
            f"{summary['median_cpu_seconds'][mode]} |"
        )
    print()
    for key in RATIOS:
        if summary.get(key) is not None:
            print(f"{key}: {summary[key]}")
    print(
        f"scores equal stock's: {summary['kit_scores_equal_stock']}; load before/after: {summary['load_average_before_after']}"
    )


def growth(base, workdir, sizes, workers, rounds, modes):
    """{size: [measured per round]}: each size's class graded by each mode, the sizes in turn within a round."""
    found = {size: [] for size in sizes}
    for index in range(rounds):
        for size in sizes:
            print(f"round {index + 1} of {rounds}: {size} submissions", flush=True)
            sized = first_submissions(base, workdir / f"size-{size}-{index}", size)
            students = sorted(os.listdir(sized / "submitted"))
            measured, equal = one_round(sized, workdir, index, students, workers, modes)
            if not equal:
                raise SystemExit(f"{size} submissions: the kit's scores differ from stock's")
            found[size].append(measured)
            shutil.rmtree(sized)
    return found


def print_growth(found, modes, load_before):
    """The cost growth table: per submission, at each size (medians over the rounds)."""
    print(
        "\n| submissions | " + " | ".join(f"{mode} s | {mode} s / sub | {mode} CPU s / sub" for mode in modes), end=""
    )
    print(" | kit-N speed-up |" if {"stock", "kit-N"} <= set(modes) else " |")
    print("|---" * (1 + 3 * len(modes) + ({"stock", "kit-N"} <= set(modes))) + "|")
    for size, rounds in found.items():
        wall = {mode: statistics.median(r[mode][0] for r in rounds) for mode in modes}
        cpu = {mode: statistics.median(r[mode][1] for r in rounds) for mode in modes}
        cells = [f"{wall[m]:.1f} | {wall[m] / size:.2f} | {cpu[m] / size:.2f}" for m in modes]
        speedup = [f"{wall['stock'] / wall['kit-N']:.2f}x"] if {"stock", "kit-N"} <= set(modes) else []
        print(f"| {size} | " + " | ".join(cells + speedup) + " |")
    print(f"load average before/after: {load_before:.2f}/{os.getloadavg()[0]:.2f}")


RATIOS = (
    "speedup_kit_N_over_stock",
    "speedup_kit_1_over_stock",
    "kit_N_time_over_floor",
    "kit_1_time_over_floor",
    "kit_N_time_over_floor_N",
    "speedup_floor_N_over_floor",
    "kit_1_cpu_over_stock_cpu",
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=12)
    parser.add_argument("--sizes", type=int, nargs="+", help="cost growth: these numbers of submissions instead")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--modes", nargs="+", choices=MODES, help="only these (default: all; with --sizes: stock kit-N)"
    )
    parser.add_argument("--floor-stream", nargs="+", metavar=("COURSE", "STUDENT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_stream:  # one stream of floor-N, in a process of its own
        execute_floor(args.floor_stream[0], args.floor_stream[1:])
        return
    workdir = Path(tempfile.mkdtemp(prefix="cnnkit-throughput-"))
    load_before = os.getloadavg()[0]
    cores = len(os.sched_getaffinity(0))
    try:
        if args.sizes:
            modes = args.modes or ["stock", "kit-N"]
            base = make_base(workdir, max(args.sizes))
            print(f"sizes {args.sizes}, modes {modes}, {args.workers} workers, {cores} cores, load {load_before:.2f}")
            print_growth(growth(base, workdir, args.sizes, args.workers, args.rounds, modes), modes, load_before)
            return
        base = make_base(workdir, args.submissions)
        students = sorted(synthetic_submissions(args.submissions))
        print(f"{args.submissions} submissions, {args.workers} workers, {cores} cores, load {load_before:.2f}")
        rounds, equal = [], True
        for index in range(args.rounds):
            print(f"round {index + 1} of {args.rounds}")
            measured, same = one_round(base, workdir, index, students, args.workers, args.modes or MODES)
            rounds.append(measured)
            equal = equal and same
        summary = report(rounds, args.submissions, args.workers, equal, load_before)
        print_table(summary)
        print(json.dumps(summary, indent=2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
