"""Submissions as they arrive in nbgrader's exchange, and their way into the course's submitted/ folder.

nbgrader submit writes ``<exchange>/<course>/inbound/<student>+<assignment>+<timestamp>+<random>/``
with the notebook, ``timestamp.txt`` and, last, ``submission_secret.txt``. Everything in that folder
is the student's choice (names, links, the timestamp itself), so nothing here follows a link, and the
copy into submitted/ is taken the way the kit's collect takes it (cnnkit.ingest.collect): links as
links, no special files. The admission gate (cnnkit.ingest.admit) then treats the copy before grading,
as in every autograde batch.
"""

import datetime
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

import nbformat

from cnnkit.hub import policy as rules
from cnnkit.ingest.collect import special

READY_FILE = "submission_secret.txt"  # the last file nbgrader submit writes
MAX_BYTES = 100 * 2**20  # more is never copied out of the exchange (the admission gate's limits are lower)
STALE = datetime.timedelta(minutes=2)  # a folder still without READY_FILE after this was not made by submit


@dataclass(frozen=True)
class Arrival:
    """One inbound folder: its name (the service's key), whose and which assignment it claims to be."""

    name: str
    student: str
    assignment: str
    path: Path


def inbound_folder(exchange_root, course_id):
    return Path(exchange_root) / course_id / "inbound"


def arrivals(inbound):
    """Every submission folder in inbound, by name (no links, nothing hidden, names nbgrader makes)."""
    found = []
    try:
        entries = sorted(os.scandir(inbound), key=lambda entry: entry.name)
    except FileNotFoundError:
        return []
    for entry in entries:
        parts = entry.name.split("+")
        if entry.name.startswith(".") or len(parts) not in (3, 4) or not all(parts[:3]):
            continue
        found.append(Arrival(entry.name, parts[0], parts[1], Path(entry.path)))
    return found


def utc_from_epoch(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).replace(tzinfo=None)


def is_ready(arrival, at):
    """Whether nbgrader submit has finished writing the folder (or it never will: then treat it now)."""
    if (arrival.path / READY_FILE).exists():
        return True
    return at - appeared(arrival) > STALE


def appeared(arrival):
    """When the folder appeared: its ctime, which the student cannot set back."""
    return utc_from_epoch(arrival.path.lstat().st_ctime)


def claimed_time(arrival):
    """The time in the submission's timestamp.txt (None when absent or unreadable)."""
    path = arrival.path / "timestamp.txt"
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 200:
            return None
        return rules.parse_time(path.read_text())
    except (OSError, rules.PolicyError, UnicodeDecodeError):
        return None


def submission_time(arrival):
    """The submission's time as the course will record it (cnnkit.hub.policy.trusted_submission_time)."""
    return rules.trusted_submission_time(claimed_time(arrival), appeared(arrival))


def owner_problem(arrival):
    """Why the folder's owner may not submit for the student it names (None: it may)."""
    import pwd

    uid = arrival.path.lstat().st_uid
    try:
        owner = pwd.getpwuid(uid).pw_name
    except KeyError:
        owner = f"uid {uid}"
    if owner != arrival.student:
        return f"this submission names {arrival.student} but was made by the account {owner}"
    return None


def submission_problem(arrival, notebook_name):
    """Why the submission cannot be graded, in words for the student (None: it can be)."""
    if arrival.path.is_symlink() or not arrival.path.is_dir():
        return "the submission is not a folder"
    if folder_bytes(arrival.path) > MAX_BYTES:
        return f"the submission is larger than {MAX_BYTES // 2**20} MB"
    expected = arrival.path / notebook_name
    notebooks = sorted(path.name for path in arrival.path.glob("*.ipynb"))
    if notebook_name not in notebooks:
        found = f" (it holds {', '.join(notebooks)})" if notebooks else ""
        return f"no notebook named {notebook_name} was submitted{found}; submit it under that name"
    if not stat.S_ISREG(expected.lstat().st_mode):
        return f"{notebook_name} is not a regular file"
    try:
        nbformat.validate(nbformat.read(str(expected), as_version=4))
    except Exception as error:  # nbformat raises several kinds for files that are not notebooks
        return f"{notebook_name} is not a valid notebook ({type(error).__name__}); save it in Jupyter and resubmit"
    return None


def folder_bytes(folder):
    """Bytes under folder, links not followed."""
    return sum(os.lstat(os.path.join(path, name)).st_size for path, _, names in os.walk(folder) for name in names)


def copy_to_submitted(arrival, destination, timestamp):
    """Replace destination with a copy of the submission (links as links), with timestamp.txt set to timestamp."""
    destination = Path(destination)
    if destination.exists():
        shutil.rmtree(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(arrival.path, destination, symlinks=True, ignore=special)
    stamp = destination / "timestamp.txt"
    if stamp.is_symlink():
        stamp.unlink()
    stamp.write_text(rules.nbgrader_timestamp(timestamp))
    return destination
