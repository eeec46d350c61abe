"""The gate every submission folder passes before anything reads it: ``admit(folder, quarantine)``.

A submission arrives in submitted/<student>/<assignment>/ by collect, zip_collect, the exchange or a
copy; whichever way, its names, links and sizes are the student's choice. nbgrader then copies what
it finds into autograded/ (following links) and the student's kernel runs there with that folder
first on ``sys.path``. So before a batch, each folder is reduced to what grading needs:

- regular files only, each with one link: a symbolic link (to the master notebook, another student's
  work, gradebook.db), a hard link, a FIFO, a socket or a device is moved aside, never followed;
- no folders and nothing Python could import from the working folder (``*.py``, ``*.pyc``, ``*.so``,
  ``*.pth``, a ``cnn_checks/`` package...): support files come from the course's source, never from a
  submission, and a ``numpy.py`` or ``cnn_checks/`` beside the notebook would otherwise shadow them;
- none of the kit's own record names (integrity.json, the batch marker);
- within size limits (per file, in total, in number of files).

Nothing is deleted: what is moved aside goes to quarantine/<student>/<assignment>/ (the instructor can
look at it), with ``admission.json`` there saying what and why. ``admission_notes`` reads that back
for the run summary and the report. Only names are moved (``os.rename``), so a link's target is
never touched.
"""

import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from cnnkit.ingest.zip_owners import STUDENT_ID_PATTERN, STUDENT_ID_RULE

NOTES_FILE = "admission.json"
IMPORTABLE = frozenset({".py", ".pyc", ".pyo", ".pyd", ".so", ".pth", ".egg", ".whl", ".zip", ".egg-link"})
KIT_RECORDS = frozenset({"integrity.json", ".cnnkit-graded"})
KEPT_ANYWAY = frozenset({"timestamp.txt"})  # nbgrader's own record of the submission time


@dataclass(frozen=True)
class Limits:
    """Bounds on what one submission folder may hold (bytes and counts)."""

    file_bytes: int = 20 * 2**20
    total_bytes: int = 50 * 2**20
    files: int = 100


def refusal(entry, info, support=frozenset()):
    """Why this directory entry may not stay in a submission (None: it may), judged from lstat only.

    support: the names of the course's support files. A submission's own copy of one may stay, as a
    plain file: nbgrader replaces it with the course's before the notebook runs.
    """
    mode = info.st_mode
    if stat.S_ISLNK(mode):
        return "a symbolic link (links are never followed)"
    if stat.S_ISDIR(mode):
        return "a folder (a submission is the notebook and plain files beside it)"
    if not stat.S_ISREG(mode):
        return "not a regular file (a FIFO, socket or device)"
    if info.st_nlink != 1:
        return "a hard link to another file"
    if entry.name in KIT_RECORDS:
        return "a name the kit keeps for its own records"
    if entry.name in support:
        return None
    if entry.name.startswith("cnn_checks") or Path(entry.name).suffix.lower() in IMPORTABLE:
        return "a file Python could import in place of the course's own (support files come from the course)"
    return None


def admit(folder, quarantine, limits=Limits(), support=frozenset()):
    """Make one submission folder safe to read; returns [{"name", "why"}] of what was moved to quarantine.

    Refused entries are renamed into quarantine (created when needed) and listed in its admission.json;
    a folder that needs nothing moved is left exactly as it was.
    """
    folder, quarantine = Path(folder), Path(quarantine)
    moved, kept, total = [], [], 0
    entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    for entry in entries:
        why = refusal(entry, entry.stat(follow_symlinks=False), support)
        if why is None and entry.name not in KEPT_ANYWAY | support:
            kept.append(entry)
        elif why is not None:
            moved.append((entry, why))
    # Sizes: the notebook first, then the smaller files, so that one huge file does not push out the rest.
    kept.sort(key=lambda entry: (not entry.name.endswith(".ipynb"), entry.stat(follow_symlinks=False).st_size))
    for count, entry in enumerate(kept, start=1):
        size = entry.stat(follow_symlinks=False).st_size
        if size > limits.file_bytes:
            moved.append((entry, f"larger than {limits.file_bytes // 2**20} MB"))
        elif total + size > limits.total_bytes:
            moved.append((entry, f"over the {limits.total_bytes // 2**20} MB a submission may hold"))
        elif count > limits.files:
            moved.append((entry, f"over the {limits.files} files a submission may hold"))
        else:
            total += size
    if moved:
        set_aside(moved, quarantine)
    return [{"name": entry.name, "why": why} for entry, why in moved]


