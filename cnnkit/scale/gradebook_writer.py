"""The one writer of autograde's rows into the real gradebook, copied from a grading process's scratch gradebook.

A grading process runs stock ``nbgrader autograde`` against a snapshot of the real gradebook;
``submission_state`` reads back what nbgrader wrote there for the submission, and the coordinator
(the only writer of the real gradebook) puts exactly those fields into it:

- the student, and the submission with its timestamp (``Autograde.init_assignment``);
- per grade cell ``auto_score`` and ``needs_manual_grade`` (``SaveAutoGrades``);
- per comment ``auto_comment`` (``SaveAutoGrades``);
- per notebook ``late_submission_penalty`` (``AssignLatePenalties``).

Manual scores, manual comments and extra credit are never touched. Since the scratch gradebook
started as the real one, extensions, due dates and earlier manual grades weighed as they would have.

A state is ``{"timestamp": datetime or None, "notebooks": {name: {"late_submission_penalty": float
or None, "grades": {cell: (auto_score, needs_manual_grade)}, "comments": {cell: auto_comment}}}}``.
"""


def submission_state(db_url, assignment, student):
    """What autograde wrote for this submission in the gradebook at db_url; None if it wrote no submission."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry:
            return None
        return {
            "timestamp": submission.timestamp,
            "notebooks": {
                notebook.name: {
                    "late_submission_penalty": notebook.late_submission_penalty,
                    "grades": {grade.name: (grade.auto_score, grade.needs_manual_grade) for grade in notebook.grades},
                    "comments": {comment.name: comment.auto_comment for comment in notebook.comments},
                }
                for notebook in submission.notebooks
            },
        }


def write_autograded(gradebook, assignment, student, state):
    """Write state (what autograde wrote in a scratch gradebook) into gradebook, an open nbgrader Gradebook."""
    gradebook.update_or_create_student(student)
    timestamp = {"timestamp": state["timestamp"]} if state["timestamp"] is not None else {}
    submission = gradebook.update_or_create_submission(assignment, student, **timestamp)
    for notebook in submission.notebooks:
        written = state["notebooks"].get(notebook.name)
        if written is None:
            continue
        notebook.late_submission_penalty = written["late_submission_penalty"]
        for grade in notebook.grades:
            grade.auto_score, grade.needs_manual_grade = written["grades"][grade.name]
        for comment in notebook.comments:
            comment.auto_comment = written["comments"][comment.name]
    gradebook.db.commit()


def write_unfinished(gradebook, assignment, student, timestamp, submitted_notebooks):
    """A submission no grading process reported on: what stock autograde writes before it converts.

    The student, the submission with its timestamp (None: keep what is there), and zero for every
    notebook not among submitted_notebooks (names without .ipynb), as Autograde.init_assignment
    does; the submitted notebooks' scores stay as they were, as when stock fails on them.
    """
    gradebook.update_or_create_student(student)
    extra = {"timestamp": timestamp} if timestamp else {}
    submission = gradebook.update_or_create_submission(assignment, student, **extra)
    for notebook in submission.notebooks:
        if notebook.name not in submitted_notebooks:
            for grade in notebook.grades:
                grade.auto_score, grade.needs_manual_grade = 0, False
    gradebook.db.commit()
