"""The admission gate (cnnkit.ingest.admit) and its quarantine: what a submission may keep, and what is set aside.

In-process, on a small course folder: links, special files, importable files and kit record names; names,
suffixes and kinds a browser runs; nbgrader's own records, good and bad; extra files and their allowlist;
sizes; and the quarantine, one bounded, inert set per student, made without recursion.
"""

import json
import os
import shutil
import tempfile
import traceback
from pathlib import Path

import pytest

from cnnkit.ingest import admit, quarantine
from cnnkit.records import admission
from tests.ingest.trees import deep_chain, depth_of

A = "cnn_step_by_step"
NB = f"{A}.ipynb"
SECRET = b"0123456789abcdef" * 8  # what nbgrader submit writes: 128 hex digits
TIMESTAMP = b"2026-11-29 10:00:00.123456 UTC"


@pytest.fixture
def course(tmp_path):
    """A course folder with a gradebook, honest alice and mallory (a timestamp only, until a test plants more)."""
    root = tmp_path / "course"
    (root / "source" / A).mkdir(parents=True)
    (root / "gradebook.db").write_bytes(b"SQLite format 3\0 secret grades")
    (root / "source" / A / NB).write_text('{"the master": "hidden tests"}')
    for student in ("alice", "mallory"):
        folder = root / "submitted" / student / A
        folder.mkdir(parents=True)
        (folder / "timestamp.txt").write_bytes(TIMESTAMP)
    alice = root / "submitted" / "alice" / A
    (alice / NB).write_text("{}")
    (alice / "submission_secret.txt").write_bytes(SECRET)
    return root


def mallory(root):
    return root / "submitted" / "mallory" / A


def listing(folder):
    return sorted(os.listdir(folder))


def quarantined(root, student="mallory"):
    return root / "quarantine" / student / A


def kept_files(root, student="mallory"):
    """{file name: bytes} of what the student's quarantine holds, its notes apart."""
    folder = quarantined(root, student)
    return {name: (folder / name).read_bytes() for name in listing(folder) if name != admission.FILE}


def assert_alice_untouched(root):
    assert listing(root / "submitted" / "alice" / A) == sorted([NB, "submission_secret.txt", "timestamp.txt"])
    assert not quarantined(root, "alice").exists()


def test_an_honest_submission_is_left_exactly_as_it_was(course):
    """Including its copy of the support files, which nbgrader replaces with the course's."""
    (course / "source" / A / "cnn_checks.py").write_text("# the course's checker")
    alice = course / "submitted" / "alice" / A
    (alice / "cnn_checks.py").write_text("# the copy the student fetched")
    before = {name: (alice / name).read_bytes() for name in listing(alice)}
    assert admit.admit_all(course, A) == {}
    assert {name: (alice / name).read_bytes() for name in listing(alice)} == before
    assert not (course / "quarantine").exists()


