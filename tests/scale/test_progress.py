"""The progress line (cnnkit.scale.progress): counts, ETA, what just finished; bar on a terminal, lines in a log."""

import io

from cnnkit.scale.progress import Progress, clock


class Terminal(io.StringIO):
    def isatty(self):
        return True


def outcome(student, status="graded", seconds=2.0):
    return {"student": student, "status": status, "seconds": seconds}


def test_the_line_says_done_total_not_graded_elapsed_eta_and_the_last_submission():
    progress = Progress(4, stream=io.StringIO(), width=8)
    progress.done, progress.failed = 2, 1
    assert progress.line("bob: timed out (40.2 s)", elapsed=61) == (
        "autograde [####----] 2/4, 1 not graded  elapsed 1:01  ETA 1:01  bob: timed out (40.2 s)"
    )


def test_before_the_first_result_the_eta_is_unknown():
    progress = Progress(3, stream=io.StringIO(), width=6)
    assert progress.line("", elapsed=5) == "autograde [------] 0/3  elapsed 0:05  ETA ?  "


def test_in_a_log_each_finished_submission_gets_a_line_of_its_own():
    stream = io.StringIO()
    progress = Progress(2, stream=stream, width=4)
    progress.update(outcome("alice"))
    progress.update(outcome("bob", "crashed", 1.25))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("autograde [##--] 1/2  elapsed") and lines[0].endswith("  alice: graded (2.0 s)")
    assert "2/2, 1 not graded" in lines[1] and lines[1].endswith("  bob: crashed (1.2 s)")


def test_on_a_terminal_the_line_is_redrawn_in_place_and_ends_with_a_newline():
    stream = Terminal()
    progress = Progress(1, stream=stream, width=4)
    progress.update(outcome("alice"))
    text = stream.getvalue()
    assert text.count("\r\033[K") == 2 and text.endswith("alice: graded (2.0 s)\n") and text.count("\n") == 1


def test_clock():
    assert [clock(s) for s in (0, 59.4, 59.6, 125, 3600)] == ["0:00", "0:59", "1:00", "2:05", "60:00"]
