"""Two real Unix accounts around a kernel: the one it runs for, and another one hunting for it.

tests/kernel_scanner.py is the hunter; ``Hunter`` starts it as an account, ``Observer`` watches (as
root) which Unix sockets the kernel's account has while it runs, ``accounts`` makes and removes the
accounts. The accounts run everything from the hub's environment, which every account can run (the
test venv's interpreter lives under /root).
"""

import contextlib
import json
import os
import pwd
import secrets
import subprocess
import threading
from pathlib import Path

import pytest

from cnnkit.hub import unix
from cnnkit.hub.layout import HubLayout
from tests import kernel_scanner

HUB_PYTHON = HubLayout().python
SCANNER = Path(kernel_scanner.__file__).read_text()


def require_root_and_hub_environment():
    if os.geteuid() != 0:
        pytest.skip("creates Unix accounts: runs as root (CI does)")
    if not HUB_PYTHON.exists():
        pytest.fail(f"no hub environment at {HUB_PYTHON.parent.parent}: `make hub-env` builds it", pytrace=False)


@contextlib.contextmanager
def accounts(*roles, length=8):
    """One fresh Unix account per role (random names of length characters), removed afterwards: yields role -> name."""
    names = {role: f"k{role[0]}{secrets.token_hex(16)}"[:length] for role in roles}
    try:
        for name in names.values():
            unix.create_user(name)
        yield names
    finally:
        for name in names.values():
            unix.remove_user(name)


def uid_of(user):
    return pwd.getpwnam(user).pw_uid


def environment(user, **extra):
    """What a login of user would have: HOME, the hub environment's bin first on PATH."""
    path = f"{HUB_PYTHON.parent}:/usr/local/bin:/usr/bin:/bin"
    home = pwd.getpwnam(user).pw_dir
    return {"HOME": home, "USER": user, "LOGNAME": user, "PATH": path, "LANG": "C.UTF-8", **extra}


def popen_as(user, command, cwd=None, env=None, **kwargs):
    """A process of user's (its uid, gid and groups), started as a login would start it."""
    entry = pwd.getpwnam(user)
    return subprocess.Popen(
        [str(part) for part in command],
        cwd=cwd or entry.pw_dir,
        env=env or environment(user),
        user=entry.pw_uid,
        group=entry.pw_gid,
        extra_groups=os.getgrouplist(user, entry.pw_gid),
        **kwargs,
    )


class Hunter:
    """tests/kernel_scanner.py running as user in mode ("snoop" or "flood") until stop()."""

    def __init__(self, user, mode):
        self.process = popen_as(
            user,
            [HUB_PYTHON, "-I", "-c", SCANNER, mode],
            cwd="/",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.sweeps, self.report = 0, None
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for_sweeps(1)

    def _read(self):
        for line in self.process.stdout:
            with self.changed:
                if line.startswith("sweep "):
                    self.sweeps = int(line.split()[1])
                elif line.startswith("REPORT "):
                    self.report = json.loads(line.removeprefix("REPORT "))
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def wait_for_sweeps(self, count, timeout=120):
        """Block until count more sweeps were made from now (each sweep looks at everything again)."""
        with self.changed:
            target = self.sweeps + count
            done = self.changed.wait_for(lambda: self.sweeps >= target or self.process.poll() is not None, timeout)
        if self.process.poll() is not None:
            raise AssertionError(f"the hunter died: {self.process.stderr.read()[-3000:]}")
        if not done:
            raise TimeoutError(f"the hunter made no {count} sweeps in {timeout} s")

    def stop(self):
        """End the hunt; its report (a dict, see tests/kernel_scanner.py)."""
        self.process.stdin.close()
        self.process.wait(timeout=120)
        with self.changed:
            self.changed.wait_for(lambda: self.report is not None, 30)
        assert self.report is not None, self.process.stderr.read()[-3000:]
        return self.report


class Observer:
    """Root's view while kernels run: the listening sockets of uid (Unix: their paths; TCP: port -> command line)."""

    def __init__(self, uid):
        self.uid, self.paths, self.tcp = uid, set(), {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self):
        while not self.stopping.wait(0.05):
            self.paths |= {path for path in kernel_scanner.unix_paths() if kernel_scanner.owner(path) == self.uid}
            for _host, port, uid, inode in kernel_scanner.listening_tcp():
                if uid == self.uid and port not in self.tcp:
                    self.tcp[port] = command_holding(inode)

    def stop(self):
        self.stopping.set()
        self.thread.join()
        return self


def command_holding(inode):
    """The command line of the process holding socket inode ("" if none is found)."""
    for fd_folder in Path("/proc").glob("[0-9]*/fd"):
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) == f"socket:[{inode}]" for fd in fd_folder.iterdir()):
                return (fd_folder.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


def tried(report, kind):
    """{where: (owner uid or None, outcome)} of everything of kind ("tcp" or "unix") the snoop tried."""
    return {tuple(entry[1:-2]): tuple(entry[-2:]) for entry in report["tried"] if entry[0] == kind}


def messages_with(report, mark):
    """The messages the snoop received that carry mark, in short: "where msg_type: the start of the text"."""
    return [
        f"{' '.join(map(str, message[1:-2]))} {message[-2]}: {message[-1][:120]}"
        for message in report["messages"]
        if mark in message[-1]
    ]


def tcp_listeners_of(report, uid):
    """(host, port) of every listening TCP socket of uid the snoop found."""
    return {where for where, (owner, _outcome) in tried(report, "tcp").items() if owner == uid}
