"""Submissions as they arrive in nbgrader's exchange, and the one copy of each that the course ever reads.

nbgrader submit writes ``<exchange>/<course>/inbound/<student>+<assignment>+<timestamp>+<random>/``
with the notebook, ``timestamp.txt`` and, last, ``submission_secret.txt``. That folder stays the
student's: its name, its files, links in it and the timestamp are theirs, and they can change it at any
moment. So nothing reads it twice:

- inbound names are read as bytes and must have the form nbgrader submit gives them (``parse_name``);
  any other entry is a ``Stranger``, kept under a digest and shown escaped;
- each submission is read once, into a private snapshot (``take_snapshot``): every entry opened relative
  to its folder's descriptor without following a link (a link, FIFO, socket, device, hard link, or an
  entry owned by another account than the folder, anywhere, is left out and reported), within limits on
  entries, bytes and depth, walked without recursion;
- its official time is the server's: the latest ctime (which no user can set) of the folder and of
  everything in it. The folder is walked twice, and the snapshot kept only when nothing changed in
  between, so the content kept is the content at that time (``StillChanging`` otherwise: try later);
- everything after that (the checks in ``verdict``, the copy into submitted/, the secret the feedback is
  placed under) reads the snapshot. The student's timestamp.txt is never believed: the copy in
  submitted/ gets the official time.

Both ways in from the exchange read it here, so they apply one rule: the hub's grading service
(cnnkit.hub.service, which orchestrates: it polls, keeps its ledger and grades) and collect
(cnnkit.ingest.collect). ``printable`` is how any string a student controls is shown in a log line.
"""

import datetime
import hashlib
import os
import pwd
import re
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

import nbformat

from cnnkit.ingest.admit import Admission
from cnnkit.ingest.zip_owners import STUDENT_ID_PATTERN
from cnnkit.policy import rules

READY_FILE = "submission_secret.txt"  # the last file nbgrader submit writes
STALE = datetime.timedelta(minutes=2)  # a folder still without READY_FILE after this was not made by submit
NOTEBOOK_BYTES = Admission().max_file_bytes  # a larger notebook would be set aside by the admission gate
NOTEBOOKS_TOLD = 10  # a not-graded page goes under at most this many of the submission's notebook names

ASSIGNMENT_ID = r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}"
# <student>+<assignment>+<timestamp>[+<random>]: nbgrader's timestamp, and 9 random bytes in urlsafe base64.
NBGRADER_NAME = re.compile(
    rf"(?P<student>{STUDENT_ID_PATTERN})\+(?P<assignment>{ASSIGNMENT_ID})\+[0-9][0-9A-Za-z :._+-]{{0,63}}"
    r"(?:\+[A-Za-z0-9_-]{12})?",
    re.ASCII,
)
SECRET = re.compile(rb"[\x21-\x7e]{1,1024}")  # nbgrader writes 128 hex digits
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def printable(value, limit=None):
    """value (str or bytes) as printable ASCII on one line: anything else as a backslash escape; cut at limit.

    Applying it twice changes nothing more, so a log formatter may apply it to lines already escaped.
    """
    if isinstance(value, bytes):
        text = value.decode("ascii", "backslashreplace")
    else:
        text = str(value).encode("ascii", "backslashreplace").decode("ascii")
    text = CONTROL.sub(lambda found: f"\\x{ord(found.group()):02x}", text)
    return text if limit is None or len(text) <= limit else text[:limit] + "..."


def utc_from_ns(nanoseconds):
    return datetime.datetime.fromtimestamp(nanoseconds / 1e9, datetime.timezone.utc).replace(tzinfo=None)


# ---------------------------------------------------------------- what is in inbound


@dataclass(frozen=True)
class Arrival:
    """An inbound entry named as nbgrader submit names one: its name (the service's key), whose, which assignment."""

    name: str
    student: str
    assignment: str
    appeared_ns: int  # the entry's ctime


