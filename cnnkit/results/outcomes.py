"""Read what the last autograde batches said about each submission: logs/autograde-outcomes.json.

The coordinator (cnnkit.scale) writes, at the end of every batch::

    {"assignment": str,
     "outcomes": [{"student": str, "status": str, "message": str, "seconds": float, "host": str}, ...]}

status is one of STATUSES. The file is read defensively: it may be missing, too large, from
another assignment, or hand-edited; whatever is not as above is ignored, never fatal.
"""

import json
from dataclasses import dataclass
from pathlib import Path

OUTCOMES_FILE = Path("logs", "autograde-outcomes.json")  # relative to the course root
MAX_BYTES = 32 * 1024 * 1024  # a class of thousands is well under 1 MB; anything bigger is not ours
STATUSES = ("graded", "failed", "timed out", "crashed", "refused", "error")
# What each not-graded status means, when the record has no message of its own.
STATUS_TEXT = {
    "failed": "nbgrader failed on it (its log: logs/autograde.log)",
    "timed out": "grading took longer than the batch allows; the grading process was killed",
    "crashed": "the grading process died",
    "refused": "the configuration refused to grade it",
    "error": "the kit failed while grading it (see logs/autograde.log)",
}


@dataclass(frozen=True)
class Outcome:
    """One submission's record in the outcomes file."""

    student: str
    status: str  # one of STATUSES
    message: str = ""

    @property
    def graded(self):
        return self.status == "graded"

    @property
    def reason(self):
        """Why it was not graded, for people: '<status>: <message>' ('' when graded)."""
        if self.graded:
            return ""
        return f"{self.status}: {self.message or STATUS_TEXT.get(self.status, '')}".rstrip(": ")


def parse_outcomes(data, assignment):
    """student -> Outcome from the file's decoded JSON; records of the wrong shape are left out."""
    if not isinstance(data, dict) or data.get("assignment") != assignment:
        return {}
    records = data.get("outcomes")
    found = {}
    for record in records if isinstance(records, list) else []:
        if not isinstance(record, dict):
            continue
        student, status, message = record.get("student"), record.get("status"), record.get("message", "")
        if isinstance(student, str) and student and status in STATUSES:
            found[student] = Outcome(student, status, message if isinstance(message, str) else "")
    return found


def read_outcomes(root, assignment):
    """student -> Outcome of root's outcomes file for assignment; {} when it is missing or unreadable."""
    path = Path(root) / OUTCOMES_FILE
    try:
        if path.stat().st_size > MAX_BYTES:
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # missing, unreadable, not UTF-8 or not JSON, absurdly nested
        return {}
    return parse_outcomes(data, assignment)


def not_graded_reasons(root, assignment):
    """student -> Outcome of every submission the last batch that saw it did not grade."""
    return {student: outcome for student, outcome in read_outcomes(root, assignment).items() if not outcome.graded}
