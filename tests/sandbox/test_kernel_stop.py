"""Stopping a sandboxed kernel at once (SIGTERM to its launcher) still runs the launcher's own clean-up.

The kit stops a kernel it needs nothing more from with SIGTERM to the launcher's process group
(cnnkit.compat.kernel_manager_class: ``shutdown_kernel(now=True)``; ContainedExecute's default
``shutdown_kernel = "immediate"``; a discarded spare), not with ipykernel's graceful shutdown. The launcher
must then still end the sandbox and clean up after it, as it does when the kernel exits by itself: write the
whole-sandbox cgroup's report (the limits it hit, which ContainedExecute reads into the integrity flags),
remove the cgroup and its socket folder, leave no process. jupyter_client's own "now" is a SIGKILL, which
skips all of that; so is a SIGTERM that comes before the launcher listens for it.

Real kernels in the real sandbox, on the machine's real cgroup hierarchy (root, as CI runs).
"""

import asyncio
import os
import signal
import time
from pathlib import Path

import psutil
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from cnnkit import compat, sandbox
from cnnkit.grading import execute
from cnnkit.sandbox import cgroup, launch, socketdir

GROUP_PROCESSES = 40  # this module's limit on a whole sandbox: low enough for a few forks to hit it
FORK_PAST_THE_LIMIT = f"""
import os, time
children = 0
try:
    for _ in range({2 * GROUP_PROCESSES}):
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        children += 1
except BlockingIOError:
    pass
print("forked", children)
"""

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the whole-sandbox cgroup needs root here")


@pytest.fixture
def sandbox_kernels(monkeypatch):
    """The sandbox kernelspec findable and the whole-sandbox process limit set, for this test only."""
    monkeypatch.setattr(os, "environ", dict(os.environ))
    sandbox.configure(required=True, group_processes=GROUP_PROCESSES)


def group_folders(launcher_pid):
    """The whole-sandbox cgroup folders the launcher with this pid makes (cgroup.make_folders)."""
    name = f"kernel-{launcher_pid}"
    if (cgroup.ROOT / "cgroup.controllers").exists():  # v2: one folder, under a group that delegates
        return list(cgroup.ROOT.glob(f"**/{name}"))
    return [cgroup.ROOT / controller / "cnnkit" / name for controller in cgroup.CONTROLLERS]


def socket_folders(launcher_pid):
    return list(Path(socketdir.BASE).glob(f"{launch.RUNDIR_PREFIX}{launcher_pid}-*"))


def sandbox_processes(launcher_pid):
    """Every process still running that the launcher started (bwrap and the sandbox's), or the launcher itself."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            if process.pid == launcher_pid or any(parent.pid == launcher_pid for parent in process.parents()):
                found.append(process.pid)
        except psutil.Error:
            continue
    return found


def count_shutdown_requests(monkeypatch):
    """How many graceful shutdown requests the kit's kernel manager sends (a list that grows, one item per request)."""
    manager_class = compat.kernel_manager_class()
    sent = []
    original = manager_class._async_request_shutdown

    async def counted(self, *args, **kwargs):
        sent.append(self.connection_file)
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(manager_class, "_async_request_shutdown", counted)
    return sent


@needs_root
def test_a_notebook_s_kernel_is_stopped_at_once_and_its_sandbox_s_report_still_arrives(
    sandbox_kernels, tmp_path, monkeypatch
):
    """ContainedExecute as grading runs it: the limit the sandbox hit reaches the integrity flags, nothing is left."""
    shutdown_requests = count_shutdown_requests(monkeypatch)
    workdir = tmp_path / "autograded" / "someone" / "assignment"
    workdir.mkdir(parents=True)
    nb = new_notebook(
        cells=[new_code_cell(FORK_PAST_THE_LIMIT)],
        metadata={"kernelspec": {"name": sandbox.KERNEL_NAME, "display_name": "sandbox"}},
    )
    executor = execute.ContainedExecute(kernel_name=sandbox.KERNEL_NAME, timeout=60)
    launchers = set()
    executor.on_cell_executed = lambda **_: launchers.add(executor.km.provisioner.pid)
    nb, resources = executor.preprocess(nb, {"metadata": {"path": str(workdir)}})

    assert "forked" in nb.cells[0].outputs[0].text
    assert shutdown_requests == []  # stopped with SIGTERM, not asked to shut down
    assert any("more than 40 processes" in reason for reason in resources["cnnkit_limits_hit"])
    (launcher,) = launchers
    assert not any(folder.exists() for folder in group_folders(launcher))
    assert socket_folders(launcher) == []
    assert sandbox_processes(launcher) == []


@needs_root
def test_a_kernel_stopped_at_once_leaves_its_report_and_no_cgroup_socket_folder_or_process(sandbox_kernels, tmp_path):
    async def run():
        manager = compat.kernel_manager_class()(kernel_name=sandbox.KERNEL_NAME)
        await manager.start_kernel(cwd=str(tmp_path))
        client = manager.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=120)
            reply = await client.execute_interactive(FORK_PAST_THE_LIMIT, timeout=60)
            assert reply["content"]["status"] == "ok", reply["content"]
        finally:
            client.stop_channels()
        launcher = manager.provisioner.pid
        await manager.shutdown_kernel(now=True)
        return launcher, manager.connection_file

    launcher, connection_file = asyncio.run(run())
    assert any("more than 40 processes" in reason for reason in cgroup.read_report(connection_file))
    assert not any(folder.exists() for folder in group_folders(launcher))
    assert socket_folders(launcher) == []
    assert sandbox_processes(launcher) == []


@needs_root
def test_a_stop_while_the_launcher_is_still_starting_still_cleans_up(sandbox_kernels, tmp_path):
    """SIGTERM as soon as the launcher has made its cgroup, before its kernel is up (a spare discarded at once)."""

    async def run():
        manager = compat.kernel_manager_class()(kernel_name=sandbox.KERNEL_NAME)
        await manager.start_kernel(cwd=str(tmp_path))
        launcher = manager.provisioner.pid
        made = group_folders(launcher)[0]
        deadline = time.monotonic() + 30
        while not made.exists() and time.monotonic() < deadline:
            time.sleep(0.001)
        assert made.exists(), "the launcher made no cgroup"
        os.killpg(launcher, signal.SIGTERM)
        code = manager.provisioner.process.wait(timeout=30)
        await manager.cleanup_resources()
        return launcher, code

    launcher, code = asyncio.run(run())
    assert code not in (-signal.SIGTERM, -signal.SIGKILL)  # the launcher exited by itself, not by the signal
    assert not any(folder.exists() for folder in group_folders(launcher))
    assert socket_folders(launcher) == []
    assert sandbox_processes(launcher) == []


def test_a_kernel_that_ignores_sigterm_is_killed_after_the_wait(tmp_path):
    """The stop at once never hangs: SIGKILL follows when the kernel is still there after shutdown_wait_time."""

    async def run():
        manager = compat.kernel_manager_class()(kernel_name="python3", shutdown_wait_time=1.0)
        await manager.start_kernel(cwd=str(tmp_path))
        client = manager.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=120)
            code = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)"
            reply = await client.execute_interactive(code, timeout=60)
            assert reply["content"]["status"] == "ok", reply["content"]
        finally:
            client.stop_channels()
        kernel = psutil.Process(manager.provisioner.pid)
        await manager.shutdown_kernel(now=True)
        return kernel

    kernel = asyncio.run(run())
    assert not kernel.is_running() or kernel.status() == psutil.STATUS_ZOMBIE