@dataclass(frozen=True)
class Stranger:
    """An inbound entry whose name nbgrader submit would not make."""

    raw: bytes

    @property
    def key(self):
        """A key that is the same on every look (for the service's state), whatever bytes the name holds."""
        return "unnamed-" + hashlib.sha256(self.raw).hexdigest()[:16]

    @property
    def shown(self):
        return printable(self.raw, limit=160)


def course_config(root):
    """The course's nbgrader_config.py, loaded as nbgrader loads it (a traitlets Config)."""
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()


def exchange_root(config):
    """The exchange folder nbgrader uses with this configuration."""
    from nbgrader.exchange.default.exchange import Exchange

    return Exchange(config=config).root


def inbound_folder(exchange_root, course_id):
    return Path(exchange_root) / course_id / "inbound"


def parse_name(raw):
    """The Arrival an inbound name stands for (appeared_ns 0), or None when nbgrader submit makes no such name."""
    try:
        name = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    found = NBGRADER_NAME.fullmatch(name)
    return found and Arrival(name, found["student"], found["assignment"], 0)


def arrivals(inbound):
    """(arrivals in the order their entries appeared, strangers) of the inbound folder ([] and [] without one)."""
    try:
        entries = list(os.scandir(os.fsencode(inbound)))
    except FileNotFoundError:
        return [], []
    found, strangers = [], []
    for entry in entries:
        arrival = parse_name(entry.name)
        if arrival is None:
            strangers.append(Stranger(entry.name))
            continue
        try:
            appeared = entry.stat(follow_symlinks=False).st_ctime_ns
        except FileNotFoundError:
            continue  # removed while we looked
        found.append(Arrival(arrival.name, arrival.student, arrival.assignment, appeared))
    found.sort(key=lambda arrival: (arrival.appeared_ns, arrival.name))
    return found, sorted(strangers, key=lambda stranger: stranger.raw)


def is_ready(inbound, arrival, at):
    """Whether nbgrader submit has finished writing the folder, or never will (then it is taken as it is)."""
    path = os.path.join(inbound, arrival.name)
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            return True  # not a folder: nothing more will come; the snapshot says why it is not taken
        os.lstat(os.path.join(path, READY_FILE))
        return True
    except FileNotFoundError:
        return at - utc_from_ns(arrival.appeared_ns) > STALE
    except OSError:
        return True  # unreadable: the snapshot says so


# ---------------------------------------------------------------- the snapshot


@dataclass(frozen=True)
class SnapshotLimits:
    """What one submission may hold to be copied at all (the admission gate's own limits are stricter)."""

    entries: int = 1000
    bytes: int = 64 * 2**20
    depth: int = 8


LIMITS = SnapshotLimits()


class Unreadable(Exception):
    """The submission cannot be taken as it is; the message says why, in words for the student."""


class StillChanging(Exception):
    """Something in the submission changed while it was read: it is being written, try again later."""


@dataclass(frozen=True)
class Snapshot:
    """A private copy of one submission, and what the server knows of it."""

    folder: Path
    owner: int  # the uid that owns the submission folder
    official_time: datetime.datetime  # the latest ctime of the folder and of everything in it
    left_out: tuple  # "path: why" of each entry not copied


def take_snapshot(inbound, name, target, limits=LIMITS):
    """Copy the submission inbound/name into target (a folder that does not exist yet); its Snapshot.

    Raises Unreadable (not a folder, unreadable, over a limit) or StillChanging.
    """
    target = Path(target)
    inbound_fd = os.open(inbound, os.O_RDONLY | os.O_DIRECTORY)
    try:
        root_fd = open_folder(name, inbound_fd, what="it")
    finally:
        os.close(inbound_fd)
    try:
        owner = os.fstat(root_fd).st_uid
        target.mkdir(mode=0o755)
        copied, left_out = walk(root_fd, limits, target)
        again, _ = walk(root_fd, limits)
    finally:
        os.close(root_fd)
    if copied != again:
        raise StillChanging("it changed while it was read")
    latest = max(ctime for _kind, _inode, ctime, _size in copied.values())
    return Snapshot(target, owner, utc_from_ns(latest), tuple(left_out))


