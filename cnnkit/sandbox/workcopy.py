"""The working copy after a kernel ran in it: made safe for nbgrader's writes again (cnnkit.sandbox.CleanWorkdir).

A sandboxed kernel never sees the working copy (its launcher hands it a copy of the files, cnnkit/sandbox/
launch.py); a kernel run without the sandbox (the explicit opt-out) works in it and may leave anything there.
"""

import os
import stat


def walk(top):
    """Every path below top (not top), deepest first, without following symlinks."""
    for dirpath, dirnames, filenames in os.walk(top, topdown=False):
        for name in filenames + dirnames:
            yield os.path.join(dirpath, name)


def sanitize_workdir(workdir):
    """Make the working copy safe for nbgrader to write into again; returns what was removed.

    Symlinks, FIFOs, sockets and devices go: nbgrader writes the graded notebook there and chmods every
    file, both following symlinks, and a FIFO would block it. What stays is given back to the owner of
    the parent directory (the grader) with owner read/write.
    """
    if not os.path.isdir(workdir):  # nbgrader removes the folder of a submission it gave up on
        return []
    owner = os.stat(workdir.parent)
    removed = []
    for path in walk(workdir):
        mode = os.lstat(path).st_mode
        if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
            restore(path, mode, owner)
        else:
            os.unlink(path)
            removed.append(path)
    restore(str(workdir), os.lstat(workdir).st_mode, owner)
    return removed


def restore(path, mode, owner):
    """Owner of the parent (root only can chown), and owner read/write (and search, for directories)."""
    if os.geteuid() == 0:
        os.lchown(path, owner.st_uid, owner.st_gid)
    needed = stat.S_IRWXU if stat.S_ISDIR(mode) else stat.S_IRUSR | stat.S_IWUSR
    if mode & needed != needed:
        os.chmod(path, stat.S_IMODE(mode) | needed, follow_symlinks=False)
