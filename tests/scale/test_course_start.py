"""cnnkit.scale.course_start, in-process: backups, unfinished folders, markers, admission, the start step.

tests/grading/test_batch.py runs the same through the real `nbgrader autograde`.
"""

import sqlite3

from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory

from cnnkit import course
from cnnkit.records import marker
from cnnkit.scale import course_start as batch


def gradebook(root, value):
    with sqlite3.connect(root / "gradebook.db") as db:
        db.execute("create table if not exists t (v)")
        db.execute("delete from t")
        db.execute("insert into t values (?)", (value,))


def backed_up_values(root):
    values = []
    for path in sorted((root / "backups").glob("gradebook-*.db")):
        with sqlite3.connect(path) as db:
            values.append(db.execute("select v from t").fetchone()[0])
    return values


def autograded(root, student, finished):
    folder = root / "autograded" / student / course.ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / f"{course.ASSIGNMENT}.ipynb").write_text("{}")
    if finished:
        (folder / marker.FILE).touch()
    return folder


def test_a_backup_copies_the_gradebook_and_the_newest_ten_are_kept(tmp_path):
    for value in range(batch.KEEP_BACKUPS + 3):
        gradebook(tmp_path, value)
        target = batch.backup_gradebook(tmp_path)
        assert target.parent == tmp_path / "backups"
    assert backed_up_values(tmp_path) == list(range(3, batch.KEEP_BACKUPS + 3))


def test_without_a_gradebook_there_is_no_backup(tmp_path):
    assert batch.backup_gradebook(tmp_path) is None
    assert not (tmp_path / "backups").exists()


def test_only_unfinished_folders_are_removed(tmp_path):
    done = autograded(tmp_path, "alice", finished=True)
    autograded(tmp_path, "carol", finished=False)
    autograded(tmp_path, "bob", finished=False)
    assert batch.remove_unfinished(tmp_path, course.ASSIGNMENT) == ["bob", "carol"]
    assert [p.parent.name for p in (tmp_path / "autograded").glob(f"*/{course.ASSIGNMENT}")] == ["alice"]
    assert (done / marker.FILE).exists()
    assert batch.remove_unfinished(tmp_path, course.ASSIGNMENT) == []


def test_prepare_backs_up_then_clears_and_says_so_each_time(tmp_path, capsys):
    gradebook(tmp_path, 1)
    autograded(tmp_path, "bob", finished=False)
    batch.prepare(str(tmp_path), course.ASSIGNMENT)
    said = capsys.readouterr().err
    assert "gradebook backed up to backups/gradebook-" in said and "regrading unfinished submissions: bob" in said
    batch.prepare(tmp_path, course.ASSIGNMENT)  # an explicit step: a second batch gets its own backup
    assert "regrading" not in capsys.readouterr().err
    assert backed_up_values(tmp_path) == [1, 1]


def test_mark_graded_marks_the_autograded_folder_of_each_submitted_notebook(tmp_path):
    submitted = tmp_path / "submitted" / "alice" / course.ASSIGNMENT / f"{course.ASSIGNMENT}.ipynb"
    submitted.parent.mkdir(parents=True)
    submitted.write_text("{}")
    folder = autograded(tmp_path, "alice", finished=False)
    batch.mark_graded(assignment=course.ASSIGNMENT, student="alice", notebooks=[str(submitted)])
    assert (folder / marker.FILE).exists()
    gone = tmp_path / "submitted" / "bob" / course.ASSIGNMENT / "x.ipynb"
    batch.mark_graded(assignment=course.ASSIGNMENT, student="bob", notebooks=[str(gone)])  # nothing to mark
    assert not (tmp_path / "autograded" / "bob" / course.ASSIGNMENT).exists()


def converter(root, **config):
    return Autograde(coursedir=CourseDirectory(root=str(root)), **config)


def test_the_exporter_nbgrader_builds_starts_the_batch(tmp_path):
    gradebook(tmp_path, 7)
    autograded(tmp_path, "bob", finished=False)
    exporter = batch.AutogradeStart(parent=converter(tmp_path))
    assert backed_up_values(tmp_path) == [7]
    assert not (tmp_path / "autograded" / "bob" / course.ASSIGNMENT).exists()
    assert exporter.file_extension == ".ipynb"  # otherwise nbgrader's NotebookExporter


def test_a_grading_process_can_turn_the_start_off(tmp_path):
    gradebook(tmp_path, 7)
    autograded(tmp_path, "bob", finished=False)
    batch.AutogradeStart(parent=converter(tmp_path), prepare_batch=False)
    batch.AutogradeStart()  # no converter: nothing to prepare
    assert not (tmp_path / "backups").exists() and (tmp_path / "autograded" / "bob" / course.ASSIGNMENT).exists()
