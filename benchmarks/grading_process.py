"""What one warm grading process costs per submission: wall and CPU per job, this checkout against another.

Run as root: .venv/bin/python benchmarks/grading_process.py [--against DIR] [--jobs 6] [--rounds 3] [--gap S]

One real grading process (cnnkit.scale.pool.GradingProcess, as the engine starts them) grades, one job
after the other, the master's solutions as a submission: a first job (with feedback: the cold one, reported
on its own), then --jobs jobs without feedback and --jobs with it, every outcome recorded into the course as
the engine records it. --gap seconds pass between two jobs (0: back to back, a queue that never empties;
a gap is what an idle grading process on the hub sees between two students).

Per job: wall (sending the job -> its outcome back), the grading process's own CPU, and the CPU of its whole
tree: the process, the sandbox launchers, bwrap, the kernels and the spare kernel booting for the next
job. The tree is measured with a cpuacct control group (cgroup v1) holding the measuring process and all its
descendants, minus the measuring process's own CPU: the sandbox moves its kernels into memory and pids groups
only, so cpuacct still counts them. Also the start-up of the process (interpreter, nbgrader, preload, first
spare) and the whole tree's CPU over the run divided by the jobs.

With --against DIR (another checkout of this repository, e.g. the integration branch), each round measures
that checkout's kit and this one's, in turn, with the same jobs: the machine's load hits both alike. Rounds
are repeated (--rounds); every figure is given as the median and the spread (min-max) over all jobs of all
rounds, and the ratio this / against of the medians. Hold the heavy lock around the whole run (docs/parallel.md).

--kernel-stops K also measures K sandboxed kernels stopped each way, side by side: ipykernel's graceful
shutdown and the kit's stop at once (SIGTERM to the launcher): wall, and the kernel's CPU.
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
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
CPUACCT = Path("/sys/fs/cgroup/cpuacct")
QUIET = 0.01  # CPU seconds per QUIET_LOOK below which the grading process counts as idle after its start
QUIET_LOOK = 0.25


# ------------------------------------------------------------------ inside one measuring process


def tree_cpu(group):
    return int((group / "cpuacct.usage").read_text()) / 1e9


def process_cpu(pid):
    """user + system CPU seconds of one process (/proc/<pid>/stat); nan once it is gone (its job failed)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Window:
    """CPU and wall over a with block: the whole tree's (minus this process's own) and the grading process's."""

    def __init__(self, group, pid):
        self.group, self.pid = group, pid

    def __enter__(self):
        self.wall, self.own = time.perf_counter(), time.process_time()
        self.tree, self.gp = tree_cpu(self.group), process_cpu(self.pid)
        return self

    def __exit__(self, *_exception):
        own = time.process_time() - self.own
        self.figures = {
            "wall": time.perf_counter() - self.wall,
            "gp_cpu": process_cpu(self.pid) - self.gp,
            "tree_cpu": tree_cpu(self.group) - self.tree - own,
        }


def wait_until_idle(group):
    """Until the tree has been quiet for a second (the process imported nbgrader and its first spare booted)."""
    last, quiet = tree_cpu(group), 0
    while quiet < 4:
        time.sleep(QUIET_LOOK)
        now = tree_cpu(group)
        quiet = quiet + 1 if now - last < QUIET else 0
        last = now


def prepare(base, students):
    """A course with the release generated and the master's solutions submitted by each student."""
    from cnnkit import course
    from cnnkit.spec import notebook, samples
    from tests.support import copy_course, run_nbgrader

    copy_course(base)
    run_nbgrader(base, "generate_assignment", course.ASSIGNMENT, "--force")
    answers = notebook.fill_in(samples.release_notebook(), notebook.solutions())
    for student in students:
        samples.write_submission(base, student, answers)


def plan(jobs):
    """[(student, feedback)]: the cold first job, then jobs without feedback, then with."""
    return (
        [("s00-first", True)]
        + [(f"s{k:02d}-plain", False) for k in range(1, jobs + 1)]
        + [(f"s{k:02d}-feedback", True) for k in range(jobs + 1, 2 * jobs + 1)]
    )