def open_folder(name, folder_fd, what):
    """A descriptor of the folder name in folder_fd, never through a link; Unreadable when it is none."""
    try:
        return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder_fd)
    except PermissionError:
        raise Unreadable(f"{what} cannot be read by the grading service (its permissions were changed)") from None
    except FileNotFoundError:
        raise StillChanging(f"{what} disappeared while it was read") from None
    except OSError:  # ELOOP (a link) or ENOTDIR (a file, a FIFO...)
        raise Unreadable(f"{what} is not a folder (a link or a file); submit with nbgrader submit") from None


def walk(root_fd, limits, target=None):
    """(manifest, left out) of the folder open at root_fd, copied into target when one is given.

    manifest: {relative path parts: (kind, inode, ctime_ns, size)} of every entry, the folder itself as ().
    Depth-first with a list of folders still to read (no recursion); each folder is opened again from the
    root, one component at a time, never through a link, and must be the folder the listing saw.
    """
    root = os.fstat(root_fd)
    manifest = {(): entry_key(root)}
    left_out, total, pending = [], 0, [()]
    while pending:
        parts = pending.pop()
        folder_fd = reopen(root_fd, parts, manifest)
        try:
            names = sorted(os.listdir(folder_fd))
            for name in names:
                if len(manifest) > limits.entries:
                    raise Unreadable(
                        f"it holds more than {limits.entries} files and folders; submit the notebook and the files it needs"
                    )
                path = parts + (name,)
                info = lstat_in(folder_fd, name, path)
                manifest[path] = entry_key(info)
                why = left_out_reason(name, info, root.st_uid)
                if why:
                    left_out.append(f"{'/'.join(path)}: {why}")
                elif stat.S_ISDIR(info.st_mode):
                    if len(path) > limits.depth:
                        raise Unreadable(f"its folders are nested more than {limits.depth} deep")
                    if target is not None:
                        target.joinpath(*path).mkdir(mode=0o755)
                    pending.append(path)
                else:
                    total += info.st_size
                    if total > limits.bytes:
                        raise Unreadable(f"it is larger than {limits.bytes // 2**20} MB; submit the notebook only")
                    if target is not None:
                        copy_file(folder_fd, name, info, target.joinpath(*path))
        except PermissionError:
            raise Unreadable(f"{'/'.join(parts) or 'it'} cannot be read by the grading service") from None
        finally:
            os.close(folder_fd)
    return manifest, left_out


def entry_key(info):
    return (stat.S_IFMT(info.st_mode), info.st_ino, info.st_ctime_ns, info.st_size)


def reopen(root_fd, parts, manifest):
    """A new descriptor of the folder at parts below root_fd; StillChanging if it is not the one listed."""
    folder_fd = os.dup(root_fd)
    for depth, name in enumerate(parts, start=1):
        try:
            child = open_folder(name, folder_fd, what="/".join(parts[:depth]))
        finally:
            os.close(folder_fd)
        folder_fd = child
    if parts and os.fstat(folder_fd).st_ino != manifest[parts][1]:
        os.close(folder_fd)
        raise StillChanging("a folder in it was replaced while it was read")
    return folder_fd


def lstat_in(folder_fd, name, path):
    try:
        return os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
    except FileNotFoundError:
        raise StillChanging(f"{'/'.join(path)} disappeared while it was read") from None


def left_out_reason(name, info, owner):
    """Why this entry is not copied (None: it is), judged from lstat only; owner: the submission folder's uid."""
    mode = info.st_mode
    if not name.isprintable() or len(os.fsencode(name)) > 255:
        return "its name is not plain printable text"
    if info.st_uid != owner:
        return "it belongs to another account than the submission folder"
    if stat.S_ISLNK(mode):
        return "a symbolic link (links are never followed)"
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return "not a regular file (a FIFO, socket or device)"
    if stat.S_ISREG(mode) and info.st_nlink != 1:
        return "a hard link to another file"
    return None


