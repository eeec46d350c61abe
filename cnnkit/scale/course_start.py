"""The course before grading starts: a gradebook backup, every submission admitted, unfinished work cleared.

nbgrader skips a student whose autograded/ folder exists, even if the run that made it was killed
halfway. So each fully graded submission gets a marker file (``mark_graded``, nbgrader's post-convert
hook; cnnkit.records.marker), and before grading starts every autograded folder without the marker is removed
(``remove_unfinished``), which makes plain `nbgrader autograde` regrade it.

``prepare(root, assignment)`` is that start step (backup, admission, unfinished work). It runs once
where grading is orchestrated: when the grading engine opens the course (cnnkit.scale.engine), and,
for stock `nbgrader autograde` run from the course folder, in ``AutogradeStart``, the exporter that
nbgrader_config.py names in ``c.Autograde.exporter_class`` (nbgrader builds it once per command, after
finding the submissions and before deciding which of them to skip). ``admit_one`` admits one student's
folder again, for each job the engine takes.
"""

import re
import shutil
import sqlite3
import sys
import time
from pathlib import Path

from nbconvert.exporters import NotebookExporter
from traitlets import Bool

from cnnkit import course
from cnnkit.ingest import admit
from cnnkit.records import marker

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


def remove_unfinished(root, assignment):
    """Remove autograded folders of submissions whose grading did not finish; returns the students, sorted."""
    unfinished = []
    for folder in sorted((root / "autograded").glob(f"*/{assignment}")):
        if not marker.is_marked(folder):
            shutil.rmtree(folder)
            unfinished.append(folder.parent.name)
    return unfinished


def prepare(root, assignment):
    """The start step for the course at root: back up the gradebook, admit every submission
    (cnnkit.ingest.admit), then clear unfinished work. Says on stderr what it did.

    Every call backs up: call it once when grading starts.
    """
    root = Path(root)
    backup = backup_gradebook(root)
    for student, notes in admit.admit_all(root, assignment).items():
        report_admission(student, assignment, notes)
    unfinished = remove_unfinished(root, assignment)
    if backup:
        print(f"[cnnkit] gradebook backed up to {backup.relative_to(root)}", file=sys.stderr)
    if unfinished:
        print(f"[cnnkit] regrading unfinished submissions: {', '.join(unfinished)}", file=sys.stderr)


def admit_one(root, assignment, student):
    """Admit one student's submitted folder (what a job will send), as prepare admits them all."""
    if re.fullmatch(admit.STUDENT_ID_PATTERN, student):  # else never a job: ids come from the course's folders
        notes = admit.admit_one(root, assignment, student)
        if notes:
            report_admission(student, assignment, notes)


def report_admission(student, assignment, notes):
    moved = "; ".join(f"{note['name']}: {note['why']}" for note in notes)
    folder = notes[0].get("folder", f"quarantine/{student}/{assignment}")
    print(f"[cnnkit] {student}: moved to {folder}/: {moved}", file=sys.stderr)


class AutogradeStart(NotebookExporter):
    """nbgrader's notebook exporter, whose construction runs the start step (``prepare``) for stock autograde.

    For ``c.Autograde.exporter_class`` (a documented nbgrader option): Autograde builds its
    exporter once per command, after finding the submissions and before deciding, for each, whether
    to grade it or skip it; so the folders of unfinished submissions are gone in time to be regraded.
    The exporter itself works as nbgrader's default one (NotebookExporter).
    """

    prepare_batch = Bool(
        True,
        help="Back up the gradebook, admit the submissions and clear unfinished autograded folders when "
        "autograde starts. The kit's grading processes turn it off: the engine prepared the real course already.",
    ).tag(config=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        coursedir = getattr(self.parent, "coursedir", None)  # the converter building it
        if self.prepare_batch and coursedir is not None:
            prepare(coursedir.root, coursedir.assignment_id or course.ASSIGNMENT)


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
            marker.mark(folder)
