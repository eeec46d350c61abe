"""Removing a hub deletes nothing unless the person asked for it."""

import subprocess
import sys

from cnnkit import course


def test_remove_without_a_terminal_deletes_nothing_and_says_how(tmp_path):
    root = tmp_path / "hub"
    (root / "cnn-step-by-step").mkdir(parents=True)
    (root / "cnn-step-by-step" / "gradebook.db").write_bytes(b"grades")
    command = [sys.executable, "-m", "cnnkit.hub.deploy", "--root", str(root), "--remove"]
    result = subprocess.run(command, cwd=course.ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Nothing deleted" in result.stdout and "--yes" in result.stdout
    assert "Traceback" not in result.stderr
    assert (root / "cnn-step-by-step" / "gradebook.db").read_bytes() == b"grades"
