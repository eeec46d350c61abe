"""Bytes in and out: what a grading process needs of the course, as bytes.

Nothing here needs a shared filesystem or anything beyond the standard library, so the same
functions serve the local pool and Dask workers on other machines. (A submission's folder, and the
autograded and feedback folders coming back, travel as cnnkit.records.packed bytes.)

- ``course_bundle(root) -> (digest, bytes)``: what a grading process needs of the course;
- ``gradebook_snapshot(db_path) -> (digest, bytes)``: a consistent copy of the SQLite gradebook;
- ``write_once(path, bytes)``: put a bundle or snapshot on disk once, atomically.
"""

import fnmatch
import gzip
import hashlib
import io
import os
import sqlite3
import tarfile
import tempfile
import threading
from pathlib import Path

# What a grading process needs of the course: what nbgrader_config.py loads (the kit) and what the
# pipeline reads (source/ for nbgrader, release/ for the kit's integrity checks). Never student data.
COURSE_FILES = ("nbgrader_config.py", "cnnkit", "source", "release")
BUNDLE_IGNORE = ("__pycache__", "*.pyc", ".ipynb_checkpoints")


def course_bundle(root):
    """(digest, bytes) of what grading needs of the course (COURSE_FILES, without BUNDLE_IGNORE)."""
    root = Path(root)
    buffer = io.BytesIO()
    # gzip writes the time into its header: mtime=0 so that the digest names the content only (a digest
    # that changed every second made every grading process restart at every look, cnnkit.scale.engine.refresh).
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=1, mtime=0) as packed:
        with tarfile.open(fileobj=packed, mode="w") as tar:
            for name in COURSE_FILES:
                if (root / name).exists():
                    tar.add(root / name, arcname=name, filter=bundle_member)
    data = buffer.getvalue()
    return hashlib.sha256(data).hexdigest()[:16], data


def course_fingerprint(root):
    """What changes when a file of the bundle changes (paths, sizes, modification times): cheap to compare."""
    root = Path(root)
    seen = []
    for name in COURSE_FILES:
        for dirpath, dirnames, filenames in os.walk(root / name):
            dirnames[:] = sorted(d for d in dirnames if not ignored(d))
            for filename in sorted(f for f in filenames if not ignored(f)):
                info = os.lstat(os.path.join(dirpath, filename))
                seen.append((dirpath, filename, info.st_size, info.st_mtime_ns))
        if (root / name).is_file():
            info = os.lstat(root / name)
            seen.append((name, info.st_size, info.st_mtime_ns))
    return hashlib.sha256(repr(seen).encode()).hexdigest()


def ignored(name):
    return any(fnmatch.fnmatch(name, pattern) for pattern in BUNDLE_IGNORE)


def bundle_member(member):
    """A course file as it goes into the bundle, or None for what is ignored.

    mtimes and owners are zeroed so that the digest names the content: workers reuse an unpacked bundle.
    """
    if any(ignored(part) for part in Path(member.name).parts):
        return None
    member.mtime, member.uid, member.gid, member.uname, member.gname = 0, 0, 0, "", ""
    return member


def gradebook_snapshot(db_path):
    """(digest, bytes) of a consistent copy of the SQLite gradebook (sqlite3's backup API)."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch, "snapshot.db")
        source, target = sqlite3.connect(db_path), sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        data = copy.read_bytes()
    return hashlib.sha256(data).hexdigest()[:16], data


def write_once(path, data):
    """Write data to path atomically unless it is there already (several processes may race)."""
    path = Path(path)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return path
