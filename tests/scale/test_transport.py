"""Folders, the course bundle and the gradebook snapshot as bytes (cnnkit.scale.transport), in-process."""

import gzip
import io
import os
import sqlite3
import stat
import tarfile

from cnnkit.scale import transport


def tree(folder):
    """relative path -> (permission bits, bytes) of the regular files under folder; directories as None."""
    found = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        found[key] = None if path.is_dir() else (stat.S_IMODE(path.stat().st_mode), path.read_bytes())
    return found


def test_a_folder_comes_back_identical_modes_included(tmp_path):
    source = tmp_path / "source"
    (source / "deep" / "er").mkdir(parents=True)
    (source / "a.ipynb").write_text('{"cells": []}')
    (source / "deep" / "er" / "b.bin").write_bytes(bytes(range(256)))
    os.chmod(source / "a.ipynb", 0o444)
    transport.unpack(transport.pack(source), tmp_path / "copy")
    assert tree(tmp_path / "copy") == tree(source)
    assert stat.S_IMODE((tmp_path / "copy" / "a.ipynb").stat().st_mode) == 0o444


def test_only_files_travel_so_an_empty_folder_does_not(tmp_path):
    (tmp_path / "source" / "empty").mkdir(parents=True)
    (tmp_path / "source" / "file").write_text("x")
    transport.unpack(transport.pack(tmp_path / "source"), tmp_path / "copy")
    assert [p.name for p in (tmp_path / "copy").iterdir()] == ["file"]


def test_links_and_fifos_never_travel_nor_what_a_link_points_to(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("content")
    (source / "file-link").symlink_to(outside / "secret.txt")
    (source / "dir-link").symlink_to(outside)
    os.mkfifo(source / "fifo")
    (source / "plain.txt").write_text("mine")
    transport.unpack(transport.pack(source), tmp_path / "copy")
    copy = tmp_path / "copy"
    assert sorted(p.name for p in copy.iterdir()) == ["plain.txt"]  # a link's target is never packed
    assert (copy / "plain.txt").read_text() == "mine"


def archive(*members):
    """A gzip'd tar of (TarInfo, bytes or None) members, as a hostile grading process could send."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            info.size = len(data) if data is not None else 0
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def test_unpack_never_writes_outside_the_target_nor_makes_links_or_devices(tmp_path):
    escape = tarfile.TarInfo("../escaped.txt")
    link = tarfile.TarInfo("link")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    hard = tarfile.TarInfo("hard")
    hard.type, hard.linkname = tarfile.LNKTYPE, "kept.txt"
    device = tarfile.TarInfo("device")
    device.type = tarfile.CHRTYPE
    kept = tarfile.TarInfo("kept.txt")
    data = archive((escape, b"x"), (link, None), (hard, None), (device, None), (kept, b"fine"))
    transport.unpack(data, tmp_path / "target")
    assert not (tmp_path / "escaped.txt").exists()
    assert sorted(p.name for p in (tmp_path / "target").iterdir()) == ["kept.txt"]


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
    transport.unpack(data, tmp_path / "unpacked")
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
