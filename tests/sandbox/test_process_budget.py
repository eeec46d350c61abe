"""A sandbox's process budget is its own: what the sandbox user already runs elsewhere (other sandboxes,
spare kernels, a busy grading machine) cannot make a new kernel die at start.

RLIMIT_NPROC counts every process and thread of a user machine-wide, and every sandbox started as root
runs as the same sandbox user. With a fixed limit of 64, 51 threads of that user elsewhere made the next
kernel die before replying to kernel_info: an honest student NOT GRADED under load (issue 18, class 10).
"""

import asyncio
import os
import signal
import subprocess
import sys

import pytest

from cnnkit import compat, sandbox
from cnnkit.sandbox import bwrap

HOG_THREADS = 60  # with a fixed limit of 64, fewer than ipykernel's ~10 remain for the new kernel

HOG = """
import os, sys, threading, time
os.setgroups([]); os.setgid(int(sys.argv[1])); os.setuid(int(sys.argv[1]))
for _ in range(int(sys.argv[2])):
    threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
print("ready", flush=True)
time.sleep(3600)
"""


@pytest.fixture
def busy_sandbox_user():
    """HOG_THREADS threads running as the sandbox user, outside any sandbox, until the test ends."""
    if os.geteuid() != 0:
        pytest.skip("sandboxes run as a separate user only when the grader is root")
    uid = bwrap.Settings.from_env().uid
    hog = subprocess.Popen([sys.executable, "-c", HOG, str(uid), str(HOG_THREADS)], stdout=subprocess.PIPE, text=True)
    try:
        assert hog.stdout.readline().strip() == "ready"
        assert bwrap.tasks_of(uid) >= HOG_THREADS
        yield uid
    finally:
        hog.send_signal(signal.SIGKILL)
        hog.wait()


def test_a_kernel_starts_and_runs_while_its_user_is_busy_elsewhere(busy_sandbox_user, tmp_path):
    sandbox.configure(required=True)  # the kernelspec findable, as nbgrader_config.py makes it
    workdir = tmp_path / "work"
    workdir.mkdir()
    assert asyncio.run(run_in_a_sandboxed_kernel(workdir, "print(6 * 7)")) == "42\n"


async def run_in_a_sandboxed_kernel(workdir, code):
    """What code printed in a fresh sandboxed kernel started the way grading starts one."""
    manager = compat.kernel_manager_class()(kernel_name=sandbox.KERNEL_NAME)
    await manager.start_kernel(cwd=str(workdir))
    client = manager.client()
    try:
        client.start_channels()
        await client.wait_for_ready(timeout=120)
        printed = []
        reply = await client.execute_interactive(code, timeout=60, output_hook=lambda msg: printed.append(msg))
        assert reply["content"]["status"] == "ok", reply["content"]
        return "".join(m["content"]["text"] for m in printed if m["msg_type"] == "stream")
    finally:
        client.stop_channels()
        await manager.shutdown_kernel(now=True)


def test_the_budget_is_on_top_of_what_the_user_runs():
    assert bwrap.Limits(processes=64).rlimits(in_use=51)["RLIMIT_NPROC"] == 115
    assert bwrap.tasks_of(os.getuid()) >= 1  # this test's own process at least