def measure(base, jobs, gap, group):
    """One grading process through plan(jobs) in a copy of base; a JSON-able record of every figure."""
    from cnnkit import course
    from cnnkit.scale import course_start
    from cnnkit.scale.course_view import Course
    from cnnkit.scale.pool import GradingProcess
    from cnnkit.scale.transport import course_bundle, gradebook_snapshot, write_once

    work = Path(tempfile.mkdtemp(prefix="cnnkit-gp-bench-"))
    try:
        root = work / "course"
        shutil.copytree(base, root)
        digest, data = course_bundle(root)
        bundle = write_once(work / f"course-{digest}.tar.gz", data)
        process = GradingProcess(bundle, Path(tempfile.mkdtemp(prefix="grader-", dir=work)))
        own = time.process_time()
        tree = tree_cpu(group)
        process.start()
        course_start.prepare(root, course.ASSIGNMENT)
        view = Course(root, course.ASSIGNMENT, True)
        snapshot_digest, snapshot = gradebook_snapshot(view.sqlite_path())
        snapshot_path = write_once(work / f"gradebook-{snapshot_digest}.db", snapshot)
        wait_until_idle(group)
        record = {
            "start_up": {"tree_cpu": tree_cpu(group) - tree - (time.process_time() - own)},
            "jobs": [],
            "load": os.getloadavg()[0],
        }
        record["start_up"]["gp_cpu"] = process_cpu(process.process.pid)
        steps = plan(jobs)
        run_tree, run_own = tree_cpu(group), time.process_time()
        for index, (student, feedback) in enumerate(steps):
            job = {**view.job(student, str(snapshot_path)), "snapshot_digest": snapshot_digest, "feedback": feedback}
            job["spare_kernel"] = index < len(steps) - 1
            with Window(group, process.process.pid) as window:
                outcome = process.grade(job, 600)
            if outcome["status"] != "graded" or (feedback and outcome["feedback"] is None):
                raise SystemExit(f"{student}: {outcome['status']} {outcome['message']}\n{outcome['log'][-3000:]}")
            view.record(outcome)
            kind = "first" if index == 0 else "feedback" if feedback else "plain"
            record["jobs"].append({"kind": kind, **window.figures})
            time.sleep(gap)
        process.close()
        record["per_job_tree_cpu"] = (tree_cpu(group) - run_tree - (time.process_time() - run_own)) / len(steps)
        record["load_after"] = os.getloadavg()[0]
        view.close()
        return record
    finally:
        shutil.rmtree(work, ignore_errors=True)


def kernel_stops(trials, group):
    """{way: [(wall, kernel CPU)]} for sandboxed kernels stopped gracefully and at once (the kit's manager)."""
    import asyncio

    from cnnkit import compat, sandbox

    sandbox.configure(required=True)

    async def one(now, folder):
        manager = compat.kernel_manager_class()(kernel_name=sandbox.KERNEL_NAME)
        await manager.start_kernel(cwd=str(folder))
        client = manager.client()
        client.start_channels()
        await client.wait_for_ready(timeout=120)
        await client.execute_interactive("import numpy", timeout=120)
        client.stop_channels()
        tree, own, wall = tree_cpu(group), time.process_time(), time.perf_counter()
        await manager.shutdown_kernel(now=now)
        wall = time.perf_counter() - wall
        return wall, tree_cpu(group) - tree - (time.process_time() - own)

    found = {"graceful": [], "at once": []}
    for _ in range(trials):
        for way, now in (("graceful", False), ("at once", True)):
            folder = Path(tempfile.mkdtemp(prefix="cnnkit-stop-"))
            found[way].append(asyncio.run(one(now, folder)))
            shutil.rmtree(folder, ignore_errors=True)
    return found


def run_measurement(args):
    """The measuring process (its own cpuacct group): prints one JSON record."""
    group = Path(args.group)
    (group / "cgroup.procs").write_text(str(os.getpid()))
    if args.kernel_stops:
        print(json.dumps(kernel_stops(args.kernel_stops, group)))
    else:
        print(json.dumps(measure(Path(args.base), args.jobs, args.gap, group)))


# ------------------------------------------------------------------ the driver


