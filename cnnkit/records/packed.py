"""A folder as bytes: how submissions, autograded and feedback folders travel and are kept.

The grading engine sends a submission's folder to a grading process, and gets its autograded and
feedback folders back, as ``pack()`` bytes (cnnkit.records.outcomes.Outcome); the grading service keeps
them so in its ledger (cnnkit.policy.ledger), from which collect puts an official attempt back
(cnnkit.ingest.collect). The format is a gzip'd tar of directories and regular files only: a packed
folder may hold what a student put there, so links and special files are never packed nor unpacked,
and nothing is unpacked outside its target.
"""

import io
import os
import shutil
import stat
import tarfile
from pathlib import Path


def pack(folder) -> bytes:
    """A gzip'd tar of folder: directories and regular files; links are never followed.

    Symbolic links and special files (FIFOs, sockets, devices) are left out: a folder packed here may
    hold what a student put there (cnnkit.ingest.admit moves such entries aside before a batch).
    """
    buffer = io.BytesIO()
    folder = Path(folder)
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = sorted(d for d in dirnames if not os.path.islink(Path(dirpath, d)))
            for name in sorted(filenames):
                path = Path(dirpath, name)
                if stat.S_ISREG(path.lstat().st_mode):
                    tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    return buffer.getvalue()


def unpack(data: bytes, target):
    """Extract pack() bytes into target: regular files and directories only, never outside target.

    Modes are kept (nbgrader makes autograded files read-only); links and devices are skipped,
    because the archive may hold what a student's kernel left in its working folder.
    """
    target = Path(target).resolve()
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            path = (target / member.name).resolve()
            if not path.is_relative_to(target) or not (member.isfile() or member.isdir()):
                continue
            if member.isdir():
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as source, open(path, "wb") as sink:
                shutil.copyfileobj(source, sink)
            os.chmod(path, member.mode & 0o777)
