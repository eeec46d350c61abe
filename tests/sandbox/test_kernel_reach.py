"""No other account reaches a grading kernel; a flood of connections cannot fail an honest notebook.

Two real Unix accounts. The grading account grades a small class with the kit's own parallel
autograde (`python -m cnnkit autograde`: grading processes with spare kernels, as the hub's grading
service runs them), not as root: its sandboxes run in user namespaces. Meanwhile

- another account scans every listening TCP port and every Unix socket on the machine, connects to
  each and subscribes to it as a kernel's IOPub (tests/kernel_scanner.py, mode snoop);
- a process of the grading account itself holds hundreds of connections to every socket of its own
  account it finds (mode flood).

One submission reads its /proc/self/mountinfo in the spare kernel it is graded in, then kills that
kernel and reads it again in the fresh one: no host path of the grader's working copy shows.
"""

import re
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import nbformat
import pytest

from cnnkit import course
from cnnkit.hub import unix
from cnnkit.results import scores
from cnnkit.spec import notebook, samples
from tests import kernel_reach
from tests.kernel_reach import HUB_PYTHON, Hunter, Observer
from tests.support import clone_course, db_url

FULL_MARKS = 150
HONEST, MOUNTS = "honest", "mountinfo-reader"
MARK = f"cnnkit-reach-{secrets.token_hex(4)}"  # in every answer: what the snoop must never read
SHOW_MOUNTS = "print('MOUNTINFO', {label!r}); print(open('/proc/self/mountinfo').read()); print('END MOUNTINFO')\n"
MOUNT_TABLES = re.compile(r"MOUNTINFO (.*?)\n(.*?)END MOUNTINFO", re.DOTALL)


# In the honest student's first answer: its kernel listens for that long at least, so that the snoop finds
# and tries its sockets while they are there even when the machine is busy and its sweeps are slow (the
# notebook alone is graded in about a second; a snoop that came late saw only sockets already gone).
LINGER = "import time\ntime.sleep(4)\n"


def honest_answers():
    """The master's solutions, each with the mark in a comment (so every answer cell's code carries it)."""
    return {name: f"# {MARK}\n{source}" for name, source in notebook.solutions().items()}


def mounts_answers():
    """Reads its mountinfo in its first kernel (a spare), kills it, reads it again in the fresh one."""
    answers = honest_answers()
    answers["zero_pad"] = SHOW_MOUNTS.format(label="first kernel") + answers["zero_pad"]
    answers["conv_single_step"] = "import os\nos._exit(1)\n"
    answers["conv_forward"] = SHOW_MOUNTS.format(label="fresh kernel") + answers["conv_forward"]
    return answers


@pytest.fixture(scope="module")
def graded(released_course):
    """The class graded by the grading account while the other account snoops and the grading account floods."""
    kernel_reach.require_root_and_hub_environment()
    with kernel_reach.accounts("grader", "snoop") as people:
        base = Path(tempfile.mkdtemp(prefix="cnnkit-reach-", dir="/tmp"))
        try:
            base.chmod(0o755)
            root = clone_course(released_course, base / "course")
            release = samples.release_notebook()
            lingering = {**honest_answers(), "zero_pad": LINGER + honest_answers()["zero_pad"]}
            samples.write_submission(root, HONEST, notebook.fill_in(release, lingering))
            samples.write_submission(root, MOUNTS, notebook.fill_in(release, mounts_answers()))
            unix.chown_tree(root, people["grader"], people["grader"])
            uid = kernel_reach.uid_of(people["grader"])
            observer, snoop, flood = Observer(uid), Hunter(people["snoop"], "snoop"), Hunter(people["grader"], "flood")
            autograde = kernel_reach.popen_as(
                people["grader"],
                [HUB_PYTHON, "-m", "cnnkit", "autograde", "--workers", "1"],
                cwd=root,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            output = autograde.communicate(timeout=900)[0]
            yield {
                "root": root,
                "uid": uid,
                "returncode": autograde.returncode,
                "output": output,
                "snoop": snoop.stop(),
                "flood": flood.stop(),
                "observed": observer.stop(),
            }
        finally:
            shutil.rmtree(base, ignore_errors=True)


def printed(root, student):
    nb = nbformat.read(str(root / "autograded" / student / course.ASSIGNMENT / f"{course.ASSIGNMENT}.ipynb"), 4)
    return "".join(o.get("text", "") for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs)


def test_the_honest_student_keeps_full_marks_through_the_snooping_and_the_flood(graded):
    assert graded["returncode"] == 0, graded["output"][-3000:]
    cells = scores.cell_scores(db_url(graded["root"]), HONEST)
    assert sum(cells.values()) == FULL_MARKS, graded["output"][-3000:]


def test_another_account_reads_nothing_of_a_grading_kernel(graded):
    """Found by scanning, connected to, subscribed to: not one message of the graded code reached it."""
    report = graded["snoop"]
    assert kernel_reach.messages_with(report, MARK) == []
    assert kernel_reach.messages_with(report, "BEGIN HIDDEN TESTS") == []
    # The grading account listens on no TCP port at all: kernels are reached over Unix sockets only.
    assert kernel_reach.tcp_listeners_of(report, graded["uid"]) == set()
    assert graded["observed"].tcp == {}
    # Every Unix socket of the grading account that the snoop found refused it.
    tried = kernel_reach.tried(report, "unix")
    found = [(path,) for path in graded["observed"].paths if (path,) in tried]
    assert found, f"the snoop never found the grading account's sockets {graded['observed'].paths}"
    # Refused, or gone by the time the snoop got to it (a kernel that finished between its scan and its try).
    errors = {tried[path][1] for path in found}
    assert "PermissionError" in errors and errors <= {"PermissionError", "FileNotFoundError"}, tried


def test_a_flood_from_the_grading_account_is_turned_away(graded):
    """Every socket of the kit it flooded (the channels' and the files') closed each of its connections.

    They came from a process of the grading account that did not start the kernel: none was relayed,
    so none took one of the kernel's open files.
    """
    flooded = {tuple(where): (opened, closed) for kind, *where, opened, closed, _refused in graded["flood"]["flooded"]}
    assert {Path(where[-1]).name for where in flooded} >= {"k-1", "k-2", "k-3", "k-4", "k-5", "files"}, flooded
    assert all(opened > 0 and closed == opened for opened, closed in flooded.values()), flooded


def test_the_kernel_s_mountinfo_shows_no_path_of_the_working_copy(graded):
    tables = MOUNT_TABLES.findall(printed(graded["root"], MOUNTS))
    assert [label for label, _table in tables] == ["first kernel", "fresh kernel"]
    for _label, table in tables:
        for word in (str(graded["root"]), "autograded", MOUNTS, "cnnkit-autograde", "/run/submission"):
            assert word not in table, (word, table)
