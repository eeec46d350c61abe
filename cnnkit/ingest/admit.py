"""The gate every submission folder passes before anything reads it: ``admit_all(root, assignment)``.

A submission arrives in submitted/<student>/<assignment>/ by collect, zip_collect, the exchange or a
copy; whichever way, its names, links and sizes are the student's choice. nbgrader then copies what it
finds into autograded/ (following links) and from there into feedback/; the formgrader serves the files
of autograded/ by name, in the instructor's logged-in origin; and the student's kernel runs with that
folder first on ``sys.path``. So before a batch, each folder is reduced to what grading needs:

- the assignment's notebooks (the names in release/<assignment>/), regular files with one link;
- nbgrader's own records, ``timestamp.txt`` and ``submission_secret.txt``, when they are what nbgrader
  writes (a short line of plain text); they never count against the limits;
- the student's copies of the course's support files (nbgrader replaces them with the course's own);
- extra files only when the instructor allows them (``c.Admission.extra_files``, none by default), and
  never a file a browser runs as a page or a script (.html, .svg, .xml, .js ...) or one Python could
  import in place of the course's (``*.py``, ``*.pth``, a ``cnn_checks/`` package ...);
- within size limits (per file, in total, in number of extra files).

Everything else (links, hard links, folders, FIFOs, names with control characters, the kit's own record
names, any other file) goes to quarantine/<student>/<assignment>/ with the reason: one bounded set per
student, kept under inert names (cnnkit.ingest.quarantine), with the admission record saying why
(cnnkit.records.admission), which the run summary and the report read. No step here recurses into a
folder or follows a link.
"""

import fnmatch
import hashlib
import os
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from nbgrader.utils import parse_utc
from traitlets import Int, List, Unicode
from traitlets.config import Config, Configurable
from traitlets.config.loader import ConfigFileNotFound, PyFileConfigLoader

from cnnkit.ingest import quarantine
from cnnkit.ingest.names import browser_type, shown
from cnnkit.ingest.zip_owners import STUDENT_ID_PATTERN, STUDENT_ID_RULE
from cnnkit.records import admission, integrity, marker

MiB = 2**20
TIMESTAMP, SECRET = "timestamp.txt", "submission_secret.txt"
RECORD_BYTES = {TIMESTAMP: 128, SECRET: 1024}  # nbgrader writes ~30 and 128 bytes
KIT_RECORDS = frozenset({integrity.FILE, marker.FILE})  # the kit's own record names in an autograded folder
IMPORTABLE = frozenset({".py", ".pyc", ".pyo", ".pyd", ".so", ".pth", ".egg", ".whl", ".zip", ".egg-link"})
LINK_REFUSAL = "a symbolic link (links are never followed)"


class AdmissionError(RuntimeError):
    """A submission folder could not be admitted (the grader cannot manage its copy): grading must not start."""


class Admission(Configurable):
    """What the admission gate lets into a submission folder; set in nbgrader_config.py (c.Admission.*)."""

    extra_files = List(
        Unicode(),
        default_value=[],
        help="Extra files a submission may carry beside its notebooks, as case-sensitive glob patterns "
        "(e.g. ['*.png', 'data.csv']); none by default. Files a browser runs (.html, .svg, .xml, .js ...) and "
        "files Python could import are refused even when listed.",
    ).tag(config=True)
    max_file_bytes = Int(20 * MiB, help="Largest file a submission may hold.").tag(config=True)
    max_total_bytes = Int(50 * MiB, help="Bytes a submission may hold in all.").tag(config=True)
    max_extra_files = Int(100, help="Extra files (as extra_files allows) a submission may hold.").tag(config=True)
    quarantine_bytes = Int(20 * MiB, help="Bytes of refused files kept in quarantine per student.").tag(config=True)
    quarantine_files = Int(100, help="Refused files kept in quarantine per student.").tag(config=True)

    def caps(self):
        return quarantine.Caps(bytes=self.quarantine_bytes, files=self.quarantine_files)


@dataclass(frozen=True)
class Expected:
    """The names a submission of the assignment is made of: its notebooks and the course's support files."""

    notebooks: frozenset = frozenset()
    support: frozenset = frozenset()

    def describe(self):
        return ", ".join(sorted(self.notebooks)) or "no notebook (release the assignment first)"


# ---------------------------------------------------------------- the rules, one directory entry at a time


