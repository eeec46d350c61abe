"""Private folders for kernels' Unix sockets: closed to every other account, short, cleared after a crash.

Standard library only, like bwrap.py: the launcher (cnnkit/sandbox/launch.py) loads this file by path;
the kit's kernel manager (cnnkit.compat.kernel_manager_class) imports it too.

Every folder is made by mkdtemp (mode 0700, a fresh random name) directly in /tmp, whatever TMPDIR says:
a Unix socket's path may not exceed 107 bytes, and a grading process's TMPDIR lies deep in its scratch
folder; and the sandbox's /proc/self/mountinfo shows the host path of its socket folder, which then
names nothing of the course. A folder's name carries the id of the process that made it, so the
folders of processes that were killed are removed by the next one (``remove_stale``).
"""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

BASE = "/tmp"


def make(prefix):
    """A new private folder named prefix<pid>-<random> (stale ones of the same prefix removed first)."""
    remove_stale(prefix)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=BASE))


@contextlib.contextmanager
def temporary(prefix):
    """make(prefix) for the time of a with block, then removed (also what a sandbox left there)."""
    remove_stale(prefix)
    with tempfile.TemporaryDirectory(prefix=f"{prefix}{os.getpid()}-", dir=BASE, ignore_cleanup_errors=True) as path:
        yield Path(path)


def remove_stale(prefix):
    """Remove the folders of processes that are gone (SIGKILL leaves them no chance to clean up)."""
    for folder in Path(BASE).glob(f"{prefix}*-*"):
        pid = folder.name.removeprefix(prefix).split("-", 1)[0]
        if pid.isdigit() and not Path("/proc", pid).exists():
            # Another account's folder is not ours to remove (the sticky /tmp says so); it is only litter.
            shutil.rmtree(folder, ignore_errors=True)