def copy_file(folder_fd, name, info, destination):
    """Copy the regular file name (as lstat saw it: info) into destination, a new file; never through a link."""
    try:
        source = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder_fd)
    except FileNotFoundError:
        raise StillChanging(f"{name} disappeared while it was read") from None
    except PermissionError:
        raise Unreadable(f"{name} cannot be read by the grading service (its permissions were changed)") from None
    try:
        opened = os.fstat(source)
        if not stat.S_ISREG(opened.st_mode) or opened.st_ino != info.st_ino:
            raise StillChanging(f"{name} was replaced while it was read")
        sink = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(sink, "wb") as out:
            left = info.st_size
            while chunk := os.read(source, min(2**20, left + 1)):
                left -= len(chunk)
                if left < 0:
                    raise StillChanging(f"{name} grew while it was read")
                out.write(chunk)
    finally:
        os.close(source)


# ---------------------------------------------------------------- what the snapshot holds


def secret_of(folder):
    """The submission secret in the snapshot (None unless it is what nbgrader submit writes)."""
    path = Path(folder) / READY_FILE
    if not path.is_file() or path.stat().st_size > 1024:
        return None
    data = path.read_bytes()
    return data.decode("ascii") if SECRET.fullmatch(data) else None


def notebooks_in(folder):
    """The names (without .ipynb) of the notebooks at the top of the snapshot, at most NOTEBOOKS_TOLD of them."""
    return sorted(path.stem for path in Path(folder).glob("*.ipynb") if path.is_file())[:NOTEBOOKS_TOLD]


def owner_problem(owner_uid, student):
    """Why the folder's owner may not submit for the student it names (None: it may)."""
    try:
        owner = pwd.getpwuid(owner_uid).pw_name
    except KeyError:
        owner = f"uid {owner_uid}"
    if owner != student:
        return f"this submission names {student} but was made by the account {owner}"
    return None


def submission_problem(folder, notebook_name):
    """Why the snapshot cannot be graded, in words for the student (None: it can be)."""
    if secret_of(folder) is None:
        return (
            f"it holds no {READY_FILE} as nbgrader submit writes it (missing, empty, a link or not plain text); "
            "submit again from the Assignments tab"
        )
    expected = Path(folder) / notebook_name
    if not expected.is_file():
        named = notebooks_in(folder)
        found = f" (it holds {', '.join(name + '.ipynb' for name in named)})" if named else ""
        return f"no notebook named {notebook_name} was submitted{found}; submit it under that name"
    if expected.stat().st_size > NOTEBOOK_BYTES:
        return f"{notebook_name} is larger than {NOTEBOOK_BYTES // 2**20} MB; clear its outputs and resubmit"
    try:
        nbformat.validate(nbformat.read(str(expected), as_version=4))
    except Exception as error:  # nbformat raises several kinds for files that are not notebooks
        return f"{notebook_name} is not a valid notebook ({type(error).__name__}); save it in Jupyter and resubmit"
    return None


@dataclass(frozen=True)
class Verdict:
    """What becomes of a submission: "accepted" (graded), "refused" (by the policy) or "failed" (not gradable)."""

    status: str
    reason: str = ""


def verdict(snapshot, student, notebook_name, policy, graded_times):
    """The policy's verdict on a snapshot, given the official times of the student's graded attempts.

    The one rule for every way in: the grading service and the kit's collect both ask it.
    """
    problem = owner_problem(snapshot.owner, student) if policy.check_owner else None
    if problem:
        return Verdict("refused", problem)
    problem = submission_problem(snapshot.folder, notebook_name)
    if problem:
        return Verdict("failed", problem)
    decision = rules.decide(policy, graded_times, snapshot.official_time)
    return Verdict("accepted") if decision.graded else Verdict("refused", decision.reason)


def copy_to_submitted(snapshot_folder, destination, official_time):
    """Replace destination with a copy of the snapshot, its timestamp.txt the official time."""
    destination = Path(destination)
    if destination.exists():
        shutil.rmtree(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(snapshot_folder, destination)
    stamp = destination / "timestamp.txt"
    stamp.unlink(missing_ok=True)
    stamp.write_text(rules.nbgrader_timestamp(official_time))
    return destination
