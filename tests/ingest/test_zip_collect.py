"""zip_collect's extractor and collector (cnnkit.ingest.zip_collect) against a hostile upload.

One real `nbgrader zip_collect cnn_step_by_step` runs over an LMS download holding honest alice and
bob and an attacking mallory (a nested archive claiming bob, setuid and setgid entries, `..` and
absolute names, symbolic and hard links, zip bombs, a lying header, archives nested too deep or too
wide, ids such as `..`). The module's tests read that one run; the limit logic is tested in-process.
"""

import io
import os
import stat
import struct
import tarfile
import zipfile
from pathlib import Path

import nbformat
import pytest

from cnnkit import course
from cnnkit.ingest import quarantine, zip_collect, zip_owners
from tests.ingest.trees import deep_chain
from tests.support import clone_course, run_nbgrader

A = course.ASSIGNMENT
KIB = 1024
# Limits set small for the test: a bomb is anything above them.
FILE_LIMIT = 1024 * KIB  # a few times the release notebook (its figures are stored)
TOTAL_LIMIT = 4096 * KIB
FILE_COUNT = 60
DEPTH = 3
PLUGINS = (
    "--ZipCollectApp.extractor_plugin=cnnkit.ingest.zip_collect.SafeExtractor",
    "--SafeExtractor.max_folders=16",
    "--ZipCollectApp.collector_plugin=cnnkit.ingest.zip_owners.SafeCollector",
    f"--SafeExtractor.max_file_bytes={FILE_LIMIT}",
    f"--SafeExtractor.max_total_bytes={TOTAL_LIMIT}",
    f"--SafeExtractor.max_files={FILE_COUNT}",
    f"--SafeExtractor.max_depth={DEPTH}",
)
BAD_IDS = ("..", ".hidden", "-rf", "x" * 65)
FORGED = "forged line: alice graded 150 of 150"


# ---------------------------------------------------------------- building archives


def notebook_bytes(who):
    """The released notebook, marked with its author so each copy is told apart."""
    nb = nbformat.read(str(course.RELEASE / f"{A}.ipynb"), as_version=4)
    nb.metadata["author"] = who
    return nbformat.writes(nb).encode()


def entry(name, mode, kind=stat.S_IFREG):
    """A zip entry with Unix mode bits (kind | mode), as a Unix zip tool writes them."""
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.create_system = 3
    info.external_attr = (kind | mode) << 16
    if kind == stat.S_IFDIR:
        info.external_attr |= 0x10
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def zip_bytes(members):
    """A zip built in memory from (name or ZipInfo, bytes) pairs."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buffer.getvalue()


def lying_zip(real_size, declared_size):
    """A zip whose one entry's headers declare fewer bytes than its data expands to."""
    data = zip_bytes([("small.txt", b"\0" * real_size)])
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.index(signature) + offset
        data = data[:at] + struct.pack("<I", declared_size) + data[at + 4 :]
    return data