@pytest.mark.parametrize(
    "plant, why",
    [
        (lambda root, folder: (folder / NB).symlink_to(root / "source" / A / NB), "symbolic link"),
        (lambda root, folder: (folder / "data.txt").symlink_to(root / "gradebook.db"), "symbolic link"),
        (lambda root, folder: os.link(root / "gradebook.db", folder / "notes.txt"), "hard link"),
        (lambda root, folder: os.link(root / "gradebook.db", folder / "integrity.json"), "hard link"),
        (lambda root, folder: os.link(root / "gradebook.db", folder / NB), "hard link"),
        (lambda root, folder: (folder / "integrity.json").write_text('{"flags": []}'), "records"),
        (lambda root, folder: (folder / ".cnnkit-graded").write_text(""), "records"),
        (lambda root, folder: os.mkfifo(folder / "pipe"), "not a regular file"),
        (lambda root, folder: (folder / "cnn_checks").mkdir(), "folder"),
        (lambda root, folder: (folder / "cnn_checks.py").symlink_to(root / "gradebook.db"), "symbolic link"),
        (lambda root, folder: (folder / "cnn_checks.json").write_text("{}"), "import"),
        (lambda root, folder: (folder / "numpy.py").write_text("raise SystemExit"), "import"),
        (lambda root, folder: (folder / "sitecustomize.pyc").write_bytes(b"\0"), "import"),
        (lambda root, folder: (folder / "evil.pth").write_text("import os"), "import"),
    ],
    ids=[
        "notebook-links-to-master",
        "link-to-gradebook",
        "hard-link-to-gradebook",
        "hard-link-as-integrity-record",
        "hard-link-as-notebook",
        "planted-integrity-record",
        "planted-batch-marker",
        "fifo",
        "checker-package",
        "checker-as-link",
        "checker-lookalike",
        "numpy-shadow",
        "pyc",
        "pth",
    ],
)
def test_what_could_mislead_grading_is_set_aside_and_never_followed(course, plant, why):
    folder = mallory(course)
    plant(course, folder)
    planted = (set(listing(folder)) - {"timestamp.txt"}).pop()
    gradebook = (course / "gradebook.db").read_bytes()

    notes = admit.admit_all(course, A)

    assert listing(folder) == ["timestamp.txt"]
    assert [note["name"] for note in notes["mallory"]] == [planted] and why in notes["mallory"][0]["why"]
    assert admission.notes_of(course, "mallory", A) == notes["mallory"]
    assert all(name.endswith(quarantine.SUFFIX) for name in kept_files(course))
    assert (course / "gradebook.db").read_bytes() == gradebook  # a link's target is never touched
    assert_alice_untouched(course)


def test_a_link_is_written_down_with_its_target_and_removed(course):
    (mallory(course) / "data.txt").symlink_to(course / "gradebook.db")
    [note] = admit.admit_all(course, A)["mallory"]
    assert note["removed"] == f"a link to {course / 'gradebook.db'}" and kept_files(course) == {}


def test_a_refused_file_is_kept_under_an_inert_name(course):
    (mallory(course) / "evil.html").write_bytes(b"<script>alert(1)</script>")
    [note] = admit.admit_all(course, A)["mallory"]
    assert note["kept_as"] == "001-evil.html.quarantined"
    assert kept_files(course) == {"001-evil.html.quarantined": b"<script>alert(1)</script>"}


ACTIVE = ["evil.html", "EVIL.HTML", "Evil.Htm", f"{NB}.html", "evil.html.", "x.html.txt", "evil.svg", "page.xhtml"]
ACTIVE += ["data.xml", "style.xsl", "app.js", "module.mjs", "report.pdf", "feed.rdf", "e.svgz", "archive.mht"]


@pytest.mark.parametrize("name", ACTIVE)
def test_a_file_a_browser_runs_is_refused_whatever_its_case_or_other_suffixes(course, name):
    (mallory(course) / name).write_bytes(b"<script>alert(1)</script>")
    [note] = admit.admit_all(course, A)["mallory"]
    assert note["name"] == name and "browser" in note["why"]
    assert listing(mallory(course)) == ["timestamp.txt"]


@pytest.mark.parametrize("name", ["evil.html", "x.svg", "page.xhtml", "lib.js"])
def test_a_file_a_browser_runs_is_refused_even_when_the_instructor_allows_it(course, name):
    (mallory(course) / name).write_bytes(b"<script>alert(1)</script>")
    settings = admit.Admission(extra_files=["*", name])
    [note] = admit.admit_all(course, A, settings)["mallory"]
    assert "even when c.Admission.extra_files lists it" in note["why"]


