"""The real course as stock ``nbgrader autograde`` sees it: its config, paths, selection rules and gradebook.

The coordinator reads the course through ``Course``: which submissions to grade (nbgrader's own
rules), each one as a job (bytes), and it brings each outcome back into the course: the gradebook
rows (cnnkit.scale.gradebook_writer) and ``autograded/<student>/<assignment>/``.
"""

import fnmatch
import logging
import os
import re
import shutil
from pathlib import Path

from cnnkit import compat
from cnnkit.records.packed import pack, unpack
from cnnkit.scale import gradebook_writer


class Course:
    """The course at root, its config loaded from there as `nbgrader autograde <assignment> [--force]` loads it."""

    def __init__(self, root, assignment, force=False):
        from nbgrader.apps.autogradeapp import AutogradeApp
        from nbgrader.converters import Autograde

        self.root, self.assignment = Path(root).resolve(), assignment
        saved_cwd = os.getcwd()
        os.chdir(self.root)  # nbgrader reads nbgrader_config.py from the working directory
        try:
            self.app = AutogradeApp()
            self.app.initialize([assignment, *(["--force"] if force else [])])
            self.app.log.setLevel(logging.WARNING)
            self.coursedir = self.app.coursedir
            self.coursedir.assignment_id = assignment
            self.converter = Autograde(coursedir=self.coursedir, parent=self.app)
        finally:
            os.chdir(saved_cwd)
        self.db_url = self.coursedir.db_url
        self._gradebook = None

    def code_cells(self):
        """How many code cells the assignment's notebooks have (in source/)."""
        import nbformat

        source = Path(self.coursedir.format_path(self.coursedir.source_directory, ".", self.assignment))
        notebooks = [nbformat.read(str(path), as_version=4) for path in source.glob("*.ipynb")]
        return sum(cell.cell_type == "code" for nb in notebooks for cell in nb.cells)

    def path(self, step, student):
        """The folder of student's assignment in step (submitted, autograded), as nbgrader lays it out."""
        directory = getattr(self.coursedir, f"{step}_directory")
        return Path(self.coursedir.format_path(directory, student, self.assignment))

    def select(self, students=()):
        """Students whose submission stock autograde would process now, in its order.

        students: ids or globs to keep (all when empty). nbgrader's own rules decide the rest:
        its submission glob, student_id_exclude, and whether it is not yet autograded, --force,
        or a newer submission (the last two remove the old autograded folder, as stock does).
        """
        from nbgrader.converters import NbGraderException

        try:
            assignments = compat.submitted_assignments(self.converter)
        except NbGraderException:  # nbgrader logged which glob matched nothing
            raise SystemExit(f"No submission in {self.path('submitted', '*')}") from None
        pattern = re.escape(str(self.path("submitted", "@@"))).replace("@@", "(?P<student>.*)")
        found = {re.fullmatch(pattern, path).group("student"): path for path in assignments}
        wanted = [s for s in sorted(found) if not students or any(fnmatch.fnmatchcase(s, p) for p in students)]
        missing = [p for p in students if not any(fnmatch.fnmatchcase(s, p) for s in found)]
        if missing:
            raise SystemExit(f"No submission in {self.path('submitted', '*')} for: {', '.join(missing)}")
        return [
            student
            for student in wanted
            if compat.autograde_would_grade(self.converter, self.assignment, student, assignments[found[student]])
        ]

    def sqlite_path(self):
        """The gradebook's file; a snapshot of it is what grading processes start from."""
        prefix = "sqlite:///"
        if not self.db_url.startswith(prefix):
            raise SystemExit(
                f"Parallel autograde needs a SQLite gradebook (db_url is {self.db_url}); "
                "use stock `nbgrader autograde` with other databases."
            )
        path = Path(self.db_url[len(prefix) :])
        self.check_assignment()
        return path

    def check_assignment(self):
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(self.db_url, self.coursedir.course_id) as gradebook:
            try:
                gradebook.find_assignment(self.assignment)
            except MissingEntry:
                raise SystemExit(
                    f"No assignment {self.assignment!r} in {self.db_url}: run `nbgrader generate_assignment` first."
                ) from None

    def job(self, student, snapshot):
        """One submission, as bytes, with where it goes in a scratch course (paths relative to the root)."""
        return {
            "student": student,
            "assignment": self.assignment,
            "submission": pack(self.path("submitted", student)),
            "submitted": str(self.path("submitted", student).relative_to(self.root)),
            "autograded": str(self.path("autograded", student).relative_to(self.root)),
            "snapshot": snapshot,
        }

    def record(self, outcome):
        """Bring one outcome into the real course: the gradebook rows, autograded/<student>/, and the
        feedback folder when the outcome carries one (the job asked for it)."""
        self.record_grades(outcome)
        self.record_folder(outcome)
        if outcome.get("feedback") is not None:
            self.replace_folder(self.feedback_folder(outcome["student"]), outcome["feedback"])
            relocate_notebooks(
                self.feedback_folder(outcome["student"]), outcome["scratch_root"], self.root, pattern="*.html"
            )

    def feedback_folder(self, student):
        """feedback/<student>/<assignment>/, as nbgrader lays it out."""
        return Path(self.coursedir.format_path(self.coursedir.feedback_directory, student, self.assignment))

    def put_back(self, outcome, submitted, feedback):
        """A stored attempt back into the course: its gradebook rows and autograded folder (the outcome),
        its submitted and feedback folders (pack() bytes; None: leave as it is)."""
        self.record(outcome)
        if submitted is not None:
            self.replace_folder(self.path("submitted", outcome["student"]), submitted)
        if feedback is not None:
            self.replace_folder(self.feedback_folder(outcome["student"]), feedback)

    @staticmethod
    def replace_folder(folder, data):
        if folder.exists():
            shutil.rmtree(folder)
        unpack(data, folder)

    def record_grades(self, outcome):
        """What autograde wrote for the submission, or, if no grading process reported, what stock writes first."""
        student, state = outcome["student"], outcome["gradebook"]
        if state is not None:
            gradebook_writer.write_autograded(self.gradebook(), self.assignment, student, state)
            return
        submitted = self.path("submitted", student)
        timestamp = self.coursedir.get_existing_timestamp(str(submitted))
        names = {path.stem for path in submitted.glob("*.ipynb")}
        gradebook_writer.write_unfinished(self.gradebook(), self.assignment, student, timestamp, names)

    def gradebook(self):
        """The real gradebook, opened once for the batch: this process is its only writer."""
        if self._gradebook is None:
            from nbgrader.api import Gradebook

            self._gradebook = Gradebook(self.db_url, self.coursedir.course_id)
        return self._gradebook

    def close(self):
        if self._gradebook is not None:
            self._gradebook.close()
            self._gradebook = None

    def record_folder(self, outcome):
        """autograded/<student>/<assignment>/ from the outcome (removed if grading failed, as stock does)."""
        destination = self.path("autograded", outcome["student"])
        if destination.exists():
            shutil.rmtree(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        if outcome["autograded"] is not None:
            unpack(outcome["autograded"], destination)
            relocate_notebooks(destination, outcome["scratch_root"], self.root)


def relocate_notebooks(folder, scratch_root, root, pattern="*.ipynb"):
    """Say root where a notebook's outputs (or its feedback pages: pattern) name the scratch course.

    The kernel ran in <scratch>/autograded/...; stock nbgrader runs it in <root>/autograded/...
    """
    if not scratch_root or str(scratch_root) == str(root):
        return
    for path in folder.rglob(pattern):
        text = path.read_text()
        if scratch_root in text:
            mode = path.stat().st_mode
            os.chmod(path, mode | 0o200)
            path.write_text(text.replace(scratch_root, str(root)))
            os.chmod(path, mode)