def refusal(entry, info, expected, extra_files=()):
    """Why this directory entry may not stay in a submission (None: it may), judged from lstat and its name."""
    mode, name = info.st_mode, entry.name
    if stat.S_ISLNK(mode):
        return LINK_REFUSAL
    if stat.S_ISDIR(mode):
        return "a folder (a submission is its notebook and nbgrader's records; nothing in a folder is graded)"
    if not stat.S_ISREG(mode):
        return "not a regular file (a FIFO, socket or device)"
    if info.st_nlink != 1:
        return "a hard link to another file"
    if not name.isprintable():
        return "a name with control characters or bytes that are not UTF-8"
    if name in KIT_RECORDS:
        return "a name the kit keeps for its own records"
    if name in RECORD_BYTES:
        problem = record_problem(name, read_record(entry.path, RECORD_BYTES[name]))
        return f"not the {name} nbgrader writes: {problem}" if problem else None
    if name in expected.notebooks or name in expected.support:
        return None
    if name.startswith("cnn_checks") or Path(name).suffix.lower() in IMPORTABLE:
        return "a file Python could import in place of the course's own (support files come from the course)"
    if browser_type(name):
        return (
            f"a file a browser would run as a page or a script ({browser_type(name)}): never kept beside a "
            "submission, even when c.Admission.extra_files lists it"
        )
    if any(fnmatch.fnmatchcase(name, pattern) for pattern in extra_files):
        return None
    if name.lower().endswith(".ipynb"):
        return f"a notebook that is not part of the assignment ({expected.describe()}): put your work in that one"
    return (
        f"not part of the assignment: a submission keeps {expected.describe()} and nbgrader's records "
        "(the instructor may allow more files with c.Admission.extra_files)"
    )


def read_record(path, limit):
    """Up to limit + 1 bytes of a record file, never through a link; None when it cannot be read."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as handle:
        return handle.read(limit + 1) if stat.S_ISREG(os.fstat(handle.fileno()).st_mode) else None


def record_problem(name, data):
    """What is wrong with data as nbgrader's record `name` (timestamp.txt or submission_secret.txt); None: nothing."""
    limit = RECORD_BYTES[name]
    if data is None:
        return "it cannot be read as a file"
    if not data.strip():
        return "it is empty"
    if len(data) > limit:
        return f"it is larger than {limit} bytes"
    if name == SECRET and not re.fullmatch(rb"[!-~]+", data):
        return "it is not plain text (printable ASCII without spaces)"
    if name == TIMESTAMP:
        if not re.fullmatch(rb"[ -~]+\n?", data):
            return "it is not plain text (printable ASCII)"
        try:
            parse_utc(data.decode().strip())
        except (ValueError, OverflowError):
            return "it holds no time nbgrader can read"
    return None


def over_limits(kept, expected, settings):
    """[(entry, why)] of the admitted entries [(entry, lstat)] that do not fit the size and count limits.

    The notebooks first, then the smaller files, so that one huge file does not push out the rest.
    """
    refused, total, extras = [], 0, 0
    for entry, info in sorted(kept, key=lambda pair: (pair[0].name not in expected.notebooks, pair[1].st_size)):
        extra = entry.name not in expected.notebooks | expected.support
        if info.st_size > settings.max_file_bytes:
            refused.append((entry, f"larger than {quarantine.amount(settings.max_file_bytes)}"))
        elif total + info.st_size > settings.max_total_bytes:
            refused.append((entry, f"over the {quarantine.amount(settings.max_total_bytes)} a submission may hold"))
        elif extra and extras >= settings.max_extra_files:
            refused.append((entry, f"over the {settings.max_extra_files} extra files a submission may hold"))
        else:
            total += info.st_size
            extras += extra
    return refused


# ---------------------------------------------------------------- one submission folder, then the class


def admit(folder, quarantine_folder, expected, settings=None):
    """Make one submission folder safe to read; returns the notes [{"name", "why", ...}] of what was refused.

    Refused entries replace the set in quarantine_folder (cnnkit.ingest.quarantine.store); a folder that
    needs nothing moved is left exactly as it was, and so is its quarantine.
    """
    settings = settings or Admission()
    refused, kept = [], []
    for entry in sorted(os.scandir(folder), key=lambda entry: entry.name):
        info = entry.stat(follow_symlinks=False)
        why = refusal(entry, info, expected, settings.extra_files)
        if why is not None:
            refused.append((entry, why))
        elif entry.name not in RECORD_BYTES:
            kept.append((entry, info))
    refused += over_limits(kept, expected, settings)
    if not refused:
        return []
    entries = [(Path(entry.path), shown(entry.name), why) for entry, why in sorted(refused, key=lambda r: r[0].name)]
    return quarantine.store(quarantine_folder, entries, settings.caps())


