"""Safe autograde batches: a gradebook backup first, and interrupted batches that resume.

nbgrader skips a student whose autograded/ folder exists, even if the run that
made it was killed halfway. So each fully graded submission gets a marker file
(post-convert hook), and before a batch starts every autograded folder without
the marker is removed, which makes plain `nbgrader autograde` regrade it.
Both steps run from nbgrader_config.py, so stock commands get them too.
"""

import shutil
import sqlite3
import sys
import time
from pathlib import Path

from cnnkit import course

MARKER = ".cnnkit-graded"
KEEP_BACKUPS = 10
_prepared = set()  # nbgrader loads its config several times per command: act once per course


def is_autograde_command(argv=None):
    argv = sys.argv if argv is None else argv
    return Path(argv[0]).name == "nbgrader" and argv[1:2] == ["autograde"]


def backup_gradebook(root):
    """Copy gradebook.db to backups/ with SQLite's online backup (safe even while in use)."""
    database = root / "gradebook.db"
    if not database.exists():
        return None
    folder = root / "backups"
    folder.mkdir(exist_ok=True)
    target = folder / f"gradebook-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**6:06d}.db"
    with sqlite3.connect(database) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    for old in sorted(folder.glob("gradebook-*.db"))[:-KEEP_BACKUPS]:
        old.unlink()
    return target


def remove_unfinished(root):
    """Remove autograded folders of submissions whose grading did not finish; returns the students."""
    unfinished = []
    for folder in sorted((root / "autograded").glob(f"*/{course.ASSIGNMENT}")):
        if not (folder / MARKER).exists():
            shutil.rmtree(folder)
            unfinished.append(folder.parent.name)
    return unfinished


def prepare_autograde(root):
    """Run once at the start of an autograde command: back up, then clear unfinished work."""
    root = Path(root)
    if root in _prepared:
        return
    _prepared.add(root)
    backup = backup_gradebook(root)
    unfinished = remove_unfinished(root)
    if backup:
        print(f"[cnnkit] gradebook backed up to {backup.relative_to(root)}", file=sys.stderr)
    if unfinished:
        print(f"[cnnkit] regrading unfinished submissions: {', '.join(unfinished)}", file=sys.stderr)


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
            (folder / MARKER).touch()