@pytest.mark.parametrize(
    "name, why",
    [
        ("readme.txt", "not part of the assignment"),
        ("figure.png", "not part of the assignment"),
        ("x.html", "folder"),  # a folder named like a page
        ("other.ipynb", "a notebook that is not part of the assignment (cnn_step_by_step.ipynb)"),
        ("CNN_STEP_BY_STEP.IPYNB", "a notebook that is not part of the assignment"),
        ("TIMESTAMP.TXT", "not part of the assignment"),
        ("Submission_Secret.txt", "not part of the assignment"),
        ("notes\n[cnnkit] bob: graded 150.txt", "control characters"),
        ("\x1b[31mred.txt", "control characters"),
        ("gpj.\u202etxt", "control characters"),  # a direction mark hides the real suffix
        (os.fsdecode(b"\xff\xfe.txt"), "not UTF-8"),
    ],
)
def test_anything_else_is_refused_with_a_reason(course, name, why):
    target = mallory(course) / name
    if name == "x.html":
        target.mkdir()
        (target / "index.html").write_bytes(b"<script>alert(1)</script>")
    else:
        target.write_bytes(b"content")
    [note] = admit.admit_all(course, A)["mallory"]
    assert why in note["why"], note
    assert note["name"].isprintable() and "\n" not in note["name"]
    assert listing(mallory(course)) == ["timestamp.txt"]
    assert_alice_untouched(course)


def test_extra_files_the_instructor_allows_are_kept_within_their_limit(course):
    folder = mallory(course)
    (folder / NB).write_text("{}")
    (folder / "submission_secret.txt").write_bytes(SECRET)
    for number in range(150):
        (folder / f"figure{number:03d}.png").write_bytes(b"\x89PNG")
    (folder / "notes.txt").write_text("kept? no: not listed")
    settings = admit.Admission(extra_files=["figure*.png"], max_extra_files=100)

    notes = admit.admit_all(course, A, settings)["mallory"]

    reasons = {note["name"]: note["why"] for note in notes if "more entries" not in note["name"]}
    assert "not part of the assignment" in reasons.pop("notes.txt")
    assert set(reasons.values()) == {"over the 100 extra files a submission may hold"}
    assert len([name for name in listing(folder) if name.startswith("figure")]) == 100
    assert {NB, "submission_secret.txt", "timestamp.txt"} <= set(listing(folder))


def test_nbgraders_records_are_never_set_aside_for_being_many(course):
    """150 tiny extra files used to push submission_secret.txt (128 bytes) out, and release_feedback then failed."""
    folder = mallory(course)
    (folder / NB).write_text("{}")
    (folder / "submission_secret.txt").write_bytes(SECRET)
    for number in range(150):
        (folder / f"tiny{number:03d}").write_bytes(b"x")

    notes = admit.admit_all(course, A)["mallory"]

    assert listing(folder) == sorted([NB, "submission_secret.txt", "timestamp.txt"])
    assert len(notes) == admission.MAX_NOTES + 1 and notes[-1]["name"] == "50 more entries"
    assert all("submission_secret" not in note["name"] for note in notes)


GOOD_TIMESTAMPS = [TIMESTAMP, TIMESTAMP + b"\n", b"2026-11-29 10:00:00"]
BAD_TIMESTAMPS = [
    (b"", "empty"),
    (b"  \n", "empty"),
    (b"2" * 1_000_000, "larger than 128 bytes"),
    (b"\xff\xfe2026-11-29", "not plain text"),
    (b"2026-11-29 10:00:00\x1b[2K", "not plain text"),
    (b"2026-11-29 10:00:00\r\n", "not plain text"),
    (b"yesterday, honest", "no time nbgrader can read"),
]
GOOD_SECRETS = [SECRET, b"x"]
BAD_SECRETS = [
    (b"", "empty"),
    (b"\xff" * 128, "not plain text"),
    (SECRET[:64] + " é".encode() + SECRET[:60], "not plain text"),
    (SECRET + b"\n", "not plain text"),
    (b"a" * 1025, "larger than 1024 bytes"),
    (b"\0" * 128, "not plain text"),
]


