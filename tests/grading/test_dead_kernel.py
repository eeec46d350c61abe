"""After a kernel dies mid-notebook, its replacement starts as soon as the sandbox's launcher has ended.

The launcher writes the whole-sandbox report (the limits the sandbox hit) only when a limit was hit, just
before it exits. ContainedExecute waits for that report before it starts the next kernel; a plain crash
(os._exit, a segfault) has none, and used to cost the full wait, 2 s per death, on every such submission.
Here the launcher is a stand-in for jupyter_client's Popen, so that the waiting can be counted; the real
sandbox's reports are read in tests/sandbox/test_kernel_stop.py and test_sandbox.py.
"""

import types

from cnnkit.grading import execute
from cnnkit.sandbox import bwrap, cgroup


class Launcher:
    """A launcher process as the kernel manager holds it: running for `polls` polls, then ended."""

    def __init__(self, polls, on_exit=lambda: None):
        self.polls = polls
        self.on_exit = on_exit

    def poll(self):
        if self.polls:
            self.polls -= 1
            return None
        self.on_exit()
        self.on_exit = lambda: None
        return 0


def executor_with(connection_file, launcher):
    executor = execute.ContainedExecute()
    provisioner = types.SimpleNamespace(process=launcher)
    executor.km = types.SimpleNamespace(connection_file=str(connection_file), provisioner=provisioner)
    executor._kernels = {str(connection_file)}
    return executor


def counted_sleeps(monkeypatch):
    sleeps = []
    monkeypatch.setattr(execute.time, "sleep", sleeps.append)
    return sleeps


def test_a_crash_that_hit_no_limit_waits_for_no_report(tmp_path, monkeypatch):
    sleeps = counted_sleeps(monkeypatch)
    executor = executor_with(tmp_path / "kernel-1.json", Launcher(polls=0))
    assert executor._limits_that_killed() == []
    assert sleeps == []
    assert executor._kernels == set()


def test_the_report_of_a_launcher_still_ending_is_waited_for_and_read(tmp_path, monkeypatch):
    sleeps = counted_sleeps(monkeypatch)
    connection = tmp_path / "kernel-2.json"
    limits = bwrap.Limits(group_memory_mb=300, group_processes=40)
    hit = [{"limit": "memory", "times": 1}]
    launcher = Launcher(polls=3, on_exit=lambda: cgroup.write_report(connection, hit, limits))
    reasons = executor_with(connection, launcher)._limits_that_killed()
    assert len(sleeps) == 3
    assert reasons and "more than 300 MB of memory" in reasons[0]
    assert not cgroup.report_path(connection).exists()  # read once


def test_a_report_already_there_is_read_without_asking_the_launcher(tmp_path, monkeypatch):
    sleeps = counted_sleeps(monkeypatch)
    connection = tmp_path / "kernel-3.json"
    cgroup.write_report(connection, [{"limit": "processes", "times": 2}], bwrap.Limits(group_processes=40))
    reasons = executor_with(connection, Launcher(polls=10**6))._limits_that_killed()
    assert sleeps == [] and "more than 40 processes" in reasons[0]