def tar_gz_bytes():
    """A tar.gz with a symbolic link, a hard link, a FIFO, a setuid file and one honest text file."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, kind, extra in (
            ("tar-symlink", tarfile.SYMTYPE, {"linkname": "/etc/passwd"}),
            ("tar-hardlink", tarfile.LNKTYPE, {"linkname": "/etc/passwd"}),
            ("tar-fifo", tarfile.FIFOTYPE, {}),
        ):
            member = tarfile.TarInfo(name)
            member.type = kind
            for key, value in extra.items():
                setattr(member, key, value)
            tf.addfile(member)
        for name, mode, data in (("tar-setuid", 0o4755, b"#!/bin/sh\n"), ("tar-notes.txt", 0o644, b"notes")):
            member = tarfile.TarInfo(name)
            member.mode, member.size = mode, len(data)
            tf.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def nested(depth, innermost):
    """An archive holding an archive ... depth levels deep; the innermost holds `innermost`."""
    data = zip_bytes(innermost)
    for level in range(depth - 1):
        data = zip_bytes([(f"level{level}.zip", data)])
    return data


def mallory_upload(outside):
    """Mallory's own zip: her notebook plus every attack that fits inside one upload."""
    return zip_bytes(
        [
            (f"mallory_33_{A}.ipynb", notebook_bytes("mallory")),
            ("inner.zip", zip_bytes([(f"bob_22_{A}.ipynb", notebook_bytes("mallory-as-bob"))])),
            ("bob_22_folder/" + f"bob_22_{A}.ipynb", notebook_bytes("mallory-as-bob-2")),
            (f"old/mallory_33_{A}.ipynb", notebook_bytes("mallory-again")),
            (entry("tool.sh", 0o4755), b"#!/bin/sh\nid\n"),
            (entry("shared/", 0o3777, stat.S_IFDIR), b""),
            (entry("shared/group.sh", 0o2755), b"#!/bin/sh\n"),
            (entry("passwd-link", 0o777, stat.S_IFLNK), b"/etc/passwd"),
            (entry(f"mallory_33_{A}-1.ipynb", 0o777, stat.S_IFLNK), f"../../../../source/{A}/{A}.ipynb".encode()),
            ("../../escaped-relative.txt", b"escaped"),
            (str(outside / "escaped-absolute.txt"), b"escaped"),
            ("bomb.zip", zip_bytes([("zeros.bin", b"\0" * (3 * FILE_LIMIT))])),
            ("liar.zip", lying_zip(16 * FILE_LIMIT, 1000)),
            ("wide.zip", zip_bytes([(f"part{i}.bin", b"\0" * (FILE_LIMIT - KIB)) for i in range(5)])),
            ("many.zip", zip_bytes([(f"f{i}.txt", b"x") for i in range(FILE_COUNT + 5)])),
            ("deep.zip", nested(DEPTH, [("deepest.txt", b"too deep")])),
            ("stuff.tar.gz", tar_gz_bytes()),
            ("d/" * 1000 + "chain-end.txt", b"1000 folders deep: nbgrader's own walk recursed on it"),
            ("evil.html", b"<script>alert(1)</script>"),
            ("pages/EVIL.SVG", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(2)"/>'),
            (f"notes\n[ZipCollectApp | INFO] {FORGED}", b"a name that writes a line of its own in the log"),
        ]
    )


def lms_download(archive, outside):
    """What the instructor put into downloaded/<assignment>/archive/: the LMS's bundle and some loose files."""
    archive.mkdir(parents=True)
    bundle = [
        (f"alice_11_{A}.ipynb", notebook_bytes("alice")),
        (f"bob_22_{A}.zip", zip_bytes([(f"bob_22_{A}.ipynb", notebook_bytes("bob"))])),
        (f"mallory_33_{A}.zip", mallory_upload(outside)),
        (f".._99_{A}.ipynb", notebook_bytes("dotdot")),
    ]
    (archive / "submissions.zip").write_bytes(zip_bytes(bundle))
    for number, bad in enumerate(BAD_IDS[1:]):
        (archive / f"{bad}_{number}_{A}.ipynb").write_bytes(notebook_bytes(bad))
    (archive / f"eve_44_{A}.zip").write_bytes(zip_bytes([("zeros.bin", b"\0" * (64 * FILE_LIMIT))]))
    (archive / "mallory_33_page.html").write_bytes(b"<script>alert(3)</script>")


# ---------------------------------------------------------------- the one real run


def all_paths(top):
    return {path for path in Path(top).rglob("*")}


@pytest.fixture(scope="module")
def collected(released_course, tmp_path_factory):
    """The course after one `nbgrader zip_collect` of the hostile download; (root, log, paths before)."""
    base = tmp_path_factory.mktemp("zip_collect")
    root = clone_course(released_course, base / "course")
    outside = base / "outside"
    outside.mkdir()
    lms_download(root / "downloaded" / A / "archive", outside)
    before = all_paths(base)
    result = run_nbgrader(root, "zip_collect", A, *PLUGINS, check=False)
    return root, result.stdout + result.stderr, before, result.returncode


def submitted_notebook(root, student):
    return root / "submitted" / student / A / f"{A}.ipynb"


def test_honest_students_are_collected_with_their_own_notebooks(collected):
    root, log, _, returncode = collected
    assert returncode == 0, log
    assert submitted_notebook(root, "alice").read_bytes() == notebook_bytes("alice")
    assert submitted_notebook(root, "bob").read_bytes() == notebook_bytes("bob")
    assert submitted_notebook(root, "mallory").read_bytes() == notebook_bytes("mallory")
    assert sorted(p.name for p in (root / "submitted").iterdir()) == ["alice", "bob", "mallory"]


def test_a_file_claiming_bob_inside_mallorys_upload_is_refused(collected):
    _, log, _, _ = collected
    for where in ("inner.zip", "bob_22_folder"):
        assert any(
            "claims student 'bob'" in line and "upload of 'mallory'" in line and where in line
            for line in log.splitlines()
        ), log


def test_nothing_is_written_outside_the_extraction_folder_and_submitted(collected):
    root, _, before, _ = collected
    new = all_paths(root.parent) - before
    allowed = (root / "downloaded" / A / "extracted", root / "submitted")
    assert [p for p in new if not any(p == a or a in p.parents for a in allowed)] == []
    assert not (root.parent / "outside" / "escaped-absolute.txt").exists()


def test_no_link_and_no_special_permission_bit_anywhere(collected):
    root, _, _, _ = collected
    special = stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX
    for top in (root / "downloaded" / A / "extracted", root / "submitted"):
        for path in [top, *top.rglob("*")]:
            info = path.lstat()
            assert stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode), path
            assert info.st_mode & special == 0, (path, oct(info.st_mode))
            assert stat.S_IMODE(info.st_mode) == (0o755 if path.is_dir() else 0o644), (path, oct(info.st_mode))
            assert info.st_nlink == 1 or path.is_dir(), path