@pytest.mark.parametrize("data", GOOD_TIMESTAMPS + GOOD_SECRETS)
def test_nbgraders_records_as_nbgrader_writes_them_are_kept(course, data):
    name = "timestamp.txt" if data in GOOD_TIMESTAMPS else "submission_secret.txt"
    (mallory(course) / name).write_bytes(data)
    assert admit.admit_all(course, A) == {}
    assert (mallory(course) / name).read_bytes() == data


@pytest.mark.parametrize(
    "name, data, why",
    [("timestamp.txt", data, why) for data, why in BAD_TIMESTAMPS]
    + [("submission_secret.txt", data, why) for data, why in BAD_SECRETS],
    ids=[f"timestamp-{n}" for n in range(len(BAD_TIMESTAMPS))] + [f"secret-{n}" for n in range(len(BAD_SECRETS))],
)
def test_a_record_that_is_not_what_nbgrader_writes_is_set_aside_with_the_reason(course, name, data, why):
    (mallory(course) / name).write_bytes(data)
    [note] = admit.admit_all(course, A)["mallory"]
    assert note["name"] == name and f"not the {name} nbgrader writes" in note["why"] and why in note["why"], note
    assert name not in listing(mallory(course))


@pytest.mark.parametrize("name", ["timestamp.txt", "submission_secret.txt"])
def test_a_record_that_is_a_link_is_never_read(course, name):
    os.unlink(mallory(course) / "timestamp.txt")
    (mallory(course) / name).symlink_to("/dev/zero")  # reading it would never end
    [note] = admit.admit_all(course, A)["mallory"]
    assert "symbolic link" in note["why"]


def test_one_student_is_admitted_on_their_own_as_the_grading_engine_asks(course):
    for student in ("alice", "mallory"):
        (course / "submitted" / student / A / "evil.html").write_bytes(b"<script>alert(1)</script>")
    assert [note["name"] for note in admit.admit_one(course, A, "mallory")] == ["evil.html"]
    assert "evil.html" in listing(course / "submitted" / "alice" / A)  # not hers to admit yet
    with pytest.raises(ValueError, match="not a valid student id"):
        admit.admit_one(course, A, "../alice")


def test_a_linked_student_folder_is_removed_and_its_target_kept(course):
    (course / "submitted" / "bob").symlink_to(course / "submitted" / "alice")
    notes = admit.admit_all(course, A)
    assert "symbolic link" in notes["bob"][0]["why"]
    assert not os.path.lexists(course / "submitted" / "bob")
    assert_alice_untouched(course)


@pytest.mark.parametrize(
    "name", ['=HYPERLINK("x")', "<img src=x onerror=alert(1)>", "line\nbreak", ".hidden", "-rf", "a" * 65]
)
def test_a_folder_name_that_is_no_student_id_is_set_aside_with_a_reason(course, name):
    """The folder name becomes a gradebook key, folder names, CSV and HTML cells: an invalid one is used nowhere."""
    folder = course / "submitted" / name / A
    folder.mkdir(parents=True)
    (folder / NB).write_text('{"mine": 1}')
    notes = admit.admit_all(course, A)
    [(label, [note])] = [(key, value) for key, value in notes.items() if key.startswith("invalid-id-")]
    assert name not in label and "not a valid student id" in note["why"] and "rename it" in note["why"]
    assert "\n" not in note["why"]
    assert not os.path.lexists(course / "submitted" / name)
    [kept] = [item for item in note["inside"]["kept"] if item["path"] == f"{A}/{NB}"]
    assert (course / note["folder"] / kept["kept_as"]).read_text() == '{"mine": 1}'  # nothing lost
    assert listing(course / "submitted") == ["alice", "mallory"]


