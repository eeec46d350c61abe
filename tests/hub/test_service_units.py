"""The grading service's own rules, in-process: every log line is one printable line; which attempts keep
their stored copies."""

import logging
import sys

from cnnkit.hub import service
from cnnkit.policy import ledger


def test_every_log_line_of_the_service_is_one_printable_line():
    record = logging.LogRecord("s", logging.WARNING, __file__, 1, "%s: NOT GRADED [%s]", ("bob", "x\nINFO y"), None)
    try:
        raise ValueError("a\nb\x1b[8m")
    except ValueError:
        record.exc_info = sys.exc_info()
    line = service.OneLineFormatter("%(levelname)s %(message)s").format(record)
    assert len(line.splitlines()) == 1 and "\x1b" not in line
    assert line.startswith("WARNING bob: NOT GRADED [x\\x0aINFO y]")


def graded_row(name, attempt, status="done"):
    return {"name": name, "attempt": attempt, "status": status}


def test_only_attempts_that_can_still_become_official_keep_their_copies():
    rows = [graded_row(f"a{n}", n) for n in range(1, 6)]
    assert ledger.kept_attempts(rows, rows[4]) == {"a5"}  # "last": the latest is the official one
    assert ledger.kept_attempts(rows, rows[1]) == {"a2", "a5"}  # "best": the best and the latest
    rows[4] = graded_row("a5", 5, status="released")
    assert ledger.kept_attempts(rows[:4] + [rows[4]], rows[0]) == {"a1", "a5"}
