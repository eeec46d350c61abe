"""Limits on one sandbox as a whole: the memory and the process count of its whole process tree.

The sandbox's rlimits (bwrap.Limits) bound each process on its own; a submission that starts many
processes, or fills its tmpfs folders, could still take the machine's memory, and the out-of-memory
killer would then pick its victim anywhere (another student's kernel, a grading worker). A control
group holds every process of one sandbox, charged for their memory and their tmpfs pages together;
at its limit the kernel's OOM killer picks a victim inside it, and no process more can start.

Both control group versions:

- v1 (separate hierarchies, as under older Docker): a group in ``memory`` and one in ``pids``;
- v2 (one unified hierarchy, systemd's default): one group with the memory and pids controllers,
  under the launcher's own group when that one delegates them, else under the root.

Making a group needs write access to the hierarchy (root, or a delegated subtree). Where none can be
made, ``open_group`` says why and grading goes on with the per-process limits only.

Standard library only: the launcher (launch.py) loads this file by path, as it loads bwrap.py.
"""

import json
import os
import signal
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
REPORT_SUFFIX = ".limits.json"  # beside the kernel's connection file: the limits it hit (see report_path)
CONTROLLERS = ("memory", "pids")


class Group:
    """One sandbox's control group: a folder per hierarchy (v1: memory and pids; v2: one)."""

    def __init__(self, folders, version):
        self.folders, self.version = folders, version

    def join(self):
        """Move the calling process into the group (the launcher's child runs this before exec'ing bwrap)."""
        pid = str(os.getpid())
        for folder in self.folders.values():
            (folder / "cgroup.procs").write_text(pid)

    def limits_hit(self):
        """Which limits the group hit: [{'limit': 'memory'|'processes', 'times': n}]."""
        hit = []
        for limit, (name, key) in self.counters().items():
            times = read_counter(self.folders[limit] / name, key)
            if times:
                hit.append({"limit": "memory" if limit == "memory" else "processes", "times": times})
        return hit

    def counters(self):
        if self.version == 2:
            return {"memory": ("memory.events", "oom_kill"), "pids": ("pids.events", "max")}
        return {"memory": ("memory.oom_control", "oom_kill"), "pids": ("pids.events", "max")}

    def close(self, wait=5.0):
        """Kill whatever is left in the group and remove it (bwrap's death usually took everything already)."""
        deadline = time.monotonic() + wait
        for folder in set(self.folders.values()):
            while folder.exists():
                for pid in members(folder):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                try:
                    folder.rmdir()
                except OSError:  # busy: processes still exiting
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.05)


def members(folder):
    try:
        return [int(line) for line in (folder / "cgroup.procs").read_text().split()]
    except OSError:
        return []


def read_counter(path, key):
    """The value of `key` in a flat-keyed cgroup file ("key value" lines); 0 if absent."""
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def own_group(version, controller, proc_cgroup="/proc/self/cgroup"):
    """The launcher's own group path in a hierarchy ('/' if unknown), from /proc/self/cgroup."""
    for line in Path(proc_cgroup).read_text().splitlines():
        number, controllers, path = line.split(":", 2)
        if (version == 2 and number == "0") or (version == 1 and controller in controllers.split(",")):
            return path
    return "/"


def limit_files(version, memory_mb, processes):
    """{controller: [(file, value), ...]} in the order they must be written (v1: memory before memsw)."""
    memory = str(memory_mb << 20) if memory_mb else "max"
    pids = str(processes) if processes else "max"
    if version == 2:
        return {"memory": [("memory.max", memory), ("memory.swap.max", "0")], "pids": [("pids.max", pids)]}
    v1_memory = memory if memory_mb else "-1"
    return {
        "memory": [("memory.limit_in_bytes", v1_memory), ("memory.memsw.limit_in_bytes", v1_memory)],
        "pids": [("pids.max", pids)],
    }


def v2_parent(root):
    """Where a v2 group can be made: the launcher's group if it delegates memory and pids, else the root."""
    own = root / own_group(2, None).lstrip("/")
    for parent in (own, root):
        enabled = set((parent / "cgroup.subtree_control").read_text().split()) if parent.exists() else set()
        if set(CONTROLLERS) <= enabled:
            return parent
        try:
            (parent / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in CONTROLLERS))
            return parent
        except OSError:
            continue
    raise OSError("no cgroup v2 group here delegates the memory and pids controllers")


def make_folders(root, name):
    """{controller: new group folder} and the version; OSError says why none could be made."""
    if (root / "cgroup.controllers").exists():
        available = set((root / "cgroup.controllers").read_text().split())
        if not set(CONTROLLERS) <= available:
            raise OSError(f"cgroup v2 lacks the {' and '.join(set(CONTROLLERS) - available)} controller")
        folder = v2_parent(root) / name
        folder.mkdir()
        return {controller: folder for controller in CONTROLLERS}, 2
    folders = {}
    for controller in CONTROLLERS:
        if not (root / controller / "cgroup.procs").exists():
            raise OSError(f"no cgroup v1 {controller} hierarchy at {root / controller}")
        folders[controller] = root / controller / "cnnkit" / name
    for folder in folders.values():
        folder.mkdir(parents=True)
    return folders, 1


def open_group(name, memory_mb, processes, root=ROOT):
    """(Group, None) with the limits set, or (None, why not). Both limits 0: (None, None), nothing asked."""
    if not memory_mb and not processes:
        return None, None
    folders = {}
    try:
        folders, version = make_folders(root, name)
        for controller, settings in limit_files(version, memory_mb, processes).items():
            for file_name, value in settings:
                path = folders[controller] / file_name
                if path.exists():  # memsw and swap.max exist only where swap accounting is on
                    path.write_text(value)
        return Group(folders, version), None
    except OSError as error:
        Group(folders, 0).close(wait=0)
        return None, f"no control group for the whole sandbox ({error}); per-process limits only"


def report_path(connection_file):
    """Where the launcher leaves the limits its sandbox hit, for the grader (a folder the sandbox cannot see)."""
    return Path(f"{connection_file}{REPORT_SUFFIX}")


def write_report(connection_file, hit, limits):
    """Record the limits hit (nothing when none was), with the limit values they were hit at."""
    if hit:
        record = {"hit": hit, "memory_mb": limits.group_memory_mb, "processes": limits.group_processes}
        report_path(connection_file).write_text(json.dumps(record))


def read_report(connection_file):
    """Human-readable reasons from the report beside connection_file (removed once read); [] if none."""
    path = report_path(connection_file)
    try:
        record = json.loads(path.read_text())
        path.unlink()
    except (OSError, ValueError):
        return []
    words = {
        "memory": f"its processes together needed more than {record.get('memory_mb')} MB of memory",
        "processes": f"it tried to run more than {record.get('processes')} processes and threads at once",
    }
    return [f"the submission hit its sandbox's limit: {words[item['limit']]}" for item in record.get("hit", [])]
