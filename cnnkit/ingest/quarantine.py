"""Where the admission gate (cnnkit.ingest.admit) puts what it refuses: one bounded, inert set per student.

``store(folder, refused, caps)`` makes quarantine/<student>/<assignment>/ hold exactly the entries just
refused (the set of an earlier admission is removed), with the admission record saying what each was and
why (cnnkit.records.admission):

- every file is kept under an inert name, ``NNN-<name>.quarantined``: nothing the formgrader or Jupyter
  could serve from the course folder is a page or a script (nbgrader's formgrader serves any file under
  the course root by a ``..`` path);
- a refused folder is emptied into the set file by file, its structure written down in the notes, so no
  folder in quarantine nests and no path grows with the submission's depth;
- links, FIFOs, sockets and devices are written down (a link's target) and removed, never followed;
- at most ``caps.files`` files and ``caps.bytes`` bytes are kept per set; beyond that, files are removed
  and the notes say how many.

``drain`` walks a tree without recursion, with paths that never grow with its depth: a folder's subfolders
are first renamed up to the top of the tree. Python's own os.walk, shutil.copytree and shutil.rmtree
recurse once per level, so a chain of 1000 nested folders stops them with a RecursionError.
"""

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from cnnkit.ingest.names import MAX_SHOWN, shown
from cnnkit.records import admission

SUFFIX = ".quarantined"  # no server maps it to a type a browser runs


@dataclass(frozen=True)
class Caps:
    """What one student's quarantined set may keep."""

    bytes: int = 20 * 2**20
    files: int = 100


def amount(nbytes):
    """'20 MB' for whole megabytes, else '1500 bytes'."""
    return f"{nbytes // 2**20} MB" if nbytes and nbytes % 2**20 == 0 else f"{nbytes} bytes"


def inert_name(index, name):
    """The name a kept file gets in quarantine: a number, the ASCII letters of its name, and SUFFIX."""
    return f"{index:03d}-{re.sub(r'[^A-Za-z0-9._-]', '_', name)[:60]}{SUFFIX}"


def drain(top, take):
    """Empty the folder top and remove it, without recursion; take(path, label, info) for every non-folder.

    take must remove path (rename or unlink it). label is the entry's printable path below top.
    Subfolders are renamed to the top level first, so every path used is top/<name>/<name> at most. Each
    folder is made readable and writable by its owner first (a copy keeps the student's modes, and the
    grading service is no root).
    """
    top = Path(top)
    os.chmod(top, stat.S_IRWXU)
    pending = [(top, "")]
    spare = 0
    while pending:
        folder, label = pending.pop()
        with os.scandir(folder) as listing:
            entries = list(listing)
        for entry in entries:
            inner = f"{label}/{shown(entry.name)}".lstrip("/")[-MAX_SHOWN:]
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISDIR(info.st_mode):
                take(Path(entry.path), inner, info)
                continue
            os.chmod(entry.path, stat.S_IRWXU)  # moving a folder rewrites its '..': it must be writable
            if folder == top:
                pending.append((Path(entry.path), inner))
            else:
                while os.path.lexists(top / f".drain-{spare}"):
                    spare += 1
                os.rename(entry.path, top / f".drain-{spare}")
                pending.append((top / f".drain-{spare}", inner))
        if folder != top:
            os.rmdir(folder)
    os.rmdir(top)


def remove_tree(path):
    """Remove path, a file or a whole tree of any depth (links removed, never followed); nothing if absent."""
    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(info.st_mode):
        drain(path, lambda inner, label, info: os.unlink(inner))
    else:
        os.unlink(path)


class Keeper:
    """Moves refused entries into a new set folder, within the caps; writes down what it kept and why."""

    def __init__(self, folder, caps):
        self.folder, self.caps = folder, caps
        self.kept_files = self.kept_bytes = 0

    def take(self, path, label, why):
        """The note for one refused top-level entry, after moving or removing it."""
        note = {"name": label, "why": why}
        info = os.lstat(path)
        if stat.S_ISDIR(info.st_mode):
            inside = {"kept": [], "not kept": 0, "folders": 0}
            drain(path, lambda inner, where, info: self.take_inner(inner, where, info, inside))
            note["inside"] = inside
        else:
            note.update(self.keep(path, label, info))
        return note

    def take_inner(self, path, label, info, inside):
        kept = self.keep(path, label, info)
        if "kept_as" in kept:
            inside["kept"].append({"path": label, **kept})
        else:
            inside["not kept"] += 1

    def keep(self, path, label, info):
        """Move a regular file into the set under an inert name, if the caps allow; remove anything else."""
        if stat.S_ISLNK(info.st_mode):
            target = shown(os.readlink(path))
            os.unlink(path)
            return {"removed": f"a link to {target}"}
        if not stat.S_ISREG(info.st_mode):
            os.unlink(path)
            return {"removed": "not a regular file"}
        if self.kept_files >= self.caps.files or self.kept_bytes + info.st_size > self.caps.bytes:
            os.unlink(path)
            return {
                "removed": f"over what quarantine keeps per student ({self.caps.files} files, {amount(self.caps.bytes)})"
            }
        self.kept_files += 1
        self.kept_bytes += info.st_size
        name = inert_name(self.kept_files, label.rsplit("/", 1)[-1])
        os.rename(path, self.folder / name)
        return {"kept_as": name}


def store(folder, refused, caps=Caps()):
    """Replace what folder holds with the refused entries [(path, label, why)]; returns the notes written.

    The new set is made beside folder and swapped in, so an interrupted run leaves one set or the other.
    """
    folder = Path(folder)
    fresh = folder.with_name(f".{folder.name}.new")
    remove_tree(fresh)  # left by an interrupted run
    fresh.mkdir(parents=True)
    keeper = Keeper(fresh, caps)
    notes = admission.write(fresh, [keeper.take(path, label, why) for path, label, why in refused])
    old = folder.with_name(f".{folder.name}.old")
    remove_tree(old)
    if os.path.lexists(folder):
        os.rename(folder, old)
    os.rename(fresh, folder)
    remove_tree(old)
    return notes