def set_aside(moved, quarantine):
    """Rename each (entry, why) into quarantine and add them to its notes file."""
    quarantine.mkdir(parents=True, exist_ok=True)
    notes = read_notes(quarantine)
    for entry, why in moved:
        target = quarantine / entry.name
        if target.exists() or target.is_symlink():
            target = quarantine / f"{entry.name}.{os.getpid()}-{len(notes)}"
        os.rename(entry.path, target)
        notes.append({"name": entry.name, "why": why, "kept_as": target.name})
    write_record(quarantine / NOTES_FILE, json.dumps(notes, indent=1))


def read_notes(quarantine):
    """The notes of an earlier admission of the same folder ([] when none or unreadable)."""
    try:
        notes = json.loads((Path(quarantine) / NOTES_FILE).read_text())
    except (OSError, ValueError):
        return []
    return [note for note in notes if isinstance(note, dict)] if isinstance(notes, list) else []


def write_record(path, text):
    """Write a trusted record so that a link planted under its name is replaced, never written through."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.replace(partial, path)


def support_files(root, assignment):
    """Names of the plain files beside the master notebook in source/<assignment>/ (cnn_checks.py, data)."""
    folder = Path(root) / "source" / assignment
    if not folder.is_dir():
        return frozenset()
    return frozenset(p.name for p in folder.iterdir() if p.is_file() and not p.is_symlink() and p.suffix != ".ipynb")


def quarantine_of(root, student, assignment):
    return Path(root) / "quarantine" / student / assignment


def admit_all(root, assignment, limits=Limits()):
    """Admit every submission of the assignment under root/submitted; {student: notes} for those that needed it.

    A student folder that is itself a link, or whose assignment folder is, is moved aside whole.
    """
    root = Path(root)
    found = {}
    support = support_files(root, assignment)
    submitted = root / "submitted"
    if not submitted.is_dir():
        return found
    for student in sorted(os.scandir(submitted), key=lambda entry: entry.name):
        if not re.fullmatch(STUDENT_ID_PATTERN, student.name):
            label, notes = set_aside_invalid_id(root, student)
            found[label] = notes
            continue
        folder = Path(student.path) / assignment
        if student.is_symlink() or folder.is_symlink():
            link = Path(student.path) if student.is_symlink() else folder
            why = "a symbolic link (links are never followed)"
            set_aside([(_Entry(link), why)], quarantine_of(root, student.name, assignment))
            found[student.name] = [{"name": link.name, "why": why}]
            continue
        if not folder.is_dir():
            continue
        notes = admit(folder, quarantine_of(root, student.name, assignment), limits, support)
        if notes:
            found[student.name] = notes
    return found


def set_aside_invalid_id(root, student):
    """Move a student folder whose name is no valid id into quarantine/invalid-id-<hash>/; (label, notes).

    The name becomes a gradebook key, folder names and CSV and HTML cells downstream: it is not used
    anywhere, not even as a file name in quarantine.
    """
    label = "invalid-id-" + hashlib.sha256(os.fsencode(student.name)).hexdigest()[:12]
    why = (
        f"the folder name {student.name[:80]!r} is not a valid student id ({STUDENT_ID_RULE}): "
        "rename it to the student's id and autograde again"
    )
    quarantine = Path(root) / "quarantine" / label
    quarantine.mkdir(parents=True, exist_ok=True)
    os.rename(student.path, quarantine / "submission")
    notes = [{"name": label, "why": why, "kept_as": "submission", "folder": f"quarantine/{label}"}]
    write_record(quarantine / NOTES_FILE, json.dumps(notes, indent=1))
    return label, notes


@dataclass(frozen=True)
class _Entry:
    """What set_aside needs of a directory entry, for a path known only as a Path."""

    path_object: Path

    @property
    def name(self):
        return self.path_object.name

    @property
    def path(self):
        return str(self.path_object)


def admission_notes(root, student, assignment):
    """What admission moved aside from this submission, as [{"name", "why", "kept_as"}]."""
    return read_notes(quarantine_of(root, student, assignment))
