"""Hostile result records and kernel messages, and a failure of the kit's own, in one real batch beside an honest student.

`python -m cnnkit autograde` (the kit's parallel autograde, real nbgrader and sandboxed kernels) grades:
- alice, honest;
- mallory-records: replaces the checker's encode_outcome so that zero_pad's records claim an object
  array, and create_mask_from_window's an array of 2**62 x 2**62 floats in no bytes;
- mallory-messages: answers right, and from one cell sends, with the kernel's own key, messages nested
  10^3, 10^4 and 10^5 deep (display data, output metadata, an error's traceback), outputs of the wrong
  types, an execution count that is an object, a message twice, frames without a delimiter, and a
  display update nested 600 deep;
- kit-fault: honest, but the course's configuration has a step that fails on this student's
  conv_forward check cell (a kit-side failure, as a bug in a step would be).
Then `nbgrader generate_feedback` for everyone.

Each hostile record costs its own case, each hostile message becomes a note in its cell, every other
function keeps its points, and the one NOT GRADED submission says why, in the outcomes file, the run
summary and the printed summary.
"""

import json
import os
import subprocess
import sys

import nbformat
import pytest

from cnnkit import course
from cnnkit.results import run_summary, scores
from cnnkit.spec import notebook, samples
from tests.support import BIN, clone_course, db_url, run_nbgrader

FULL = samples.SAMPLES["sample-complete"][1]
NB = f"{course.ASSIGNMENT}.ipynb"

FORGED_RECORDS = """
import base64
import cnn_checks
_honest = cnn_checks.encode_outcome
def _forged(function, args, kwargs):
    if function.__name__ == "zero_pad":
        return {"returned": {"kind": "array", "dtype": "|O", "shape": [1], "data": base64.b64encode(bytes(8)).decode()}}
    if function.__name__ == "create_mask_from_window":
        return {"returned": {"kind": "array", "dtype": "<f8", "shape": [2**62, 2**62], "data": ""}}
    return _honest(function, args, kwargs)
cnn_checks.encode_outcome = _forged
"""

HOSTILE_MESSAGES = """
_kernel = get_ipython().kernel
_session = _kernel.session
def _send(msg_type, content):
    _session.send(_kernel.iopub_socket, msg_type, content, parent=_kernel.get_parent(), ident=b"x")
def _deep(n):
    return b"[" * n + b"]" * n
_send("display_data", b'{"data": {"text/plain": ' + _deep(1_000) + b'}, "metadata": {}}')
_send("display_data", b'{"data": {"text/plain": ' + _deep(100_000) + b'}, "metadata": {}}')
_send("display_data", b'{"data": {"text/plain": "x"}, "metadata": {"a": ' + _deep(10_000) + b'}}')
_send("error", b'{"ename": "E", "evalue": "v", "traceback": ' + _deep(10_000) + b'}')
_send("execute_result", b'{"execution_count": 1, "data": {"text/plain": ' + _deep(500) + b'}, "metadata": {}}')
_send("display_data", b'{"data": {"text/plain": {"a": [1, {"b": 2}]}}, "metadata": 5}')
_send("error", b'{"ename": 5, "evalue": {"a": 1}, "traceback": "x"}')
_send("execute_result", b'{"execution_count": {"a": [1]}, "data": {"text/plain": "x"}, "metadata": {}}')
_send("display_data", b'{"data": ')
_twice = _session.serialize(_session.msg("stream", {"name": "stdout", "text": "once\\\\n"}, parent=_kernel.get_parent()), ident=[b"x"])
_kernel.iopub_socket.send_multipart(_twice)
_kernel.iopub_socket.send_multipart(_twice)
_kernel.iopub_socket.send_multipart([b"no", b"delimiter"])
from IPython.display import display
display("shown", display_id="d1")
_send("update_display_data", b'{"data": {"text/plain": ' + _deep(600) + b'}, "metadata": {}, "transient": {"display_id": "d1"}}')
"""

KIT_FAULT = """

# --- test_hostile_outputs: a step of the course's own that fails on one student's conv_forward check ---
from nbgrader.preprocessors import NbGraderPreprocessor  # noqa: E402


class FailsOnOneCheckCell(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if resources["nbgrader"]["student"] == "kit-fault" and grade_id == "test_conv_forward":
            raise RuntimeError("a fault injected by the course's configuration")
        return cell, resources


c.Autograde.autograde_preprocessors.insert(
    c.Autograde.autograde_preprocessors.index(VerifyResults) + 1, FailsOnOneCheckCell
)
"""