def admit_all(root, assignment, settings=None):
    """Admit every submission of the assignment under root/submitted; {student: notes} for those that needed it.

    settings: an Admission (the course's nbgrader_config.py when None). A student folder whose name is no
    valid id is set aside whole; the others are admitted one by one (admit_one).
    """
    root = Path(root)
    settings = settings or course_settings(root)
    found = {}
    submitted = root / "submitted"
    if not submitted.is_dir():
        return found
    for student in sorted(os.scandir(submitted), key=lambda entry: entry.name):
        if not re.fullmatch(STUDENT_ID_PATTERN, student.name):
            label, notes = set_aside_invalid_id(root, student, settings)
            found[label] = notes
            continue
        notes = admit_one(root, assignment, student.name, settings)
        if notes:
            found[student.name] = notes
    return found


def admit_one(root, assignment, student, settings=None):
    """Admit one student's submission folder (a valid id); its notes ([] when nothing was refused).

    A student folder that is a link, or whose assignment folder is, is removed (its target written down,
    never followed). AdmissionError when the folder cannot be admitted at all (the grader does not own its
    copy): nothing may be graded then.
    """
    if not re.fullmatch(STUDENT_ID_PATTERN, student):
        raise ValueError(f"{shown(student)!r} is not a valid student id: admit_all sets such folders aside")
    root = Path(root)
    settings = settings or course_settings(root)
    outer = root / "submitted" / student
    folder = outer / assignment
    target = admission.folder(root, student, assignment)
    if outer.is_symlink() or folder.is_symlink():
        link = outer if outer.is_symlink() else folder
        return quarantine.store(target, [(link, shown(link.name), LINK_REFUSAL)], settings.caps())
    if not folder.is_dir():
        return []
    try:
        os.chmod(folder, folder.stat().st_mode | stat.S_IRWXU)  # a copy keeps the student's mode
        return admit(folder, target, expected_files(root, assignment), settings)
    except OSError as error:
        # Not a shape a student can give their folder (modes are repaired, no path grows with depth): the
        # grader cannot manage its own copy. Fail closed rather than let nbgrader read it unchecked.
        raise AdmissionError(
            f"submitted/{student}/{assignment} could not be admitted ({shown(str(error))}): grading "
            "stops so that it is not graded unchecked; check that the grader owns it, or move it out of "
            "submitted/, and start again"
        ) from error


def set_aside_invalid_id(root, student, settings):
    """Move a student folder whose name is no valid id into quarantine/invalid-id-<hash>/; (label, notes).

    The name becomes a gradebook key, folder names and CSV and HTML cells downstream: it is not used
    anywhere, not even as a file name in quarantine.
    """
    label = "invalid-id-" + hashlib.sha256(os.fsencode(student.name)).hexdigest()[:12]
    why = (
        f"the folder name {shown(student.name, 80)!r} is not a valid student id ({STUDENT_ID_RULE}): "
        "rename it to the student's id and autograde again"
    )
    notes = quarantine.store(root / admission.QUARANTINE / label, [(Path(student.path), label, why)], settings.caps())
    return label, [{**notes[0], "folder": f"{admission.QUARANTINE}/{label}"}]


# ---------------------------------------------------------------- the course's settings and names


def course_settings(root):
    """The course's Admission settings (defaults where its nbgrader_config.py sets none)."""
    return Admission(config=course_config(root))


def course_config(root):
    """root/nbgrader_config.py read as nbgrader reads it (an empty Config when there is none).

    Loading the file runs it (it configures the sandbox through environment variables and puts the
    course on sys.path): this process is left as it was.
    """
    saved_environ, saved_path = dict(os.environ), list(sys.path)
    try:
        return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    except ConfigFileNotFound:
        return Config()
    finally:
        os.environ.clear()
        os.environ.update(saved_environ)
        sys.path[:] = saved_path


def expected_files(root, assignment):
    """The assignment's notebooks (as released; the source has the same names) and support files."""
    notebooks = set()
    for folder in (Path(root) / "release" / assignment, Path(root) / "source" / assignment):
        if folder.is_dir():
            notebooks |= {path.name for path in folder.iterdir() if path.suffix == ".ipynb" and path.is_file()}
    return Expected(frozenset(notebooks), support_files(root, assignment))


def support_files(root, assignment):
    """Names of the plain files beside the master notebook in source/<assignment>/ (cnn_checks.py, data)."""
    folder = Path(root) / "source" / assignment
    if not folder.is_dir():
        return frozenset()
    return frozenset(p.name for p in folder.iterdir() if p.is_file() and not p.is_symlink() and p.suffix != ".ipynb")