def test_sizes_are_bounded_and_the_notebook_is_kept_first(course):
    folder = mallory(course)
    (folder / NB).write_text("{}")
    for number in range(5):
        (folder / f"data{number}.txt").write_bytes(b"x" * 400)
    (folder / "huge.bin").write_bytes(b"x" * 5000)
    settings = admit.Admission(extra_files=["*.txt", "*.bin"], max_file_bytes=1000, max_total_bytes=1500)

    notes = admit.admit(folder, quarantined(course), admit.expected_files(course, A), settings)

    reasons = {note["name"]: note["why"] for note in notes}
    assert "larger than 1000 bytes" in reasons["huge.bin"]
    assert NB in listing(folder)
    kept = [name for name in listing(folder) if name.startswith("data")]
    assert len(kept) == 3 and all("over the" in reasons[f"data{n}.txt"] for n in range(5) if f"data{n}.txt" in reasons)


# ---------------------------------------------------------------- the quarantine: one bounded, inert set per student


def test_quarantine_keeps_only_the_latest_set(course):
    (mallory(course) / "first.txt").write_bytes(b"1")
    admit.admit_all(course, A)
    (mallory(course) / "second.txt").write_bytes(b"2")
    notes = admit.admit_all(course, A)["mallory"]
    assert [note["name"] for note in notes] == ["second.txt"]
    assert kept_files(course) == {"001-second.txt.quarantined": b"2"}


def test_a_clean_admission_leaves_the_last_set_and_its_notes(course):
    (mallory(course) / "first.txt").write_bytes(b"1")
    admit.admit_all(course, A)
    assert admit.admit_all(course, A) == {}
    assert [note["name"] for note in admission.notes_of(course, "mallory", A)] == ["first.txt"]


def test_quarantine_keeps_at_most_its_caps_per_student(course):
    for number in range(30):
        (mallory(course) / f"junk{number:02d}.txt").write_bytes(b"j" * 1000)
    settings = admit.Admission(quarantine_files=10, quarantine_bytes=50_000)
    notes = admit.admit_all(course, A, settings)["mallory"]
    assert len(kept_files(course)) == 10 and sum(map(len, kept_files(course).values())) == 10_000
    removed = [note for note in notes if "removed" in note]
    assert len(removed) == 20 and "over what quarantine keeps per student (10 files" in removed[0]["removed"]
    settings = admit.Admission(quarantine_files=100, quarantine_bytes=2500)
    for number in range(30):
        (mallory(course) / f"junk{number:02d}.txt").write_bytes(b"j" * 1000)
    admit.admit_all(course, A, settings)
    assert sum(map(len, kept_files(course).values())) == 2000


def test_replacing_a_set_never_touches_the_other_name_of_a_hard_link(course):
    os.link(course / "gradebook.db", mallory(course) / "notes.txt")
    admit.admit_all(course, A)
    (mallory(course) / "other.txt").write_bytes(b"x")
    admit.admit_all(course, A)
    assert (course / "gradebook.db").read_bytes() == b"SQLite format 3\0 secret grades"
    assert (course / "gradebook.db").stat().st_nlink == 1


def test_a_deep_folder_chain_is_emptied_into_quarantine_without_recursion(course):
    deep_chain(mallory(course), 1000, leaf=("deepest.html", b"<script>alert(1)</script>"))
    [note] = admit.admit_all(course, A)["mallory"]
    assert note["name"] == "d" and "folder" in note["why"]
    [kept] = note["inside"]["kept"]
    assert kept["path"].endswith("d/d/deepest.html") and kept["kept_as"].endswith(quarantine.SUFFIX)
    assert depth_of(quarantined(course)) == 0 and listing(mallory(course)) == ["timestamp.txt"]


def test_a_chain_longer_than_a_path_may_be_is_emptied_too(course):
    """Names of 200 characters, 40 deep: no path names the innermost folder (PATH_MAX is 4096)."""
    deep_chain(mallory(course), 40, name="n" * 200, leaf=("notes.txt", b"deep"))
    [note] = admit.admit_all(course, A)["mallory"]
    assert [kept_files(course)[item["kept_as"]] for item in note["inside"]["kept"]] == [b"deep"]
    assert depth_of(quarantined(course)) == 0


