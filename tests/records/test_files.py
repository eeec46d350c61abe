"""The record files, each written by its own module and read back by it: a link planted under a record's name
is replaced (never written through, never followed when read); what cannot be read says so."""

import json
import os
import stat

from cnnkit.records import admission, integrity, marker, verdict
from cnnkit.records.writer import write_record


def planted_link(folder, name):
    """A link under name to a file of the instructor's, as a student's kernel could leave one."""
    victim = folder.parent / f"{folder.name}-victim.txt"
    victim.write_text("the instructor's")
    (folder / name).symlink_to(victim)
    return victim


def test_a_record_replaces_a_link_planted_under_its_name(tmp_path):
    victim = planted_link(tmp_path, "record.json")
    write_record(tmp_path / "record.json", "{}")
    assert victim.read_text() == "the instructor's"
    assert not (tmp_path / "record.json").is_symlink() and (tmp_path / "record.json").read_text() == "{}"
    assert os.listdir(tmp_path) == ["record.json"]  # no partial file left


def test_a_record_gets_the_mode_asked_for_whatever_the_umask(tmp_path):
    old = os.umask(0o077)
    try:
        write_record(tmp_path / "page.html", b"<p>", mode=0o644)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "page.html").stat().st_mode) == 0o644


def test_the_integrity_record_reads_back_what_was_written(tmp_path):
    flags = [{"reason": "replaces functions of numpy", "where": "zero_pad, line 2"}]
    planted_link(tmp_path, integrity.FILE)
    integrity.write(tmp_path, "alice", flags)
    assert integrity.read(tmp_path) == flags
    assert json.loads((tmp_path / integrity.FILE).read_text())["student"] == "alice"


def test_an_integrity_record_that_is_not_the_kits_is_a_flag_and_a_link_is_not_followed(tmp_path):
    (tmp_path / integrity.FILE).write_text('{"flags": [{"no reason": 1}]}')
    [flag] = integrity.read(tmp_path)
    assert flag["reason"].startswith(f"{integrity.FILE} could not be read") and flag["where"].endswith(integrity.FILE)
    (tmp_path / integrity.FILE).unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    integrity.write(elsewhere, "mallory", [{"reason": "planted"}])
    (tmp_path / integrity.FILE).symlink_to(elsewhere / integrity.FILE)
    assert integrity.read(tmp_path) == []
    assert integrity.read(tmp_path / "missing") == []


def test_the_graded_marker_marks_a_finished_folder(tmp_path):
    assert not marker.is_marked(tmp_path)
    marker.mark(tmp_path)
    assert marker.is_marked(tmp_path) and (tmp_path / marker.FILE).read_text() == ""


def test_admission_notes_are_bounded_and_read_back_from_the_students_quarantine(tmp_path):
    folder = admission.folder(tmp_path, "mallory", "ps1")
    folder.mkdir(parents=True)
    notes = [{"name": f"f{i}.bin", "why": "not part of the assignment"} for i in range(admission.MAX_NOTES + 5)]
    written = admission.write(folder, notes)
    assert len(written) == admission.MAX_NOTES + 1 and written[-1]["name"] == "5 more entries"
    assert admission.notes_of(tmp_path, "mallory", "ps1") == written
    (folder / admission.FILE).write_text('{"not": "a list"}')
    assert admission.notes_of(tmp_path, "mallory", "ps1") == []
    assert admission.notes_of(tmp_path, "nobody", "ps1") == []


def test_a_verdict_reads_back_as_displayed_and_a_forged_one_is_not_read():
    record = {"function": "zero_pad", "passed": 3, "total": 4, "score": 7.5, "points": 10.0, "failures": [{"case": 2}]}
    assert verdict.read(verdict.display(record, "zero_pad: 3 of 4")) == record
    for forged in (
        {**record, "passed": 5},
        {**record, "total": 10**9, "passed": 10**9},
        {**record, "failures": [{"case": 0}]},
        {**record, "function": None},
    ):
        assert verdict.read(verdict.display(forged, "")) is None
    assert verdict.read({"output_type": "stream", "data": {verdict.VERDICT_MIME: record}}) is None
