"""The graded marker: an empty ``.cnnkit-graded`` file in an autograded folder whose grading finished.

nbgrader skips a student whose autograded/ folder exists, even if the run that made it was killed
halfway. nbgrader's post-convert hook marks each folder it finished (cnnkit.scale.course_start.mark_graded,
with ``mark``), and the start of every batch removes the folders without the marker (``is_marked``), so
that they are graded again. The admission gate refuses the name in a submission, and nbgrader_config.py
keeps it out of feedback.
"""

from pathlib import Path

from cnnkit.records.writer import write_record

FILE = ".cnnkit-graded"


def mark(folder):
    write_record(Path(folder) / FILE, "")


def is_marked(folder) -> bool:
    return (Path(folder) / FILE).exists()
