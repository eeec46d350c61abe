"""Safe autograde batches: a gradebook backup first, and interrupted batches that resume.

nbgrader skips a student whose autograded/ folder exists, even if the run that made it was killed
halfway. So each fully graded submission gets a marker file (``mark_graded``, nbgrader's
post-convert hook), and before a batch starts every autograded folder without the marker is removed
(``remove_unfinished``), which makes plain `nbgrader autograde` regrade it.

``prepare_autograde(root)`` is that first step (backup, then clear unfinished work). It is called
explicitly: by the kit's coordinator (cnnkit.scale) before it hands out submissions, and, for stock
`nbgrader autograde` run from the course folder, by ``AutogradeStart``, the exporter that
nbgrader_config.py names in ``c.Autograde.exporter_class`` (nbgrader builds it once per command,
after finding the submissions and before deciding which of them to skip).
"""

import shutil
import sqlite3
import sys
import time
from pathlib import Path

from nbconvert.exporters import NotebookExporter
from traitlets import Bool

from cnnkit import course
from cnnkit.ingest import admit

MARKER = ".cnnkit-graded"
KEEP_BACKUPS = 10


def backup_gradebook(root):
    """Copy root/gradebook.db to root/backups/ with SQLite's online backup (safe even while in use).

    Keeps the newest KEEP_BACKUPS copies; returns the new copy's path, or None without a gradebook.
    """
    database = root / "gradebook.db"
    if not database.exists():
        return None
    folder = root / "backups"
    folder.mkdir(exist_ok=True)
    # Named by the time to the microsecond, so that the names sort in the order the backups were made.
    now = time.time_ns() // 1000
    target = folder / f"gradebook-{time.strftime('%Y%m%d-%H%M%S', time.localtime(now // 10**6))}-{now % 10**6:06d}.db"
    with sqlite3.connect(database) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    for old in sorted(folder.glob("gradebook-*.db"))[:-KEEP_BACKUPS]:
        old.unlink()
    return target


def remove_unfinished(root):
    """Remove autograded folders of submissions whose grading did not finish; returns the students, sorted."""
    unfinished = []
    for folder in sorted((root / "autograded").glob(f"*/{course.ASSIGNMENT}")):
        if not (folder / MARKER).exists():
            shutil.rmtree(folder)
            unfinished.append(folder.parent.name)
    return unfinished


def prepare_autograde(root):
    """The first step of an autograde batch of the course at root: back up the gradebook, admit every
    submission (cnnkit.ingest.admit), then clear unfinished work.

    Says on stderr what it did. Every call backs up: call it once per batch.
    """
    root = Path(root)
    backup = backup_gradebook(root)
    for student, notes in admit.admit_all(root, course.ASSIGNMENT).items():
        moved = "; ".join(f"{note['name']}: {note['why']}" for note in notes)
        folder = notes[0].get("folder", f"quarantine/{student}/{course.ASSIGNMENT}")
        print(f"[cnnkit] {student}: moved to {folder}/: {moved}", file=sys.stderr)
    unfinished = remove_unfinished(root)
    if backup:
        print(f"[cnnkit] gradebook backed up to {backup.relative_to(root)}", file=sys.stderr)
    if unfinished:
        print(f"[cnnkit] regrading unfinished submissions: {', '.join(unfinished)}", file=sys.stderr)


class AutogradeStart(NotebookExporter):
    """nbgrader's notebook exporter, whose construction starts the batch with ``prepare_autograde``.

    For ``c.Autograde.exporter_class`` (a documented nbgrader option): Autograde builds its
    exporter once per command, after finding the submissions and before deciding, for each, whether
    to grade it or skip it; so the folders of unfinished submissions are gone in time to be regraded.
    The exporter itself works as nbgrader's default one (NotebookExporter).
    """

    prepare_batch = Bool(
        True,
        help="Back up the gradebook and clear unfinished autograded folders when autograde starts. "
        "The kit's grading processes turn it off: the coordinator prepared the real course already.",
    ).tag(config=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        coursedir = getattr(self.parent, "coursedir", None)  # the converter building it
        if self.prepare_batch and coursedir is not None:
            prepare_autograde(coursedir.root)


def mark_graded(assignment, student, notebooks):
    """nbgrader post-convert hook (Autograde): the submission's autograded folder is complete.

    nbgrader passes the submitted notebooks' paths: submitted/<student>/<assignment>/<name>.ipynb.
    """
    for notebook_path in notebooks:
        submitted = Path(notebook_path).resolve()
        student_id, assignment_id = submitted.parent.parent.name, submitted.parent.name
        root = submitted.parent.parent.parent.parent
        folder = root / "autograded" / student_id / assignment_id
        if folder.is_dir():
            admit.write_record(folder / MARKER, "")
