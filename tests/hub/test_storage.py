"""Attempts that fail, and attempts that can no longer count, cost no storage: the service keeps a bounded
amount per student (class 6).

One real service run (--once): alice submits once; hoarder submits twice with a 25 MB file beside the
notebook (the admission gate sets it aside: it is over 20 MB) and twice a 21 MB notebook (too large to be
graded). The state file keeps the stored copies of hoarder's latest attempt only, quarantine/ what
admission set aside from that attempt only, and the failed attempts nothing.
"""

import base64
import os

import nbformat

from cnnkit import course
from cnnkit.policy.ledger import PATH, State
from cnnkit.records import admission
from cnnkit.spec import notebook, samples
from tests.hub.support import hub_course, run_service_once, submit

MB = 2**20


def huge_notebook():
    nb = notebook.fill_in(samples.release_notebook(), notebook.solutions())
    nb.cells.append(nbformat.v4.new_markdown_cell(base64.b64encode(os.urandom(16 * MB)).decode()))
    return nb


def test_failed_and_superseded_attempts_keep_nothing(released_course, tmp_path):
    root = hub_course(released_course, tmp_path, [])
    submit(root, "alice")
    for _ in range(2):
        submit(root, "hoarder", extra={"data.bin": os.urandom(25 * MB)})
        submit(root, "hoarder", nb=huge_notebook())
    run_service_once(root)

    state = State(root, readonly=True)
    try:
        rows = state.rows(student="hoarder")
        kept = [row["name"] for row in rows if state.blob(row["name"], "outcome") is not None]
        assert [row["status"] for row in state.rows(student="alice")] == ["done"]
    finally:
        state.close()
    assert (root / PATH).stat().st_size < 10 * MB
    assert kept == [rows[2]["name"]]  # the latest graded attempt: under "last" no other can count again
    assert [row["status"] for row in rows] == ["done", "failed", "done", "failed"], rows
    assert "larger than 20 MB" in rows[1]["reason"]
    # Quarantine keeps the latest attempt's refusals only, within its caps: the 25 MB file is over the 20 MB a
    # student's quarantine may hold, so only the note saying so is kept.
    quarantine = root / "quarantine" / "hoarder" / course.ASSIGNMENT
    assert sorted(path.name for path in quarantine.iterdir()) == ["admission.json"]
    assert [note["name"] for note in admission.read(quarantine)] == ["data.bin"]
    assert list((root / "logs" / "submit-service-intake").iterdir()) == []  # no snapshot outlives its grading
