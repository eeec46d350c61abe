"""The batch's progress: a one-line bar with ETA on a terminal, one line per finished submission otherwise.

autograde [##############--------------] 7/14, 1 not graded  elapsed 0:31  ETA 0:31  bob: timed out (40.2 s)
"""

import sys
import time

from cnnkit.records.outcomes import GRADED


class Progress:
    """Counts finished submissions and redraws the line after each (in a log or CI: prints it)."""

    def __init__(self, total, stream=sys.stderr, width=28):
        self.total, self.stream, self.width = total, stream, width
        self.done, self.failed = 0, 0
        self.started = time.perf_counter()
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.show("")

    def update(self, outcome):
        """One more submission finished (an outcome dict: student, status, seconds)."""
        self.done += 1
        self.failed += outcome["status"] != GRADED
        self.show(f"{outcome['student']}: {outcome['status']} ({outcome['seconds']:.1f} s)")

    def line(self, last, elapsed):
        """The progress text after `elapsed` seconds, ending with `last` (what just finished)."""
        eta = elapsed / self.done * (self.total - self.done) if self.done else None
        filled = int(self.width * self.done / max(self.total, 1))
        bar = "#" * filled + "-" * (self.width - filled)
        return (
            f"autograde [{bar}] {self.done}/{self.total}"
            f"{f', {self.failed} not graded' if self.failed else ''}"
            f"  elapsed {clock(elapsed)}  ETA {clock(eta) if eta is not None else '?'}  {last}"
        )

    def show(self, last):
        line = self.line(last, time.perf_counter() - self.started)
        if self.tty:
            self.stream.write("\r\033[K" + line + ("\n" if self.done == self.total else ""))
        elif last or not self.total:
            self.stream.write(line + "\n")
        self.stream.flush()


def clock(seconds):
    """m:ss of a number of seconds."""
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes}:{seconds:02d}"
