"""A folder as bytes (cnnkit.records.packed): what comes back is the folder's regular files, nothing else, and
nothing is unpacked outside its target, whatever the archive holds."""

import io
import os
import stat
import tarfile

from cnnkit.records import packed


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
    packed.unpack(packed.pack(source), tmp_path / "copy")
    assert tree(tmp_path / "copy") == tree(source)
    assert stat.S_IMODE((tmp_path / "copy" / "a.ipynb").stat().st_mode) == 0o444


def test_only_files_travel_so_an_empty_folder_does_not(tmp_path):
    (tmp_path / "source" / "empty").mkdir(parents=True)
    (tmp_path / "source" / "file").write_text("x")
    packed.unpack(packed.pack(tmp_path / "source"), tmp_path / "copy")
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
    packed.unpack(packed.pack(source), tmp_path / "copy")
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
    packed.unpack(data, tmp_path / "target")
    assert not (tmp_path / "escaped.txt").exists()
    assert sorted(p.name for p in (tmp_path / "target").iterdir()) == ["kept.txt"]