def test_a_deep_chain_left_in_quarantine_by_an_older_kit_is_removed_with_the_set(course):
    quarantined(course).mkdir(parents=True)
    deep_chain(quarantined(course), 1500)
    (mallory(course) / "new.txt").write_bytes(b"n")
    admit.admit_all(course, A)
    assert listing(quarantined(course)) == ["001-new.txt.quarantined", admission.FILE]


def test_a_set_left_half_made_by_an_interrupted_run_is_replaced(course):
    leftover = quarantined(course).with_name(f".{A}.new")
    leftover.mkdir(parents=True)
    deep_chain(leftover, 50)
    (mallory(course) / "new.txt").write_bytes(b"n")
    admit.admit_all(course, A)
    assert listing(quarantined(course).parent) == [A]


def test_the_notes_are_plain_json_of_printable_names(course):
    (mallory(course) / "a\nb.txt").write_bytes(b"x")
    (mallory(course) / os.fsdecode(b"\xff.txt")).write_bytes(b"y")
    admit.admit_all(course, A)
    notes = json.loads((quarantined(course) / admission.FILE).read_text())
    assert sorted(note["name"] for note in notes) == ["\\udcff.txt", "a\\nb.txt"]


UNPRIVILEGED = 61_234  # any uid: root may take one without an account


def run_as_owner(folder, action):
    """action() in a forked child that owns folder's tree and is not root, as the hub's grading service is
    not; the child's exit code (0: action returned)."""
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, UNPRIVILEGED, UNPRIVILEGED, follow_symlinks=False)
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(UNPRIVILEGED)
            os.setuid(UNPRIVILEGED)
            action()
            os._exit(0)
        except BaseException:
            traceback.print_exc()
            os._exit(1)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


@pytest.mark.skipif(os.geteuid() != 0, reason="taking another uid needs root")
def test_folders_a_copy_left_read_only_are_still_set_aside_by_an_unprivileged_grader(tmp_path):
    """A copy keeps the student's modes: a read-only submission folder, and read-only folders in it."""
    base = Path(tempfile.mkdtemp(dir="/tmp", prefix="cnnkit-admit-"))  # pytest's own folders are root's, 0700
    try:
        root = base / "course"
        (root / "source" / A).mkdir(parents=True)
        (root / "source" / A / NB).write_text("{}")
        folder = root / "submitted" / "mallory" / A
        (folder / "locked" / "inner").mkdir(parents=True)
        (folder / "locked" / "inner" / "y.txt").write_text("y")
        (folder / "extra.txt").write_text("x")
        (folder / NB).write_text("{}")
        for path in (folder / "locked" / "inner", folder / "locked", folder):
            path.chmod(0o555)
        assert run_as_owner(base, lambda: admit.admit_all(root, A)) == 0
        assert listing(folder) == [NB]
        notes = admission.notes_of(root, "mallory", A)
        assert [note["name"] for note in notes] == ["extra.txt", "locked"]
        assert [item["path"] for item in notes[1]["inside"]["kept"]] == ["inner/y.txt"]
    finally:
        shutil.rmtree(base)


def test_the_course_settings_are_read_from_its_config_and_leave_the_process_as_it_was(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text(
        "import os, sys\nos.environ['CNNKIT_PROBE'] = '1'\nsys.path.insert(0, '/nowhere')\n"
        "c.Admission.extra_files = ['*.png']\nc.Admission.quarantine_files = 7\n"
    )
    path, environ = list(os.sys.path), dict(os.environ)
    settings = admit.course_settings(tmp_path)
    assert (settings.extra_files, settings.quarantine_files) == (["*.png"], 7)
    assert os.sys.path == path and dict(os.environ) == environ
    assert admit.course_settings(tmp_path / "elsewhere").extra_files == []
