"""Records only the kit writes: the working folder put back, the probe's report, kit MIME types, output bounds."""

import os

from nbformat import NotebookNode

from cnnkit.grading import workdir
from cnnkit.grading.kernel_messages import nesting_depth_over
from cnnkit.grading.verify import KIT_MIMES, without_kit_records
from cnnkit.records import probe
from cnnkit.records.probe import PROBE_MIME
from cnnkit.records.verdict import VERDICT_MIME
from cnnkit.results.report.read import cell_verdict


def test_the_working_folder_is_put_back_as_it_was(tmp_path):
    (tmp_path / "cnn_checks.py").write_text("checker")
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.npz").write_bytes(b"\0\1")
    taken = workdir.snapshot(tmp_path)

    (tmp_path / "leak.txt").write_text("every cell's source, hidden tests included")  # what a hook wrote
    (tmp_path / "notes.txt").write_text("the hidden tests, base64")  # or hid in a file that was there
    (tmp_path / "data" / "a.npz").unlink()
    (tmp_path / "made").mkdir()
    (tmp_path / "made" / "x").write_text("x")
    (tmp_path / "link").symlink_to("/etc/passwd")
    os.mkfifo(tmp_path / "pipe")

    changed = workdir.restore(tmp_path, taken)

    assert changed == ["data/a.npz", "leak.txt", "link", "made", "notes.txt", "pipe"]
    assert sorted(os.listdir(tmp_path)) == ["cnn_checks.py", "data", "notes.txt"]
    assert (tmp_path / "notes.txt").read_text() == "mine" and (tmp_path / "data" / "a.npz").read_bytes() == b"\0\1"
    assert workdir.restore(tmp_path, taken) == []


def probe_cell(*reports):
    return {"outputs": [{"output_type": "display_data", "data": {PROBE_MIME: report}} for report in reports]}


def test_a_forged_probe_report_beside_the_real_one_is_itself_a_flag():
    assert probe.read(probe_cell({"flags": ["hook registered"]})) == ["hook registered"]
    forged_first = probe.read(probe_cell({"flags": []}, {"flags": ["hook registered"]}))
    assert "hook registered" in forged_first
    assert any("appeared 2 times" in flag for flag in forged_first)
    assert probe.read(probe_cell()) is None


def test_depth_is_measured_without_recursion_at_any_depth():
    deep = []
    for _ in range(200_000):
        deep = [deep]
    assert nesting_depth_over({"data": {"text/plain": deep}}, 64)
    assert not nesting_depth_over({"data": {"text/plain": [[1, 2], {"a": [3]}]}}, 64)


def test_kit_records_in_a_students_cell_are_taken_out():
    outputs = [
        NotebookNode(output_type="display_data", data=NotebookNode({mime: {"function": "zero_pad"}}), metadata={})
        for mime in sorted(KIT_MIMES)
    ]
    outputs.append(
        NotebookNode(
            output_type="display_data", data=NotebookNode({VERDICT_MIME: {}, "text/plain": "hello"}), metadata={}
        )
    )
    kept = without_kit_records(outputs)
    assert [dict(output.data) for output in kept] == [{"text/plain": "hello"}]


def verdict_cell(grade_id, verdict):
    return {
        "metadata": {"nbgrader": {"grade_id": grade_id, "grade": True}},
        "outputs": [{"output_type": "display_data", "data": {VERDICT_MIME: verdict}}],
    }


def test_the_report_trusts_only_a_well_formed_verdict_in_its_own_check_cell():
    good = {"function": "zero_pad", "passed": 3, "total": 4, "failures": [{"case": 2, "kind": "wrong"}]}
    assert cell_verdict(verdict_cell("test_zero_pad", good)) == good
    assert cell_verdict(verdict_cell("zero_pad", good)) is None  # a student's cell
    assert cell_verdict(verdict_cell("test_conv_forward", good)) is None  # another function's cell
    for forged in (
        {**good, "total": 10**12, "passed": 10**12},  # made `make report` run for minutes
        {**good, "passed": "all"},  # a string where a number belongs
        {**good, "passed": 5},  # more passed than run
        {**good, "failures": [{"case": 99}]},
        {**good, "function": "rm -rf"},
    ):
        assert cell_verdict(verdict_cell("test_zero_pad", forged)) is None
