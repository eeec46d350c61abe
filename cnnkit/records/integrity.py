"""The integrity record: ``integrity.json`` beside each autograded notebook, the flags for the instructor.

``IntegrityReport`` (cnnkit.grading.integrity) writes ``{"student": id, "flags": [Flag, ...]}`` into
autograded/<student>/<assignment>/ (``write``); the run summary and the instructor report read the flags
back (``read``). A flag says what a submission did that an honest one has no reason to do; flags never
change a score and are never copied into feedback (nbgrader_config.py ignores ``FILE``).
"""

import json
from pathlib import Path
from typing import TypedDict

from cnnkit.records.writer import write_record

FILE = "integrity.json"


class Flag(TypedDict, total=False):
    reason: str  # required: what was done
    where: str  # a cell, a line, "notebook metadata", "kernel state after the last cell" ...


def write(folder, student: str, flags: list[Flag]) -> Path:
    """Write the record into folder (a link planted under its name is replaced, never written through)."""
    return write_record(Path(folder) / FILE, json.dumps({"student": student, "flags": flags}, indent=1))


def read(folder) -> list[Flag]:
    """The flags of the record in folder; [] when there is none (or it is a link, which the kit never writes).

    A record that cannot be read becomes a flag itself, so a broken hand-off is never silent.
    """
    path = Path(folder) / FILE
    if not path.is_file() or path.is_symlink():
        return []
    try:
        flags = json.loads(path.read_text())["flags"]
        if not isinstance(flags, list) or not all(isinstance(f, dict) and f.get("reason") for f in flags):
            raise ValueError('"flags" must be a list of objects, each with a "reason"')
        return flags
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as error:
        return [{"reason": f"{FILE} could not be read ({error})", "where": str(path)}]