def test_nothing_bigger_than_the_limits_is_written(collected):
    root, _, _, _ = collected
    files = [p for p in (root / "downloaded" / A / "extracted").rglob("*") if p.is_file()]
    assert max(p.stat().st_size for p in files) <= FILE_LIMIT
    assert sum(p.stat().st_size for p in files) <= TOTAL_LIMIT
    assert not any("deepest" in p.name for p in files)


def test_each_refusal_is_logged_with_its_reason(collected):
    _, log, _, _ = collected
    refusals = [line for line in log.splitlines() if "refused" in line.lower()]
    expected = {
        "tool.sh": None,  # kept, but without its setuid bit: not a refusal
        "passwd-link": "symbolic link",
        f"mallory_33_{A}-1.ipynb": "symbolic link",
        "escaped-relative.txt": "'..'",
        "escaped-absolute.txt": "absolute path",
        "bomb.zip": "per-file limit",
        "liar.zip": "Bad CRC-32",
        "wide.zip": "total",
        "many.zip": "entries",
        "level1.zip": "nested 4 archives deep",
        "tar-symlink": "symbolic link",
        "tar-hardlink": "hard link",
        "tar-fifo": "not a regular file",
        f"eve_44_{A}.zip": "max_total_bytes",
        "chain-end.txt": "more than 16 folders deep (the max_folders limit)",
        "evil.html": "a file a browser would run as a page or a script (.html)",
        "EVIL.SVG": "a file a browser would run as a page or a script (.svg)",
        "mallory_33_page.html": "a file a browser would run as a page or a script (.html)",
        FORGED: "a control character or bytes that are not text in its name",
    }
    for name, reason in expected.items():
        lines = [line for line in refusals if name in line]
        if reason is None:
            assert lines == [], lines
        else:
            assert any(reason in line for line in lines), (name, reason, refusals)
    assert not any(line.startswith("[ZipCollectApp | INFO] forged") for line in log.splitlines())
    duplicate = f"a second '{A}' for 'mallory'"
    assert any(duplicate in line and f"old/mallory_33_{A}.ipynb" in line for line in refusals), refusals


def test_invalid_student_ids_are_refused_with_a_clear_message(collected):
    root, log, _, _ = collected
    for bad in BAD_IDS:
        assert any(f"'{bad}' is not a valid student id" in line for line in log.splitlines()), (bad, log)
        assert not (root / "submitted" / bad / A).exists()
    assert not (root / A).exists()


def test_setuid_entry_is_kept_as_a_plain_file(collected):
    root, _, _, _ = collected
    tools = list((root / "downloaded" / A / "extracted").rglob("tool.sh"))
    assert len(tools) == 1 and stat.S_IMODE(tools[0].stat().st_mode) == 0o644


# ---------------------------------------------------------------- in-process: ids, names and the limit logic


@pytest.mark.parametrize("student", ["alice", "a.b-c_d@uni.edu", "x" * 64, "007", "A"])
def test_valid_student_ids(student):
    assert zip_owners.SafeCollector().valid_id(student)


@pytest.mark.parametrize("student", ["..", ".", ".x", "-x", "", "x" * 65, "a/b", "a b", "é", "a\n", "a\\b", "a:b"])
def test_invalid_student_ids(student):
    assert not zip_owners.SafeCollector().valid_id(student)


@pytest.mark.parametrize(
    "folders, expected",
    [
        (("submissions.zip", "mallory_33_x.zip", "inner.zip"), ("mallory", "submissions.zip/mallory_33_x.zip")),
        (("submissions.zip", "mallory_33_x.zip", "bob_22_folder"), ("mallory", "submissions.zip/mallory_33_x.zip")),
        (("late_ones", "alice_1_x.zip"), ("alice", "late_ones/alice_1_x.zip")),  # instructor's folders don't claim
        (("submissions.zip",), (None, None)),
        ((), (None, None)),
    ],
)
def test_the_uploader_is_the_first_archive_folder_naming_a_student(folders, expected):
    assert zip_owners.SafeCollector().uploader(folders) == expected


