"""What grading one submission produced, and the batch's two records of it.

An outcome is a dict, made by a grading process (``cnnkit.scale.worker``) or, when none
delivered one, by ``failure()``::

    {"student": str, "status": one of STATUSES, "message": str,
     "gradebook": what nbgrader wrote for the submission (cnnkit.scale.gradebook_writer) or None,
     "autograded": the autograded folder as pack() bytes, or None,
     "feedback": the feedback folder as pack() bytes, if the job asked for it and nbgrader made it, else None,
     "log": nbgrader's log text, "scratch_root": str or None, "host": str, "seconds": float}

At the end of a batch the coordinator writes ``logs/autograde.log`` (every submission's
nbgrader log, for people) and ``logs/autograde-outcomes.json`` (status and message per student,
for programs: the run summary and the instructor report read it).
"""

import json
import os
import socket
from pathlib import Path
from typing import TypedDict

GRADED, FAILED, TIMED_OUT, CRASHED, REFUSED, ERROR = "graded", "failed", "timed out", "crashed", "refused", "error"
STATUSES = (GRADED, FAILED, TIMED_OUT, CRASHED, REFUSED, ERROR)
RECORD_FIELDS = ("student", "status", "message", "seconds", "host")


class Outcome(TypedDict):
    """What grading one submission produced (see the module's docstring for each field)."""

    student: str
    status: str  # one of STATUSES
    message: str  # why it was not graded (empty when graded)
    gradebook: dict | None  # cnnkit.scale.gradebook_writer's submission state
    autograded: bytes | None  # the autograded folder, pack() bytes
    feedback: bytes | None  # the feedback folder, pack() bytes
    log: str
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


def write_log(path, outcomes):
    """Every submission's nbgrader log, in the order they finished."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        for outcome in outcomes:
            handle.write(f"===== {outcome['student']}: {outcome['status']} ({outcome['seconds']:.1f} s")
            handle.write(f" on {outcome['host']}) {outcome['message']}\n{outcome['log']}\n")


def record(outcome):
    """The part of an outcome that goes into the outcomes file: {"student", "status", "message", "seconds", "host"}."""
    entry = {field: outcome[field] for field in RECORD_FIELDS}
    entry["seconds"] = round(float(entry["seconds"]), 2)
    return entry


def write_outcomes(path, assignment, outcomes):
    """Write {"assignment", "outcomes": [record, ...]} to path atomically, sorted by student.

    Students this batch did not grade keep the entry an earlier batch of the same assignment left.
    """
    path = Path(path)
    fresh = {outcome["student"]: record(outcome) for outcome in outcomes}
    kept = {entry["student"]: entry for entry in read_outcomes(path, assignment)}
    merged = {**kept, **fresh}
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    data = {"assignment": assignment, "outcomes": [merged[student] for student in sorted(merged)]}
    temporary.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(temporary, path)
    return path


def read_outcomes(path, assignment):
    """The records of path for assignment ([] when there is no such file, or it is another assignment's)."""
    try:
        data = json.loads(Path(path).read_text())
    except (FileNotFoundError, ValueError):
        return []
    return data.get("outcomes", []) if data.get("assignment") == assignment else []
