"""cnnkit.sandbox.cgroup: a control group around a whole sandbox, on this machine's real cgroup hierarchy.

The group tests need write access to the hierarchy (root, as CI runs); the file-format helpers do not.
"""

import os
import subprocess
import sys
import uuid

import pytest

from cnnkit.sandbox import bwrap, cgroup

can_make_groups = pytest.mark.skipif(os.geteuid() != 0, reason="making control groups needs root here")

HOG = "b = bytearray({mb} * 2**20)\nfor i in range(0, len(b), 4096): b[i] = 1\nprint('survived')"
FORKS = (
    "import os, time\nfor _ in range({n}):\n    if os.fork() == 0:\n        time.sleep(3); os._exit(0)\nprint('forked')"
)


def run_in(group, code):
    return subprocess.run([sys.executable, "-c", code], preexec_fn=group.join, capture_output=True, text=True)


def fresh_group(**limits):
    group, why_not = cgroup.open_group(f"test-{uuid.uuid4().hex[:8]}", **limits)
    assert group is not None, why_not
    return group


@can_make_groups
def test_memory_of_the_whole_group_is_bounded_and_the_hit_is_counted():
    group = fresh_group(memory_mb=64, processes=0)
    try:
        small = run_in(group, HOG.format(mb=8))
        assert "survived" in small.stdout and group.limits_hit() == []
        big = run_in(group, HOG.format(mb=256))
        assert big.returncode != 0 and "survived" not in big.stdout  # killed inside its group
        assert [hit["limit"] for hit in group.limits_hit()] == ["memory"]
    finally:
        folders = list(group.folders.values())
        group.close()
    assert not any(folder.exists() for folder in folders)


@can_make_groups
def test_processes_of_the_whole_group_are_bounded():
    group = fresh_group(memory_mb=0, processes=8)
    try:
        result = run_in(group, FORKS.format(n=20))
        assert "forked" not in result.stdout and "BlockingIOError" in result.stderr
        assert [hit["limit"] for hit in group.limits_hit()] == ["processes"]
    finally:
        group.close()


def test_no_limits_asked_means_no_group():
    assert cgroup.open_group("unused", memory_mb=0, processes=0) == (None, None)


def test_a_hierarchy_that_is_not_there_is_a_reason_not_a_crash(tmp_path):
    group, why_not = cgroup.open_group("x", memory_mb=64, processes=8, root=tmp_path)
    assert group is None and "per-process limits only" in why_not and "memory" in why_not


def test_the_report_names_the_limit_and_its_value_and_is_read_once(tmp_path):
    connection = tmp_path / "kernel-1.json"
    limits = bwrap.Limits(group_memory_mb=300, group_processes=40)
    cgroup.write_report(connection, [], limits)
    assert cgroup.read_report(connection) == []
    cgroup.write_report(connection, [{"limit": "memory", "times": 2}, {"limit": "processes", "times": 1}], limits)
    reasons = cgroup.read_report(connection)
    assert "more than 300 MB of memory" in reasons[0] and "more than 40 processes" in reasons[1]
    assert cgroup.read_report(connection) == []


def test_counters_and_limit_files_of_both_versions(tmp_path):
    (tmp_path / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n")
    assert cgroup.read_counter(tmp_path / "memory.events", "oom_kill") == 2
    assert cgroup.read_counter(tmp_path / "missing", "oom_kill") == 0
    assert cgroup.limit_files(2, 64, 0)["memory"][0] == ("memory.max", str(64 << 20))
    assert cgroup.limit_files(2, 64, 0)["pids"] == [("pids.max", "max")]
    assert cgroup.limit_files(1, 0, 5)["memory"][0] == ("memory.limit_in_bytes", "-1")
    proc = tmp_path / "cgroup"
    proc.write_text("4:memory:/a/b\n8:pids:/c\n0::/unified/x\n")
    assert cgroup.own_group(1, "memory", proc) == "/a/b" and cgroup.own_group(2, None, proc) == "/unified/x"
