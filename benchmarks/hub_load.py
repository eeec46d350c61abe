"""Load on the course hub: N students submit within a minute; how long until each one's feedback is there?

Run as root: .venv/bin/python benchmarks/hub_load.py [--students 30] [--window 60]

It sets up a throwaway course hub exactly as the hub's browser test does (cnnkit.hub's `make hub` code in
a temporary root, free loopback ports, Unix accounts removed at the end), with the grading service and
no attempt limit. Every student first fetches the assignment and completes it (before the clock starts);
then student k submits as themselves at k * window / N seconds, each in its own thread.

A student submits the way the Assignments tab does: nbgrader's submit, in a process of theirs that has
nbgrader loaded already (their Jupyter server). Each student's process is started and loads nbgrader
before the clock starts. (`nbgrader submit` from a shell would first import nbgrader: some 1.7 to 1.9 s
of CPU per student here, about 55 s for 30, a good part of what the 2 cores have in that minute.)

Measured:
- submit -> feedback: from the end of the student's `nbgrader submit` until the feedback file that
  `nbgrader fetch_feedback` would fetch for that submission is in the exchange (median, 95th percentile,
  max); a student's client finds it the same way (the hash of the submission's secret);
- what the grading service recorded (its state file, once every feedback is out): how many submissions
  it graded with full marks (every one is the master's solutions), and any submission it lost (no row,
  or a row that is not graded);
- the machine's CPU (all cores, everyone's) from the first submission to the last feedback, per submission;
- the hub meanwhile: GET /hub/api/ through the proxy every second, from the first submission until the
  last feedback (median, 95th percentile and max response time, and how many failed or took over 5 s).

The last line is a table row (median, p95, max, graded, lost) to paste into docs/parallel.md. Numbers are
printed, never asserted (the goal: a 95th percentile under 30 s, a median under 15 s, every honest
submission graded, nothing lost, the hub answering).
"""

import argparse
import os
import pwd
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nbformat
from nbgrader.utils import notebook_hash

from cnnkit import course
from cnnkit.hub import deploy, unix
from cnnkit.spec import notebook
from tests.e2e import hub_support

NOTEBOOK_ID = course.ASSIGNMENT


def student_env(layout):
    return {**deploy.grader_env(layout), "JUPYTER_CONFIG_PATH": str(layout.config_dir("student"))}


def nbgrader_as(hub, who, *args):
    """An nbgrader command run by the student, in their home, with the students' system-wide config."""
    command = [hub.layout.env / "bin" / "nbgrader", *args]
    return unix.run_as(hub.name(who), command, cwd=hub.home(who), env=student_env(hub.layout))


def fetch_and_complete(hub, who):
    nbgrader_as(hub, who, "fetch_assignment", course.ASSIGNMENT)
    path = hub.home(who) / course.ASSIGNMENT / f"{course.ASSIGNMENT}.ipynb"
    owner = path.stat()
    nbformat.write(notebook.fill_in(notebook.read(path), notebook.solutions()), str(path))
    os.chown(path, owner.st_uid, owner.st_gid)


# The student's side of a submission: nbgrader loaded ahead, then, on a line from stdin, its submit.
SUBMITTER = """
import sys
from nbgrader.apps.nbgraderapp import NbGraderApp
print("ready", flush=True)
sys.stdin.readline()
NbGraderApp.launch_instance(["submit", sys.argv[1]])
"""


class Submitter:
    """A process of the student's, nbgrader loaded, that submits the assignment when told (submit())."""

    def __init__(self, hub, who):
        entry = pwd.getpwnam(hub.name(who))
        environment = {**student_env(hub.layout), "HOME": entry.pw_dir, "USER": entry.pw_name}
        self.process = subprocess.Popen(
            [hub.layout.env / "bin" / "python", "-c", SUBMITTER, course.ASSIGNMENT],
            cwd=hub.home(who),
            env=environment,
            user=entry.pw_uid,
            group=entry.pw_gid,
            extra_groups=os.getgrouplist(entry.pw_name, entry.pw_gid),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait_ready(self):
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"the student's submitter did not start: {line}{self.process.stdout.read()}")

    def submit(self):
        """Submit; returns when nbgrader's submit has finished (raises if it failed)."""
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        output, _ = self.process.communicate(timeout=300)
        if self.process.returncode != 0:
            raise RuntimeError(f"submit failed: {output}")


def feedback_file(hub, who):
    """The exchange file fetch_feedback looks for, for the student's latest submission (None before it)."""
    cache = hub.home(who) / ".local" / "share" / "jupyter" / "nbgrader_cache" / hub.layout.course_id
    secrets = sorted(cache.glob(f"{hub.name(who)}+{course.ASSIGNMENT}+*/submission_secret.txt"))
    if not secrets:
        return None
    digest = notebook_hash(secret=secrets[-1].read_text(), notebook_id=NOTEBOOK_ID)
    return hub.layout.exchange / hub.layout.course_id / "feedback" / f"{digest}.html"


