"""The kernel's working folder is put back as it was before the notebook ran.

Student code runs with autograded/<student>/<assignment>/ as its working folder. Whatever it leaves
there would stay beside the autograded notebook, and ``nbgrader generate_feedback`` copies every file
of that folder into feedback/: a file written by a hook that saw each cell's source would hand the
hidden tests to the student. So ``ContainedExecute`` takes a ``snapshot`` before the first cell and
``restore``s it once the kernel is gone: files the kernel created are removed, files it changed or
removed are written back, and the list of what it touched becomes an integrity flag.

What the snapshot holds is bounded: the submission's files (within cnnkit.ingest.admit's limits)
and the course's support files, before any student code ran.
"""

import os
import shutil
import stat
from pathlib import Path


def snapshot(folder):
    """{relative path: (mode, bytes)} of the regular files under folder, and the set of its folders."""
    folder = Path(folder)
    files, folders = {}, set()
    for dirpath, dirnames, filenames in os.walk(folder):
        base = Path(dirpath)
        dirnames[:] = [name for name in dirnames if not (base / name).is_symlink()]
        folders.update(str((base / name).relative_to(folder)) for name in dirnames)
        for name in filenames:
            path = base / name
            info = path.lstat()
            if stat.S_ISREG(info.st_mode):
                files[str(path.relative_to(folder))] = (stat.S_IMODE(info.st_mode), path.read_bytes())
    return files, folders


def restore(folder, taken):
    """Put folder back to the snapshot ``taken``; returns the sorted relative paths that had changed.

    Never follows a link: a link the kernel planted is removed as itself.
    """
    folder = Path(folder)
    files, folders = taken
    changed = set()
    for dirpath, dirnames, filenames in os.walk(folder, topdown=True):
        base = Path(dirpath)
        for name in list(dirnames):
            relative = str((base / name).relative_to(folder))
            if relative not in folders or (base / name).is_symlink():
                remove(base / name)
                changed.add(relative)
                dirnames.remove(name)
        for name in filenames:
            path = base / name
            relative = str(path.relative_to(folder))
            kept = files.get(relative)
            if kept is None or not same_file(path, kept):
                remove(path)
                changed.add(relative)
    for relative, (mode, data) in files.items():
        path = folder / relative
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            path.chmod(mode)
            changed.add(relative)
    return sorted(changed)


def same_file(path, kept):
    """True if path is still a regular file with the kept content (mode changes are put back quietly)."""
    mode, data = kept
    info = path.lstat()
    if not stat.S_ISREG(info.st_mode) or info.st_size != len(data) or path.read_bytes() != data:
        return False
    if stat.S_IMODE(info.st_mode) != mode:
        path.chmod(mode)
    return True


def remove(path):
    """Remove a file, link or folder tree at path without following links."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