@pytest.mark.parametrize("name, parts", [("a/b.txt", ("a", "b.txt")), ("./a//b/", ("a", "b")), ("x", ("x",))])
def test_safe_names(name, parts):
    assert zip_collect.safe_parts(name) == parts


@pytest.mark.parametrize(
    "name, reason",
    [
        ("../x", "'..'"),
        ("a/../../x", "'..'"),
        ("/etc/passwd", "absolute"),
        ("C:/x", "absolute"),
        ("a\\..\\x", "backslash"),
        ("a\0b", "NUL"),
        ("", "empty"),
        ("./", "empty"),
    ],
)
def test_unsafe_names_are_refused(name, reason):
    with pytest.raises(zip_collect.Refused, match=reason):
        zip_collect.safe_parts(name)


def budget(total=10**9, files=10**6, parent=None):
    return zip_collect.Budget("test.zip", total, files, parent)


def test_real_bytes_beyond_the_declared_size_are_refused():
    with pytest.raises(zip_collect.Refused, match="its header declares"):
        zip_collect.copy_bounded(io.BytesIO(b"x" * 100_000), io.BytesIO(), 50, 10**6, budget())


def test_real_bytes_beyond_the_per_file_limit_are_refused():
    out = io.BytesIO()
    with pytest.raises(zip_collect.Refused, match="per-file limit of 70000"):
        zip_collect.copy_bounded(io.BytesIO(b"x" * 200_000), out, 10**6, 70_000, budget())
    assert len(out.getvalue()) <= 70_000


def test_real_bytes_beyond_the_total_refuse_the_archive():
    with pytest.raises(zip_collect.RefusedArchive, match="max_total_bytes"):
        zip_collect.copy_bounded(io.BytesIO(b"x" * 200_000), io.BytesIO(), 10**6, 10**6, budget(total=100_000))


def test_an_inner_archive_spends_the_budget_of_every_archive_around_it():
    outer = zip_collect.Budget("outer.zip", 100, 3)
    inner = zip_collect.Budget("inner.zip", 80, 3, parent=outer)
    outer.charge(nbytes=50, files=1)
    inner.charge(nbytes=40, files=1)
    with pytest.raises(zip_collect.RefusedArchive, match="outer.zip"):
        inner.charge(nbytes=20)
    with pytest.raises(zip_collect.RefusedArchive, match="more than 3 entries in outer.zip"):
        inner.charge(files=2)
    inner.give_back()
    assert (outer.used_bytes, outer.used_files) == (50, 1)


# ---------------------------------------------------------------- in-process: SafeExtractor on small limits


@pytest.fixture
def extract(tmp_path, caplog):
    """extract({name: bytes, or a Path to link to}) -> (extracted folder, refusals logged); small limits."""

    def run(files, **limits):
        archive, extracted = tmp_path / "archive", tmp_path / "extracted"
        archive.mkdir()
        extracted.mkdir()
        for name, data in files.items():
            if isinstance(data, Path):
                (archive / name).symlink_to(data)
            elif callable(data):
                data(archive / name)
            else:
                (archive / name).write_bytes(data)
        settings = dict(max_file_bytes=64 * KIB, max_total_bytes=160 * KIB, max_files=20, max_depth=2)
        extractor = zip_collect.SafeExtractor(**{**settings, **limits})
        with caplog.at_level("WARNING", logger=extractor.log.name):
            extractor.extract(str(archive), str(extracted))
        return extracted, [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]

    return run


def written(folder):
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


def test_an_inner_archive_crossing_its_uploaders_total_is_refused_alone(extract):
    inner = zip_bytes([("b.bin", os.urandom(60 * KIB))])
    outer = zip_bytes([("a.bin", os.urandom(60 * KIB)), ("c.bin", os.urandom(30 * KIB)), ("inner.zip", inner)])
    extracted, refusals = extract({"alice_1_x.zip": outer})
    assert set(written(extracted)) == {"alice_1_x.zip/a.bin", "alice_1_x.zip/c.bin"}
    assert not (extracted / "alice_1_x.zip" / "inner.zip").exists()
    assert any(
        "archive alice_1_x.zip/inner.zip" in r and "in alice_1_x.zip (the max_total_bytes" in r for r in refusals
    )


