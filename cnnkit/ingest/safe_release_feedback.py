"""nbgrader release_feedback, one student at a time: ``SafeReleaseFeedback`` (``c.ExchangeFactory.release_feedback``).

Stock ``nbgrader release_feedback`` goes through feedback/*/<assignment>/*.html and opens the timestamp.txt
and submission_secret.txt beside each page: one student folder without them, or with bytes that are not
text, raises, and every student after that one gets no feedback. It also releases every *.html it finds
(a submitted evil.html included) and follows links. ``SafeReleaseFeedback`` releases each student's
feedback on its own:

- only the pages of the assignment's notebooks (``<notebook>.html``, the names in release/), under
  nbgrader's hash of the submission's secret, where ``nbgrader fetch_feedback`` looks for them;
- never through a link: no folder on the way may be one, the page and the secret are opened without
  following one, and each page is written into the exchange as a new file, then renamed into place.

A student whose feedback cannot be released is skipped with the reason and what to do; after every other
student's feedback is released, the command fails (exit 1) naming the students skipped.
"""

import glob
import os
import re
import stat
from pathlib import Path

from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback
from nbgrader.utils import notebook_hash

from cnnkit.ingest import admit
from cnnkit.ingest.names import shown
from cnnkit.ingest.zip_owners import STUDENT_ID_PATTERN

PAGE_MODE = 0o644  # students read their page by its name; the folder itself is not listable to them
RESUBMIT = (
    "the feedback cannot be matched to the student's submission without it: ask the student to submit "
    "again (nbgrader submit), then collect, autograde and generate feedback for them"
)


class Unreleasable(Exception):
    """This student's feedback is not released; the message says why and what to do."""


class SafeReleaseFeedback(ExchangeReleaseFeedback):
    """ExchangeReleaseFeedback that releases each student on their own, never through a link."""

    def copy_files(self):
        assignment = self.coursedir.assignment_id
        notebooks = sorted(Path(name).stem for name in admit.expected_files(self.coursedir.root, assignment).notebooks)
        folders = self.student_folders()
        if not folders:
            self.log.warning("No feedback to release for %s: run nbgrader generate_feedback first", assignment)
        skipped = []
        for student, folder in folders:
            try:
                self.release_student(student, folder, notebooks)
            except (Unreleasable, OSError) as why:
                skipped.append(student)
                self.log.error("Feedback not released for %s: %s", student, why)
        if skipped:
            self.fail(
                f"Feedback was not released for {len(skipped)} of {len(folders)} students ({', '.join(skipped)}): "
                "see the reason given for each above; every other student's feedback was released."
            )

    def student_folders(self):
        """[(student, feedback folder)] for the students asked for (all but the excluded ones), by name."""
        pattern = self.coursedir.format_path(
            self.coursedir.feedback_directory, self.coursedir.student_id or "*", self.coursedir.assignment_id
        )
        regexp = self.coursedir.format_path(
            self.coursedir.feedback_directory, "(?P<student_id>[^/]+)", self.coursedir.assignment_id, escape=True
        )
        excluded = set(filter(None, self.coursedir.student_id_exclude.split(",")))
        found = []
        for path in sorted(glob.glob(pattern)):
            match = re.fullmatch(regexp, path)
            if match and match.group("student_id") not in excluded:
                found.append((shown(match.group("student_id")), Path(path)))
        return found

    def release_student(self, student, folder, notebooks):
        """Release the student's pages, or raise Unreleasable before writing any of them."""
        self.check_folder(student, folder)
        secret = read_secret(folder)
        pages = [(name, page) for name in notebooks if (page := open_page(folder / f"{name}.html")) is not None]
        if not pages:
            names = ", ".join(f"{name}.html" for name in notebooks) or "none (the assignment has no released notebook)"
            raise Unreleasable(
                f"no feedback page ({names}) in {folder}: run nbgrader generate_feedback --student={student} first"
            )
        for other in sorted({path.name for path in folder.glob("*.html")} - {f"{name}.html" for name, _ in pages}):
            self.log.warning("Not released for %s: %s is no feedback page of the assignment", student, shown(other))
        timestamp = admit.read_record(folder / admit.TIMESTAMP, admit.RECORD_BYTES[admit.TIMESTAMP]) or b"?"
        for name, page in pages:
            self.log.info(
                "Releasing feedback for student '%s' on assignment '%s/%s/%s' (%s)",
                student,
                self.coursedir.course_id,
                self.coursedir.assignment_id,
                name,
                shown(timestamp.decode(errors="replace").strip()),
            )
            with page:
                target = self.publish(page, notebook_hash(secret=secret, notebook_id=name))
            self.log.info("Feedback released to: %s", target)

    def check_folder(self, student, folder):
        """Unreleasable unless the student id is valid and no folder from the course root down is a link."""
        if not re.fullmatch(STUDENT_ID_PATTERN, student):
            raise Unreleasable(f"{student!r} is not a valid student id: remove feedback/{student}")
        path = Path(self.coursedir.root)
        for part in folder.relative_to(path).parts:
            path = path / part
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                raise Unreleasable(
                    f"{path} is a link or not a folder: remove it and run nbgrader generate_feedback --student={student}"
                )

    def publish(self, page, digest):
        """Write the page (an open file) as <exchange feedback>/<digest>.html through a new file; the path."""
        target = Path(self.dest_path) / f"{digest}.html"
        partial = target.with_name(f".{digest}.{os.getpid()}.partial")
        if os.path.lexists(partial):
            os.unlink(partial)
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, PAGE_MODE)
        with os.fdopen(descriptor, "wb") as out:
            os.fchmod(out.fileno(), PAGE_MODE)
            while chunk := page.read(2**20):
                out.write(chunk)
        os.replace(partial, target)
        return target


def read_secret(folder):
    """The submission's secret as nbgrader reads it, or Unreleasable saying what is wrong with the file."""
    if not os.path.lexists(folder / admit.SECRET):
        where = "the admission gate sets aside one that is not nbgrader's: see quarantine/ and the run summary"
        raise Unreleasable(f"it has no {admit.SECRET} ({where}); {RESUBMIT}")
    data = admit.read_record(folder / admit.SECRET, admit.RECORD_BYTES[admit.SECRET])
    problem = admit.record_problem(admit.SECRET, data)
    if problem:
        raise Unreleasable(f"its {admit.SECRET} is not usable ({problem}); {RESUBMIT}")
    return data.decode()


def open_page(path):
    """The feedback page opened for reading (None when absent); Unreleasable when it is a link or not a file."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise Unreleasable(f"{path.name} cannot be opened without following a link ({error.strerror})") from None
    page = os.fdopen(descriptor, "rb")
    info = os.fstat(page.fileno())
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        page.close()
        raise Unreleasable(f"{path.name} is not a plain file: run nbgrader generate_feedback --force again")
    return page
