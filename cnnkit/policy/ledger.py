"""The grading service's ledger: one SQLite file under the course, ``logs/submit-service.sqlite``.

What the course's policy made of every submission the service took in: its status, attempt number,
official time and score. The service (cnnkit.hub.service) writes it; the students' status page
(cnnkit.hub.status) and collect (cnnkit.ingest.collect, which brings in each student's official
attempt as the service graded it) read it.

One row per inbound entry, keyed by its folder name (``<student>+<assignment>+<time>+<random>``; an entry
whose name nbgrader submit would not make is kept under ``unnamed-<digest>``, student empty). A row is
written once the submission is taken in (cnnkit.ingest.exchange: its snapshot, official time and secret) and
moves through these statuses, each change committed before the next step starts:

    refused | failed | ignored                      (final: not graded; the student got a page saying why)
    accepted -> graded -> released -> done          (graded: an attempt number, its outcome stored)
    accepted | graded | released -> failed          (the grading, or the service, failed on it: no attempt)

A restart resumes from the row's status: ``accepted`` is graded again from its snapshot (its grading
never finished), ``graded`` has its stored outcome written again and its feedback released, ``released``
has the official attempt settled. An outcome is stored in the same transaction that marks the row
graded, so no submission is graded twice and none is lost. The ``events`` table is the history (seen,
dispatched, graded, released, ...), for the instructor and the tests. ``reason`` is for the student;
``error`` keeps, for the instructor, the exception behind a failure of the service itself.

Storage per student is bounded: a row holds short texts only, and blobs (the submitted folder as
graded, the grading outcome, the feedback folder) are kept only for attempts that can still become the
official one (``keep_blobs``): the latest graded and, with ``counts = "best"``, the best.
"""

import datetime
import fcntl
import os
import pickle
import sqlite3
from pathlib import Path

from cnnkit.policy import rules

PATH = Path("logs", "submit-service.sqlite")  # relative to the course root
GRADED_STATUSES = ("graded", "released", "done")

SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    name TEXT PRIMARY KEY, student TEXT NOT NULL, assignment TEXT NOT NULL,
    submitted_at TEXT NOT NULL, seen_at TEXT NOT NULL, status TEXT NOT NULL,
    attempt INTEGER, reason TEXT NOT NULL DEFAULT '', score REAL, max_score REAL, penalty REAL,
    updated_at TEXT NOT NULL, secret TEXT, notebooks TEXT NOT NULL DEFAULT '[]', error TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS blobs (
    name TEXT PRIMARY KEY, submitted BLOB, outcome BLOB, feedback BLOB
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, event TEXT NOT NULL, detail TEXT, at TEXT NOT NULL
);
"""

# Columns added after the first release of the service: a state file made before gets them on opening.
ADDED_COLUMNS = {
    "secret": "TEXT",
    "notebooks": "TEXT NOT NULL DEFAULT '[]'",
    "error": "TEXT NOT NULL DEFAULT ''",
}
TEXT_LIMIT = 2000  # characters kept of a reason or an error: a row stays small whatever a submission holds


def now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def as_text(moment):
    return moment.isoformat(sep=" ")


def as_time(text):
    return datetime.datetime.fromisoformat(text) if text else None


class ServiceBusy(RuntimeError):
    """Another grading service already runs on this course."""


class State:
    """The state file of the course at root (created on first use). ``lock()`` makes this the only service."""

    def __init__(self, root, readonly=False):
        self.path = Path(root) / PATH
        self.path.parent.mkdir(parents=True, exist_ok=True)
        uri = f"file:{self.path}?mode=ro" if readonly else f"file:{self.path}"
        self.db = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        if not readonly:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")  # a row marked done survives a power cut
            self.db.executescript(SCHEMA)
            self.add_missing_columns()
        self._lock = None

    def add_missing_columns(self):
        present = {row[1] for row in self.db.execute("PRAGMA table_info(submissions)")}
        for column, declaration in ADDED_COLUMNS.items():
            if column not in present:
                self.db.execute(f"ALTER TABLE submissions ADD COLUMN {column} {declaration}")

    def lock(self):
        """Hold an exclusive lock on the state for this process's life (two services would grade twice)."""
        handle = open(self.path.with_suffix(".lock"), "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise ServiceBusy(f"another grading service holds {handle.name}") from None
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock = handle

    def close(self):
        self.db.close()
        if self._lock is not None:
            self._lock.close()

    # ------------------------------------------------------------ rows

    def known(self):
        return {row[0] for row in self.db.execute("SELECT name FROM submissions")}

    def add(self, name, student, assignment, submitted_at, status, reason="", **fields):
        """A row for a submission taken in, with its status (and attempt, secret, notebooks, error)."""
        stamp = as_text(now())
        fields = {
            "name": name,
            "student": student,
            "assignment": assignment,
            "submitted_at": as_text(submitted_at),
            "seen_at": stamp,
            "status": status,
            "reason": clip(reason),
            "updated_at": stamp,
            **fields,
        }
        fields["error"] = clip(fields.get("error", ""))
        with self.transaction():
            self.db.execute(
                f"INSERT OR IGNORE INTO submissions ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})",
                tuple(fields.values()),
            )
            self.event(name, "seen", status)

    def rows(self, status=None, student=None):
        """Rows (dicts) in submission order, filtered by status (one or a tuple) and student."""
        query, args = "SELECT * FROM submissions WHERE 1", []
        if status is not None:
            statuses = (status,) if isinstance(status, str) else tuple(status)
            query += f" AND status IN ({','.join('?' * len(statuses))})"
            args += statuses
        if student is not None:
            query += " AND student = ?"
            args.append(student)
        query += " ORDER BY submitted_at, name"
        return [dict(row) for row in self.db.execute(query, args)]

    def row(self, name):
        found = self.db.execute("SELECT * FROM submissions WHERE name = ?", (name,)).fetchone()
        return dict(found) if found else None

    def set_status(self, name, status, **fields):
        """Change a row's status (and other columns) and log the event, in one transaction."""
        fields = {"status": status, "updated_at": as_text(now()), **fields}
        for text in ("reason", "error"):
            if text in fields:
                fields[text] = clip(fields[text])
        assignments = ", ".join(f"{column} = ?" for column in fields)
        with self.transaction():
            self.db.execute(f"UPDATE submissions SET {assignments} WHERE name = ?", (*fields.values(), name))
            self.event(name, status, fields.get("reason", ""))

    def graded_attempts(self, student, assignment):
        """The student's graded attempts (rows with an attempt number, graded or further), in order."""
        rows = self.rows(status=(*GRADED_STATUSES, "accepted"), student=student)
        return [row for row in rows if row["assignment"] == assignment and row["attempt"] is not None]

    # ------------------------------------------------------------ blobs and events

    def save_outcome(self, name, outcome, submitted=None, **fields):
        """Store a grading outcome (and the submitted folder as graded: pack() bytes) and mark the row graded,
        atomically (the moment it counts as graded)."""
        with self.transaction():
            self.db.execute("INSERT OR IGNORE INTO blobs (name) VALUES (?)", (name,))
            self.db.execute(
                "UPDATE blobs SET outcome = ?, submitted = ? WHERE name = ?", (pickle.dumps(outcome), submitted, name)
            )
            fields = {"status": "graded", "updated_at": as_text(now()), **fields}
            assignments = ", ".join(f"{column} = ?" for column in fields)
            self.db.execute(f"UPDATE submissions SET {assignments} WHERE name = ?", (*fields.values(), name))
            self.event(name, "graded", f"score {fields.get('score')}")

    def save_blob(self, name, kind, data):
        """kind: 'submitted' or 'feedback' (pack() bytes of the folder)."""
        assert kind in ("submitted", "feedback")
        with self.transaction():
            self.db.execute("INSERT OR IGNORE INTO blobs (name) VALUES (?)", (name,))
            self.db.execute(f"UPDATE blobs SET {kind} = ? WHERE name = ?", (data, name))

    def drop_blobs(self, name):
        """Forget what was stored of a submission (one that is not graded keeps no copy)."""
        with self.transaction():
            self.db.execute("DELETE FROM blobs WHERE name = ?", (name,))

    def keep_blobs(self, student, assignment, keep):
        """Drop the blobs of every row of the student's but those named in keep."""
        names = [row["name"] for row in self.rows(student=student) if row["assignment"] == assignment]
        with self.transaction():
            for name in names:
                if name not in keep:
                    self.db.execute("DELETE FROM blobs WHERE name = ?", (name,))

    def blob(self, name, kind):
        """The stored bytes (the outcome dict, for 'outcome'), or None."""
        assert kind in ("submitted", "outcome", "feedback")
        found = self.db.execute(f"SELECT {kind} FROM blobs WHERE name = ?", (name,)).fetchone()
        if found is None or found[0] is None:
            return None
        # Written by this service only, in the instructor's own course folder.
        return pickle.loads(found[0]) if kind == "outcome" else found[0]

    def event(self, name, event, detail=""):
        self.db.execute(
            "INSERT INTO events (name, event, detail, at) VALUES (?, ?, ?, ?)", (name, event, detail, as_text(now()))
        )

    def events(self, name=None, event=None):
        query, args = "SELECT name, event, detail, at FROM events WHERE 1", []
        if name is not None:
            query, args = query + " AND name = ?", [*args, name]
        if event is not None:
            query, args = query + " AND event = ?", [*args, event]
        return [dict(row) for row in self.db.execute(query + " ORDER BY id", args)]

    def transaction(self):
        return _Transaction(self.db)


def scored_attempts(rows) -> list[rules.Attempt]:
    """The Attempt of every graded row that has its score (what the policy chooses the official attempt from)."""
    return [
        rules.Attempt(row["attempt"], row["score"])
        for row in rows
        if row["status"] in GRADED_STATUSES and row["score"] is not None
    ]


def kept_attempts(graded, official):
    """Names of the graded rows whose stored copies are kept: the official attempt, the latest (it becomes
    official if the policy changes to "last"), and any whose feedback is not released yet. So a student's
    storage is at most two attempts, however often they submit."""
    latest = max(graded, key=lambda row: row["attempt"])
    return {official["name"], latest["name"]} | {row["name"] for row in graded if row["status"] != "done"}


def clip(text):
    text = str(text or "")
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT] + "..."


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on an exception): the connection runs in autocommit otherwise."""

    def __init__(self, db):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, value, traceback):
        self.db.execute("ROLLBACK" if kind else "COMMIT")
        return False
