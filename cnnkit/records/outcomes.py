"""What grading one submission produced (``Outcome``), and the two files a batch leaves of it.

An outcome is made by a grading process (cnnkit.scale.worker) or, when none delivered one, by
``failure()``; the grading engine (cnnkit.scale.engine) hands it to whoever submitted the job. At the
end of a batch the coordinator writes:

- ``LOG_FILE``, logs/autograde.log: every submission's nbgrader log, for people (``write_log``);
- ``OUTCOMES_FILE``, logs/autograde-outcomes.json: one ``Entry`` per student, for programs
  (``write_outcomes``)::

      {"assignment": str,
       "outcomes": [{"student": str, "status": str, "message": str, "seconds": float, "host": str}, ...]}

  The run summary and the instructor report read it back (``read_outcomes``, ``not_graded_reasons``),
  defensively: it may be missing, too large, from another assignment, or hand-edited; whatever is not as
  above is left out, never fatal. A batch keeps the entries of the students it did not grade.

Both paths are relative to the course root.
"""

import json
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypedDict

from cnnkit.records.writer import write_record

LOG_FILE = Path("logs", "autograde.log")
OUTCOMES_FILE = Path("logs", "autograde-outcomes.json")
MAX_BYTES = 32 * 1024 * 1024  # a class of thousands is well under 1 MB; anything bigger is not ours

GRADED, FAILED, TIMED_OUT, CRASHED, REFUSED, ERROR = "graded", "failed", "timed out", "crashed", "refused", "error"
STATUSES = (GRADED, FAILED, TIMED_OUT, CRASHED, REFUSED, ERROR)
# What each not-graded status means, when the outcome has no message of its own.
STATUS_TEXT = {
    FAILED: f"nbgrader failed on it (its log: {LOG_FILE})",
    TIMED_OUT: "grading took longer than the batch allows; the grading process was killed",
    CRASHED: "the grading process died",
    REFUSED: "the configuration refused to grade it",
    ERROR: f"the kit failed while grading it (see {LOG_FILE})",
}


class Outcome(TypedDict):
    """What grading one submission produced."""

    student: str
    status: str  # one of STATUSES
    message: str  # why it was not graded (empty when graded)
    gradebook: dict | None  # what nbgrader wrote for the submission (cnnkit.scale.gradebook_writer's state)
    autograded: bytes | None  # the autograded folder (cnnkit.records.packed)
    feedback: bytes | None  # the feedback folder (cnnkit.records.packed), if the job asked for it and nbgrader made it
    log: str  # nbgrader's log of the submission
    scratch_root: str | None
    host: str
    seconds: float


def failure(student, status, message, seconds=0.0, log="") -> Outcome:
    """An outcome for a submission nbgrader did not finish with."""
    return {
        "student": student,
        "status": status,
        "message": message,
        "gradebook": None,
        "autograded": None,
        "feedback": None,
        "log": log,
        "scratch_root": None,
        "host": socket.gethostname(),
        "seconds": seconds,
    }


def write_log(path, outcomes: list[Outcome]):
    """Every submission's nbgrader log, in the order they finished."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        for outcome in outcomes:
            handle.write(f"===== {outcome['student']}: {outcome['status']} ({outcome['seconds']:.1f} s")
            handle.write(f" on {outcome['host']}) {outcome['message']}\n{outcome['log']}\n")


@dataclass(frozen=True)
class Entry:
    """One submission's entry in the outcomes file."""

    student: str
    status: str  # one of STATUSES
    message: str = ""
    seconds: float = 0.0
    host: str = ""

    @classmethod
    def of(cls, outcome: Outcome) -> "Entry":
        return cls(
            outcome["student"],
            outcome["status"],
            outcome["message"],
            round(float(outcome["seconds"]), 2),
            outcome["host"],
        )

    @classmethod
    def parse(cls, data) -> "Entry | None":
        """The entry data holds (a decoded JSON object), or None when it is not of the shape written here."""
        if not isinstance(data, dict):
            return None
        student, status, message = data.get("student"), data.get("status"), data.get("message", "")
        if not (isinstance(student, str) and student and status in STATUSES):
            return None
        seconds, host = data.get("seconds"), data.get("host")
        return cls(
            student,
            status,
            message if isinstance(message, str) else "",
            float(seconds) if type(seconds) in (int, float) else 0.0,
            host if isinstance(host, str) else "",
        )

    @property
    def graded(self):
        return self.status == GRADED

    @property
    def reason(self):
        """Why it was not graded, for people: '<status>: <message>' ('' when graded)."""
        if self.graded:
            return ""
        return f"{self.status}: {self.message or STATUS_TEXT.get(self.status, '')}".rstrip(": ")


def write_outcomes(root, assignment, outcomes: list[Outcome]) -> Path:
    """Write root's outcomes file for assignment, sorted by student, keeping the entries of the students
    this batch did not grade (from an earlier batch of the same assignment)."""
    merged = {**read_outcomes(root, assignment), **{outcome["student"]: Entry.of(outcome) for outcome in outcomes}}
    data = {"assignment": assignment, "outcomes": [asdict(merged[student]) for student in sorted(merged)]}
    path = Path(root) / OUTCOMES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_record(path, json.dumps(data, indent=1) + "\n")


def parse_outcomes(data, assignment) -> dict[str, Entry]:
    """student -> Entry from the file's decoded JSON; entries of the wrong shape are left out."""
    if not isinstance(data, dict) or data.get("assignment") != assignment:
        return {}
    entries = data.get("outcomes")
    found = (Entry.parse(entry) for entry in (entries if isinstance(entries, list) else []))
    return {entry.student: entry for entry in found if entry is not None}


def read_outcomes(root, assignment) -> dict[str, Entry]:
    """student -> Entry of root's outcomes file for assignment; {} when it is missing or unreadable."""
    path = Path(root) / OUTCOMES_FILE
    try:
        if path.stat().st_size > MAX_BYTES:
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # missing, unreadable, not UTF-8 or not JSON, absurdly nested
        return {}
    return parse_outcomes(data, assignment)


def not_graded_reasons(root, assignment) -> dict[str, Entry]:
    """student -> Entry of every submission the last batch that saw it did not grade."""
    return {student: entry for student, entry in read_outcomes(root, assignment).items() if not entry.graded}