class HubProbe(threading.Thread):
    """GET /hub/api/ every second; keeps (seconds, ok) per request until stopped."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url, self.samples, self.stopping = url, [], threading.Event()

    def run(self):
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=30) as response:
                    ok = response.status == 200
            except OSError:
                ok = False
            self.samples.append((time.monotonic() - started, ok))
            self.stopping.wait(max(0.0, 1.0 - (time.monotonic() - started)))


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def machine_cpu_seconds():
    """CPU seconds the whole machine has been busy (all cores, /proc/stat): the service's processes and kernels too."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def service_record(hub, students):
    """(graded with full marks, lost): from the grading service's state file, one row per submission it took in.

    Each student submits once, the master's solutions: a submission is lost if no row in a graded status
    stands for it. Rows are counted, not matched by name (the service keys them by its own student id).
    """
    from cnnkit.policy.ledger import GRADED_STATUSES, State

    state = State(hub.layout.course_dir, readonly=True)
    try:
        rows = state.rows()
    finally:
        state.close()
    graded = [row for row in rows if row["status"] in GRADED_STATUSES]
    full = [row for row in graded if row["score"] is not None and abs(row["score"] - row["max_score"]) < 1e-6]
    others = [f"{row['student']}: {row['status']} {row['reason'][:80]}" for row in rows if row not in graded]
    return len(full), len(students) - len(graded), others


def run_load(hub, students, window, timeout):
    """Submit on schedule, wait for every feedback; returns ({who: seconds or None}, probe samples, CPU seconds)."""
    submitted, done = {}, {}
    submitters = {who: Submitter(hub, who) for who in students}
    for submitter in submitters.values():
        submitter.wait_ready()

    def submit(who, at):
        time.sleep(max(0.0, at - time.monotonic()))
        submitters[who].submit()
        submitted[who] = time.monotonic()

    probe = HubProbe(hub.url("hub/api/"))
    start = time.monotonic() + 1
    threads = [
        threading.Thread(target=submit, args=(who, start + k * window / len(students)), daemon=True)
        for k, who in enumerate(students)
    ]
    cpu = machine_cpu_seconds()
    probe.start()
    for thread in threads:
        thread.start()
    deadline = start + window + timeout
    while len(done) < len(students) and time.monotonic() < deadline:
        for who in set(submitted) - set(done):
            path = feedback_file(hub, who)
            if path is not None and path.exists():
                done[who] = time.monotonic() - submitted[who]
        time.sleep(0.5)
    cpu = machine_cpu_seconds() - cpu
    probe.stopping.set()
    probe.join()
    return {who: done.get(who) for who in students}, probe.samples, cpu


def report(hub, latencies, samples, students, window, cpu):
    times = [seconds for seconds in latencies.values() if seconds is not None]
    print(f"\n{len(students)} students submitted within {window:.0f} s; feedback for {len(times)}")
    if times:
        print(
            f"submit -> feedback: median {statistics.median(times):.1f} s, "
            f"p95 {percentile(times, 0.95):.1f} s, max {max(times):.1f} s"
        )
    graded, lost, others = service_record(hub, students)
    print(f"the service graded {graded} of {len(students)} with full marks; lost: {lost}")
    for line in others:
        print(f"  not graded: {line}")
    print(f"machine CPU from the first submission to the last feedback: {cpu:.0f} s, {cpu / len(students):.2f} s each")
    missing = sorted(who for who, seconds in latencies.items() if seconds is None)
    if missing:
        print(f"no feedback within the timeout: {', '.join(missing)}")
    answered = [seconds for seconds, ok in samples if ok]
    failed = sum(1 for _, ok in samples if not ok)
    slow = sum(1 for seconds in answered if seconds > 5)
    if answered:
        print(
            f"hub GET /hub/api/ meanwhile: {len(samples)} requests, median {1000 * statistics.median(answered):.0f} ms, "
            f"p95 {1000 * percentile(answered, 0.95):.0f} ms, max {1000 * max(answered):.0f} ms; "
            f"{failed} failed, {slow} over 5 s"
        )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    if times:
        print("\n| students | median s | p95 s | max s | graded | lost | CPU s / submission |")
        print(
            f"| {len(students)} | {statistics.median(times):.1f} | {percentile(times, 0.95):.1f} | {max(times):.1f} "
            f"| {graded}/{len(students)} | {lost} | {cpu / len(students):.2f} |"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--window", type=float, default=60.0, help="seconds over which the submissions spread")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for feedback after the window")
    args = parser.parse_args()
    unix.require_root("the hub benchmark")
    people = {f"s{k:02d}": ("Load", f"Student{k:02d}", "student") for k in range(1, args.students + 1)}
    started = time.monotonic()
    hub = hub_support.start_course_hub(people, log_dir=Path("/tmp/cnnkit-hub-load-logs"))
    try:
        print(f"hub up in {time.monotonic() - started:.0f} s; fetching and completing {len(people)} assignments")
        for who in people:
            fetch_and_complete(hub, who)
        print(f"load average before the submissions: {os.getloadavg()[0]:.2f}", flush=True)
        latencies, samples, cpu = run_load(hub, list(people), args.window, args.timeout)
        report(hub, latencies, samples, list(people), args.window, cpu)
    finally:
        hub_support.stop_course_hub(hub)


if __name__ == "__main__":
    main()
