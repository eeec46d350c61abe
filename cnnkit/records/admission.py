"""The admission record: what the admission gate refused from a submission, and why.

The gate (cnnkit.ingest.admit) moves what a submission may not keep into its quarantine folder,
quarantine/<student>/<assignment>/ (``folder``; cnnkit.ingest.quarantine keeps it bounded and inert), and
writes there ``FILE``: a list of ``Note``, one per refused entry, at most MAX_NOTES of them listed one by
one (``write``). The run summary and the instructor report read it back (``notes_of``). Both paths are
relative to the course root.
"""

import json
from pathlib import Path
from typing import TypedDict

from cnnkit.records.writer import write_record

QUARANTINE = "quarantine"  # relative to the course root
FILE = "admission.json"
MAX_NOTES = 100  # entries listed one by one; the rest are counted


class Note(TypedDict, total=False):
    """One refused entry of a submission folder."""

    name: str  # required: the entry's name, shown safely (cnnkit.ingest.names.shown)
    why: str  # required: why it was refused, for the instructor and the student
    kept_as: str  # the inert name it is kept under in the quarantine folder
    removed: str  # why it was not kept (a link, a special file, over the quarantine's caps)
    inside: dict  # a refused folder: {"kept": [{"path", "kept_as" | "removed"}], "not kept": int, "folders": int}
    folder: str  # where the set is, when not the student's own quarantine folder (a folder set aside whole)


def folder(root, student, assignment) -> Path:
    """The quarantine folder of one student's submission of the assignment."""
    return Path(root) / QUARANTINE / student / assignment


def write(set_folder, notes: list[Note]) -> list[Note]:
    """Write the notes into a quarantine set's folder (beyond MAX_NOTES, the rest are counted); the notes written."""
    if len(notes) > MAX_NOTES:
        notes = notes[:MAX_NOTES] + [{"name": f"{len(notes) - MAX_NOTES} more entries", "why": "refused as well"}]
    write_record(Path(set_folder) / FILE, json.dumps(notes, indent=1))
    return notes


def read(set_folder) -> list[Note]:
    """The notes of the set in set_folder ([] when none or unreadable)."""
    try:
        notes = json.loads((Path(set_folder) / FILE).read_text())
    except (OSError, ValueError, RecursionError):
        return []
    return [note for note in notes if isinstance(note, dict)] if isinstance(notes, list) else []


def notes_of(root, student, assignment) -> list[Note]:
    """What admission refused from this submission ([] when nothing was)."""
    return read(folder(root, student, assignment))
