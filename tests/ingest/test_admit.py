"""The admission gate (cnnkit.ingest.admit): links, special files, importable files, records, sizes."""

import json
import os

import pytest

from cnnkit.ingest import admit

NB = "cnn_step_by_step.ipynb"


@pytest.fixture
def course(tmp_path):
    """A course folder with a gradebook and one honest and one attacking submission."""
    root = tmp_path / "course"
    (root / "source" / "cnn_step_by_step").mkdir(parents=True)
    (root / "gradebook.db").write_bytes(b"SQLite format 3\0 secret grades")
    (root / "source" / "cnn_step_by_step" / NB).write_text('{"the master": "hidden tests"}')
    for student in ("alice", "mallory"):
        folder = root / "submitted" / student / "cnn_step_by_step"
        folder.mkdir(parents=True)
        (folder / "timestamp.txt").write_text("2026-11-29 10:00:00")
    (root / "submitted" / "alice" / "cnn_step_by_step" / NB).write_text("{}")
    return root


def mallory(root):
    return root / "submitted" / "mallory" / "cnn_step_by_step"


def listing(folder):
    return sorted(os.listdir(folder))


def test_an_honest_submission_is_left_exactly_as_it_was(course):
    """Including its copy of the support files, which nbgrader replaces with the course's."""
    (course / "source" / "cnn_step_by_step" / "cnn_checks.py").write_text("# the course's checker")
    alice = course / "submitted" / "alice" / "cnn_step_by_step"
    (alice / "cnn_checks.py").write_text("# the copy the student fetched")
    before = {name: (alice / name).read_bytes() for name in listing(alice)}
    assert admit.admit_all(course, "cnn_step_by_step") == {}
    assert {name: (alice / name).read_bytes() for name in listing(alice)} == before
    assert not (course / "quarantine").exists()


@pytest.mark.parametrize(
    "plant, why",
    [
        (lambda root, folder: (folder / NB).symlink_to(root / "source" / "cnn_step_by_step" / NB), "symbolic link"),
        (lambda root, folder: (folder / "data.txt").symlink_to(root / "gradebook.db"), "symbolic link"),
        (lambda root, folder: os.link(root / "gradebook.db", folder / "notes.txt"), "hard link"),
        (lambda root, folder: os.link(root / "gradebook.db", folder / "integrity.json"), "hard link"),
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
def test_what_could_mislead_grading_is_moved_aside_and_nothing_is_lost(course, plant, why):
    folder = mallory(course)
    plant(course, folder)
    planted = (set(listing(folder)) - {"timestamp.txt"}).pop()
    gradebook = (course / "gradebook.db").read_bytes()

    notes = admit.admit_all(course, "cnn_step_by_step")

    assert listing(folder) == ["timestamp.txt"]
    assert [note["name"] for note in notes["mallory"]] == [planted] and why in notes["mallory"][0]["why"]
    quarantine = course / "quarantine" / "mallory" / "cnn_step_by_step"
    assert os.path.lexists(quarantine / planted)  # moved, not deleted
    assert json.loads((quarantine / admit.NOTES_FILE).read_text())[0]["name"] == planted
    assert admit.admission_notes(course, "mallory", "cnn_step_by_step")[0]["why"] == notes["mallory"][0]["why"]
    assert (course / "gradebook.db").read_bytes() == gradebook  # a link's target is never touched
    assert listing(course / "submitted" / "alice" / "cnn_step_by_step") == sorted([NB, "timestamp.txt"])


def test_a_linked_student_folder_is_moved_aside_whole(course):
    (course / "submitted" / "bob").symlink_to(course / "submitted" / "alice")
    notes = admit.admit_all(course, "cnn_step_by_step")
    assert "symbolic link" in notes["bob"][0]["why"]
    assert not os.path.lexists(course / "submitted" / "bob")
    assert (course / "submitted" / "alice" / "cnn_step_by_step" / NB).exists()


@pytest.mark.parametrize(
    "name", ['=HYPERLINK("x")', "<img src=x onerror=alert(1)>", "line\nbreak", ".hidden", "-rf", "a" * 65]
)
def test_a_folder_name_that_is_no_student_id_is_set_aside_with_a_reason(course, name):
    """The folder name becomes a gradebook key, folder names, CSV and HTML cells: an invalid one is used nowhere."""
    folder = course / "submitted" / name / "cnn_step_by_step"
    folder.mkdir(parents=True)
    (folder / NB).write_text('{"mine": 1}')
    notes = admit.admit_all(course, "cnn_step_by_step")
    [(label, [note])] = [(key, value) for key, value in notes.items() if key.startswith("invalid-id-")]
    assert name not in label and "not a valid student id" in note["why"] and "rename it" in note["why"]
    assert not os.path.lexists(course / "submitted" / name)
    kept = course / note["folder"] / "submission" / "cnn_step_by_step" / NB
    assert kept.read_text() == '{"mine": 1}'  # nothing lost
    assert listing(course / "submitted") == ["alice", "mallory"]
    assert (course / "submitted" / "alice" / "cnn_step_by_step" / NB).read_text() == "{}"


def test_sizes_are_bounded_and_the_notebook_is_kept_first(course):
    folder = mallory(course)
    (folder / NB).write_text("{}")
    for number in range(5):
        (folder / f"data{number}.txt").write_bytes(b"x" * 400)
    (folder / "huge.bin").write_bytes(b"x" * 5000)
    limits = admit.Limits(file_bytes=1000, total_bytes=1500, files=4)

    notes = admit.admit(folder, course / "q", limits)

    reasons = {note["name"]: note["why"] for note in notes}
    assert "larger than" in reasons["huge.bin"]
    assert NB in listing(folder)
    kept = [name for name in listing(folder) if name.startswith("data")]
    assert len(kept) == 3 and all("over the" in reasons[f"data{n}.txt"] for n in range(5) if f"data{n}.txt" in reasons)


def test_a_record_is_replaced_not_written_through_a_planted_link(tmp_path):
    target = tmp_path / "gradebook.db"
    target.write_text("grades")
    link = tmp_path / "integrity.json"
    link.symlink_to(target)
    admit.write_record(link, '{"flags": []}')
    assert target.read_text() == "grades"
    assert not link.is_symlink() and link.read_text() == '{"flags": []}'