def test_a_tar_gz_bomb_is_refused_reading_no_more_than_the_limit(extract):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        member = tarfile.TarInfo("zeros.bin")
        member.size = 8 * 2**20
        tf.addfile(member, io.BytesIO(b"\0" * member.size))
    extracted, refusals = extract({"mallory_1_x.tar.gz": buffer.getvalue()})
    assert written(extracted) == {}
    assert any("entry 'zeros.bin'" in r and "per-file limit" in r for r in refusals), refusals
    assert any("archive mallory_1_x.tar.gz" in r and "decompressed stream runs past" in r for r in refusals), refusals


def test_a_huge_tar_header_record_is_refused(extract):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tf:
        member = tarfile.TarInfo("notes.txt")
        member.pax_headers = {"comment": "x" * (2 * zip_collect.TAR_HEADER_LIMIT)}
        tf.addfile(member, io.BytesIO(b""))
    extracted, refusals = extract({"mallory_1_x.tar.gz": buffer.getvalue()})
    assert written(extracted) == {}
    assert any("a tar header record of" in r for r in refusals), refusals


def test_an_archive_that_is_not_one_is_refused_and_the_next_is_extracted(extract):
    honest = zip_bytes([(f"bob_2_{A}.ipynb", b"{}")])
    extracted, refusals = extract({"alice_1_x.zip": b"not an archive at all", "bob_2_x.zip": honest})
    assert written(extracted) == {f"bob_2_x.zip/bob_2_{A}.ipynb": 2}
    assert any("archive alice_1_x.zip" in r and "not a zip or tar archive" in r for r in refusals), refusals


@pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")
def test_names_clashing_inside_an_archive_keep_the_first(extract):
    data = zip_bytes([("a.txt", b"first"), ("a.txt", b"second"), ("a.txt/b.txt", b"under a file")])
    extracted, refusals = extract({"alice_1_x.zip": data})
    assert (extracted / "alice_1_x.zip" / "a.txt").read_bytes() == b"first"
    assert any("a second entry with the same name" in r for r in refusals), refusals
    assert any("which is not a folder" in r for r in refusals), refusals


def test_links_in_the_archive_folder_are_not_followed(extract, tmp_path):
    secret = tmp_path / "gradebook.db"
    secret.write_bytes(b"secret")
    (tmp_path / "course").mkdir()
    links = {f"mallory_1_{A}.ipynb": secret, "mallory_2_x.zip": secret, "folder": tmp_path / "course"}
    extracted, refusals = extract(links)
    assert written(extracted) == {}
    for name in links:
        assert any(f"refused {name}: not a regular file" in r for r in refusals), (name, refusals)


def test_a_folder_chain_in_the_archive_folder_is_not_walked_deeper_than_max_folders(extract, tmp_path):
    honest = zip_bytes([(f"bob_2_{A}.ipynb", b"{}")])
    try:
        chain = {"deep": lambda path: (path.mkdir(), deep_chain(path, 1000))}
        extracted, refusals = extract({**chain, "bob_2_x.zip": honest})
    finally:
        quarantine.remove_tree(tmp_path / "archive" / "deep")  # pytest's own clean-up recurses
    assert written(extracted) == {f"bob_2_x.zip/bob_2_{A}.ipynb": 2}
    assert any("a folder 16 folders deep, not entered (the max_folders limit)" in r for r in refusals), refusals


def test_entries_through_more_folders_than_max_folders_are_refused(extract):
    data = zip_bytes([("a/" * 16 + "kept.txt", b"ok"), ("b/" * 17 + "refused.txt", b"no"), ("c/" * 17, b"")])
    extracted, refusals = extract({"alice_1_x.zip": data}, max_folders=16)
    assert list(written(extracted)) == ["alice_1_x.zip/" + "a/" * 16 + "kept.txt"]
    assert sum("more than 16 folders deep" in r for r in refusals) == 2, refusals


@pytest.mark.parametrize("name", ["evil.html", "EVIL.HTM", f"x_{A}.ipynb.html", "a.svg", "app.js", "page.xhtml"])
def test_a_file_a_browser_runs_is_not_extracted(extract, name):
    extracted, refusals = extract({"alice_1_x.zip": zip_bytes([(name, b"<script>alert(1)</script>")]), name: b"<p>"})
    assert written(extracted) == {}
    assert sum("a file a browser would run as a page or a script" in r for r in refusals) == 2, refusals


@pytest.mark.parametrize("name", ["a\nb.txt", "tab\there.txt", "\x1b[2Jclear.txt", "bidi\u202etxt.ipynb"])
def test_names_with_control_characters_are_refused(name):
    with pytest.raises(zip_collect.Refused, match="control character"):
        zip_collect.safe_parts(name)
