"""One record per submission after an autograde run: graded or not, why, and what to do.

nbgrader's own log says the same things in many lines per student; this is the summary an
instructor reads. A submission nbgrader failed on is shown with the cause the batch recorded
(its outcomes file, cnnkit.records.outcomes: the exception, the step and the cell), when there is one. ``summary(root)`` gives the records, ``render(records)`` the lines, and
``needs_attention(records)`` whether the run failed (nbgrader broke on a submission).
"""

from dataclasses import dataclass

import nbformat

from cnnkit import course
from cnnkit.records import admission, integrity, outcomes
from cnnkit.results import scores

NB_NAME = f"{course.ASSIGNMENT}.ipynb"

# Why a submission has the state it has (SubmissionRecord.reason).
GRADED = "graded"
SUBMISSION_PROBLEM = "submission problem"  # the submission itself must be fixed (renamed, resubmitted); scores 0
NBGRADER_FAILED = "nbgrader failed"  # the submission looks fine, but nbgrader did not grade it


@dataclass(frozen=True)
class SubmissionRecord:
    """What happened to one submission folder."""

    student: str
    graded: bool
    reason: str  # GRADED, SUBMISSION_PROBLEM or NBGRADER_FAILED
    text: str  # the line for people, after "<student>: "


def notebook_problem(folder, set_aside=()):
    """Why the submission folder cannot be graded as it is, with the fix; None when fine.

    set_aside: names the admission gate moved out of the folder before grading (a renamed notebook is one).
    """
    notebooks = sorted(path.name for path in folder.glob("*.ipynb"))
    if NB_NAME not in notebooks:
        others = notebooks + [name for name in set_aside if name.endswith(".ipynb")]
        if others:
            return (
                f"no {NB_NAME}, but {', '.join(others)}: rename it to {NB_NAME} in {folder} "
                f"and run `make autograde STUDENT={folder.parent.name}`"
            )
        found = sorted({*(p.name for p in folder.iterdir()), *set_aside})
        return f"no notebook was submitted (found: {', '.join(found) or 'nothing'})"
    try:
        nbformat.validate(nbformat.read(str(folder / NB_NAME), as_version=4))
    except Exception as error:  # nbformat raises several types for unreadable files
        return (
            f"{NB_NAME} is not a valid notebook ({type(error).__name__}: {str(error)[:80]}); "
            "ask the student to resubmit it"
        )
    return None


def extra_notebooks(folder, set_aside=()):
    """Notebooks besides the assignment's: in the folder, or set aside before grading (set_aside: names)."""
    found = [path.name for path in folder.glob("*.ipynb")] + [name for name in set_aside if name.endswith(".ipynb")]
    return sorted(name for name in found if name != NB_NAME)


def integrity_note(root, student):
    """'; N integrity flag(s): <first reason> ...' from the submission's integrity record ('' without flags).

    A record that cannot be read is a flag that says so (cnnkit.records.integrity.read).
    """
    folder = root / "autograded" / student / course.ASSIGNMENT
    flags = integrity.read(folder)
    if not flags:
        return ""
    first = str(flags[0]["reason"])[:200]
    return f"; {len(flags)} integrity flag(s): {first}{' ...' if len(flags) > 1 else ''} ({folder / integrity.FILE})"


def admission_note(root, student):
    """'; moved aside before grading: <name> (<why>), ...' from the admission record ('' when nothing was)."""
    notes = admission.notes_of(root, student, course.ASSIGNMENT)
    if not notes:
        return ""
    listed = ", ".join(f"{note.get('name')} ({note.get('why')})" for note in notes[:5])
    more = f" and {len(notes) - 5} more" if len(notes) > 5 else ""
    return f"; moved aside before grading: {listed}{more} ({admission.folder('.', student, course.ASSIGNMENT)}/)"


def graded_text(scored, maxima):
    """'graded: core 95.00/100, optional 50.00/50' (net of any late penalty, which is then named)."""
    totals = scored.totals
    text = f"graded: core {totals.core:.2f}/{maxima['core']:g}, optional {totals.optional:.2f}/{maxima['optional']:g}"
    text += {"extra_credit": " (extra credit)", "not_graded": " (not graded)"}.get(totals.mode, "")
    if totals.penalty:
        text += f" (late penalty {totals.penalty:g} taken off)"
    return text


def student_record(root, student, found, reasons=None):
    """The SubmissionRecord of one submission folder; found: the gradebook's ClassScores (or None).

    reasons: student -> cnnkit.records.outcomes.Entry of the submissions the last batch did not grade.
    """
    folder = root / "submitted" / student / course.ASSIGNMENT
    graded = (root / "autograded" / student / course.ASSIGNMENT / NB_NAME).exists()
    scored = found.students.get(student) if found else None
    set_aside = [str(note.get("name")) for note in admission.notes_of(root, student, course.ASSIGNMENT)]
    if graded and scored is not None:
        text = graded_text(scored, found.part_maxima)
        if extra_notebooks(folder, set_aside):
            text += f"; ignored extra notebook(s) {', '.join(extra_notebooks(folder, set_aside))}"
        notes = integrity_note(root, student) + admission_note(root, student)
        return SubmissionRecord(student, True, GRADED, text + notes)
    problem = notebook_problem(folder, set_aside) if folder.exists() else "no submission folder"
    if problem:
        text = f"NOT GRADED (scores 0): {problem}{admission_note(root, student)}"
        return SubmissionRecord(student, False, SUBMISSION_PROBLEM, text)
    outcome = (reasons or {}).get(student)
    why = outcome.reason if outcome is not None else "nbgrader failed on it"
    text = f"NOT GRADED: {why}; see {outcomes.LOG_FILE}, fix, then `make autograde STUDENT={student}`"
    return SubmissionRecord(student, False, NBGRADER_FAILED, text)


def summary(root=course.ROOT, db_url=None):
    """A SubmissionRecord for every submission folder under root/submitted, by student id."""
    submitted = root / "submitted"
    students = sorted(path.name for path in submitted.iterdir() if path.is_dir()) if submitted.exists() else []
    if not students:
        return []
    found = scores.class_scores(db_url or course.gradebook_url(root))
    reasons = outcomes.not_graded_reasons(root, course.ASSIGNMENT)
    return [student_record(root, student, found, reasons) for student in students]


def render(records):
    """The lines for people: '<student>: <text>' per record."""
    return [f"{record.student}: {record.text}" for record in records]


def needs_attention(records):
    """True when nbgrader failed on a submission that looked fine: the run failed (exit code 1).

    Submissions the student must fix (wrong name, no notebook) are listed, but do not fail the run.
    """
    return any(record.reason == NBGRADER_FAILED for record in records)


def run_report(root=course.ROOT, db_url=None):
    """The summary lines for every submission folder under root/submitted (render(summary(...)))."""
    return render(summary(root, db_url))