def honest():
    return notebook.fill_in(samples.release_notebook(), notebook.solutions())


def with_cell_first(source):
    nb = honest()
    nb.cells.insert(1, nbformat.v4.new_code_cell(source, id="attacker"))
    return nb


@pytest.fixture(scope="module")
def batch(released_course, tmp_path_factory):
    """The course after `python -m cnnkit autograde` (2 workers) and `nbgrader generate_feedback`."""
    root = clone_course(released_course, tmp_path_factory.mktemp("hostile") / "course")
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(KIT_FAULT)
    for student, nb in {
        "alice": honest(),
        "mallory-records": with_cell_first(FORGED_RECORDS),
        "mallory-messages": with_cell_first(HOSTILE_MESSAGES),
        "kit-fault": honest(),
    }.items():
        samples.write_submission(root, student, nb)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        [sys.executable, "-m", "cnnkit", "autograde", "--workers", "2"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    feedback = run_nbgrader(root, "generate_feedback", course.ASSIGNMENT, check=False)
    return root, result, feedback


def graded(root, student):
    return nbformat.read(str(root / "autograded" / student / course.ASSIGNMENT / NB), as_version=4)


def check_text(nb, grade_id):
    cell = next(c for c in nb.cells if notebook.grade_id(c) == grade_id)
    return "".join(output.get("data", {}).get("text/plain", "") for output in cell.outputs)


def test_the_honest_student_is_graded_as_when_alone(batch):
    root, result, _ = batch
    assert scores.cell_scores(db_url(root), "alice") == pytest.approx(FULL), result.stdout + result.stderr


def test_hostile_records_cost_their_own_cases_and_say_why(batch):
    root, result, _ = batch
    got = scores.cell_scores(db_url(root), "mallory-records")
    assert got == pytest.approx({**FULL, "test_zero_pad": 0, "test_create_mask_from_window": 0}), result.stderr
    nb = graded(root, "mallory-records")
    assert "the value returned could not be read: the array's dtype '|O' is not a number type" in check_text(
        nb, "test_zero_pad"
    )
    assert "claims shape (4611686018427387904, 4611686018427387904)" in check_text(nb, "test_create_mask_from_window")


def test_hostile_kernel_messages_become_notes_and_cost_nothing(batch):
    root, result, _ = batch
    assert scores.cell_scores(db_url(root), "mallory-messages") == pytest.approx(FULL), result.stderr
    attacker = next(c for c in graded(root, "mallory-messages").cells if c.get("id") == "attacker")
    text = json.dumps(attacker.outputs)
    assert "messages from the kernel were set aside: a message nested more than 64 levels deep (x6); " in text
    assert "a message that is not JSON" in text and "Duplicate Signature" in text
    assert "a display_data message that is not a valid output (NotebookValidationError) was replaced" in text
    assert "an execution count that is not a whole number was replaced" in text
    assert "'shown'" in text and len(text) < 20_000


def test_feedback_is_made_for_every_graded_submission(batch):
    root, _, feedback = batch
    for student in ("alice", "mallory-records", "mallory-messages"):
        assert (root / "feedback" / student / course.ASSIGNMENT / f"{course.ASSIGNMENT}.html").is_file(), (
            feedback.stderr[-3000:]
        )


CAUSE = "RuntimeError: a fault injected by the course's configuration (in FailsOnOneCheckCell, cell "


def test_a_kit_side_failure_says_why_in_the_outcomes_file(batch):
    root, _, _ = batch
    data = json.loads((root / "logs" / "autograde-outcomes.json").read_text())
    entries = {entry["student"]: entry for entry in data["outcomes"]}
    assert {student: entry["status"] for student, entry in entries.items()} == {
        "alice": "graded",
        "mallory-records": "graded",
        "mallory-messages": "graded",
        "kit-fault": "failed",
    }
    assert entries["kit-fault"]["message"].startswith(CAUSE)
    assert entries["kit-fault"]["message"].endswith("(test_conv_forward))")


def test_a_kit_side_failure_says_why_in_the_printed_and_the_run_summary(batch):
    root, result, _ = batch
    line = next(line for line in result.stdout.splitlines() if line.strip().startswith("kit-fault: NOT GRADED"))
    assert f"NOT GRADED: failed: {CAUSE}" in line
    records = {record.student: record for record in run_summary.summary(root, db_url(root))}
    assert records["kit-fault"].reason == run_summary.NBGRADER_FAILED and CAUSE in records["kit-fault"].text
    assert f"kit-fault: failed {CAUSE}" in result.stdout  # the coordinator's list of what was not graded