def in_checkout(checkout, *arguments):
    """This script run with checkout's kit first on sys.path (its cnnkit, tests and course); its JSON output."""
    group = CPUACCT / f"cnnkit-bench-{uuid.uuid4().hex[:8]}"
    group.mkdir()
    try:
        command = [sys.executable, __file__, "--inside", str(checkout), "--group", str(group), *arguments]
        result = subprocess.run(command, capture_output=True, text=True, cwd=checkout)
        if result.returncode != 0:
            raise SystemExit(f"measuring {checkout} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])
    finally:
        remove_group(group)


def remove_group(group):
    deadline = time.monotonic() + 10
    while True:
        try:
            group.rmdir()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def spread(values):
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def summary(label, records):
    """Rows of the table for one checkout: every kind of job over every round."""
    rows = []
    for kind in ("plain", "feedback", "first"):
        jobs = [job for record in records for job in record["jobs"] if job["kind"] == kind]
        rows.append(
            (label, kind, len(jobs), *(spread([job[key] for job in jobs]) for key in ("wall", "gp_cpu", "tree_cpu")))
        )
    start = [record["start_up"] for record in records]
    rows.append((label, "start-up", len(start), "", spread([s["gp_cpu"] for s in start]),
                 spread([s["tree_cpu"] for s in start])))  # fmt: skip
    per_job = [record["per_job_tree_cpu"] for record in records]
    rows.append((label, "whole run / jobs", len(per_job), "", "", spread(per_job)))
    return rows


def medians(records, kind, key):
    return statistics.median(job[key] for record in records for job in record["jobs"] if job["kind"] == kind)


def report(results, against):
    print("\n| kit | job | n | wall s | grading process CPU s | whole tree CPU s |")
    print("|---|---|---|---|---|---|")
    for label, records in results.items():
        for row in summary(label, records):
            print("| " + " | ".join(str(cell) for cell in row) + " |")
    if against:
        print("\nratios this / against (medians):")
        for kind in ("plain", "feedback"):
            line = ", ".join(
                f"{key} {medians(results['this'], kind, key) / medians(results['against'], kind, key):.2f}"
                for key in ("wall", "gp_cpu", "tree_cpu")
            )
            print(f"  {kind}: {line}")
    loads = [(record["load"], record["load_after"]) for records in results.values() for record in records]
    print("load average (1 min) before/after each measurement: " + ", ".join(f"{a:.2f}/{b:.2f}" for a, b in loads))


def report_stops(found):
    print("\n| sandboxed kernel stopped | n | wall s | kernel CPU s |")
    print("|---|---|---|---|")
    for way, values in found.items():
        print(f"| {way} | {len(values)} | {spread([v[0] for v in values])} | {spread([v[1] for v in values])} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, help="another checkout of this repository, measured in turn")
    parser.add_argument("--jobs", type=int, default=6, help="jobs without feedback, and as many with it")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--gap", type=float, default=0.0, help="seconds between two jobs")
    parser.add_argument("--kernel-stops", type=int, default=0, help="also: K kernels stopped each way")
    parser.add_argument("--inside", help=argparse.SUPPRESS)
    parser.add_argument("--group", help=argparse.SUPPRESS)
    parser.add_argument("--prepare", help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:  # a measuring process, run by in_checkout
        sys.path.insert(0, args.inside)
        if args.prepare:
            prepare(Path(args.prepare), [student for student, _ in plan(args.jobs)])
            print(json.dumps({}))
        else:
            run_measurement(args)
        return
    if os.geteuid() != 0 or not (CPUACCT / "cgroup.procs").exists():
        raise SystemExit("needs root and a cgroup v1 cpuacct hierarchy (the whole tree's CPU is measured with it)")
    checkouts = {"this": HERE, **({"against": args.against.resolve()} if args.against else {})}
    work = Path(tempfile.mkdtemp(prefix="cnnkit-gp-bases-"))
    try:
        bases = {label: work / label for label in checkouts}
        for label, checkout in checkouts.items():
            in_checkout(checkout, "--prepare", str(bases[label]), "--jobs", str(args.jobs))
        results = {label: [] for label in checkouts}
        print(f"load average before: {os.getloadavg()[0]:.2f}; {args.rounds} rounds, {args.jobs} + {args.jobs} jobs")
        for index in range(args.rounds):
            for label in [*checkouts][::-1] if index % 2 else checkouts:  # who goes first alternates
                arguments = ("--base", str(bases[label]), "--jobs", str(args.jobs), "--gap", str(args.gap))
                results[label].append(in_checkout(checkouts[label], *arguments))
                print(f"  round {index + 1}: {label} measured", flush=True)
        report(results, bool(args.against))
        if args.kernel_stops:
            report_stops(in_checkout(HERE, "--kernel-stops", str(args.kernel_stops)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
