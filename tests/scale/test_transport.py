"""The course bundle and the gradebook snapshot as bytes (cnnkit.scale.transport), in-process."""

import gzip
import os
import sqlite3

from cnnkit.records.packed import unpack
from cnnkit.scale import transport


def course(root):
    (root / "cnnkit" / "__pycache__").mkdir(parents=True)
    (root / "cnnkit" / "__init__.py").write_text('"""kit"""')
    (root / "cnnkit" / "__pycache__" / "x.pyc").write_bytes(b"compiled")
    (root / "cnnkit" / "stale.pyc").write_bytes(b"compiled")
    (root / "source" / "ps1" / ".ipynb_checkpoints").mkdir(parents=True)
    (root / "source" / "ps1" / "ps1.ipynb").write_text("{}")
    (root / "source" / "ps1" / ".ipynb_checkpoints" / "ps1-checkpoint.ipynb").write_text("{}")
    (root / "nbgrader_config.py").write_text("c = get_config()")
    (root / "submitted" / "alice").mkdir(parents=True)  # student data never goes into the bundle
    (root / "gradebook.db").write_bytes(b"")
    return root


def test_the_course_bundle_holds_the_course_files_without_ignored_ones_or_student_data(tmp_path):
    _, data = transport.course_bundle(course(tmp_path / "course"))
    unpack(data, tmp_path / "unpacked")
    files = sorted(str(p.relative_to(tmp_path / "unpacked")) for p in (tmp_path / "unpacked").rglob("*") if p.is_file())
    assert files == ["cnnkit/__init__.py", "nbgrader_config.py", "source/ps1/ps1.ipynb"]


def test_the_bundle_digest_names_its_content_not_its_mtimes_nor_the_clock(tmp_path, monkeypatch):
    root = course(tmp_path / "course")
    digest, _ = transport.course_bundle(root)
    os.utime(root / "nbgrader_config.py", (1, 1))
    monkeypatch.setattr(gzip.time, "time", lambda: 2_000_000_000.0)  # gzip's header would carry the time
    assert transport.course_bundle(root)[0] == digest
    (root / "nbgrader_config.py").write_text("c = get_config()  # changed")
    assert transport.course_bundle(root)[0] != digest


def test_the_gradebook_snapshot_is_a_working_copy_of_the_database(tmp_path):
    with sqlite3.connect(tmp_path / "gradebook.db") as db:
        db.execute("create table grade (student text, score real)")
        db.execute("insert into grade values ('alice', 7.5)")
    digest, data = transport.gradebook_snapshot(tmp_path / "gradebook.db")
    (tmp_path / "copy.db").write_bytes(data)
    with sqlite3.connect(tmp_path / "copy.db") as db:
        assert db.execute("select * from grade").fetchall() == [("alice", 7.5)]
    assert len(digest) == 16 and transport.gradebook_snapshot(tmp_path / "gradebook.db")[0] == digest


def test_write_once_keeps_what_is_there_and_leaves_no_temporary_file(tmp_path):
    path = transport.write_once(tmp_path / "sub" / "bundle.tar.gz", b"first")
    transport.write_once(path, b"second")
    assert path.read_bytes() == b"first"
    assert [p.name for p in path.parent.iterdir()] == ["bundle.tar.gz"]
