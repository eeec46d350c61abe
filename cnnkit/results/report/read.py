"""Reading the course for the report: the gradebook, the autograded notebooks, the kit's records.

Everything here is read as data: the verdict record of each check cell, the error outputs the
executor left (their ``ename``), the integrity record, the admission record and the batch's
outcomes file (each read by its own module in cnnkit.records). No text is parsed back into facts.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from cnnkit.records import admission, integrity, outcomes, verdict
from cnnkit.results import scores
from cnnkit.spec.parts import FUNCTIONS

PROGRESS_EVERY = 25  # one progress line per this many submissions read

# Error names the executors leave in a cell's outputs (and a verdict's "did_not_run" detail). Stock nbgrader's
# Execute appends CellTimeoutError (after the kernel's own KeyboardInterrupt); cnnkit.grading.execute's
# ContainedExecute adds KernelDied and NotRun.
TIMEOUT_ERRORS = {"CellTimeoutError"}
INTERRUPT_ERRORS = {"CellTimeoutError", "KeyboardInterrupt"}  # in a check cell, an interrupt means the timeout
CRASH_ERRORS = {"DeadKernelError", "KernelDied"}
PROBLEM_ORDER = ("crash", "timeout", "check did not run", "not autograded")
# The problem kind of a submission the last batch did not grade, by its outcome status (others: crash).
OUTCOME_PROBLEMS = {"timed out": "timeout", "refused": "not autograded"}


class ReportError(Exception):
    """A problem the instructor can fix; the message says what to do next."""


@dataclass
class Problem:
    """Something that kept a submission from being graded normally."""

    student: str
    kind: str  # one of PROBLEM_ORDER
    where: str  # cell(s) or "notebook"
    detail: str


@dataclass
class Submission:
    """What the autograded notebooks say about one student."""

    student: str
    graded: bool = False  # at least one autograded notebook was read
    verdicts: dict = field(default_factory=dict)  # function -> verdict record (cnnkit.records.verdict)
    problems: list = field(default_factory=list)
    flags: list = field(default_factory=list)  # integrity flags (cnnkit.records.integrity.Flag)


# ---------------------------------------------------------------- the course


def gradebook_scores(db_url, assignment):
    """cnnkit.results.scores.ClassScores of the assignment, read in one gradebook session."""
    found = scores.class_scores(db_url, assignment)
    if found is None:
        raise ReportError(
            f"the gradebook has no assignment {assignment!r}: run `make release` and `make autograde` first"
        )
    return found


def student_folders(root, step, assignment):
    """Students with a <step>/<student>/<assignment>/ folder (step: submitted or autograded)."""
    base = Path(root) / step
    if not base.is_dir():
        return []
    return sorted(folder.name for folder in base.iterdir() if (folder / assignment).is_dir())


# ---------------------------------------------------------------- one autograded notebook


def cell_name(cell, index):
    """A cell's grade_id (test_conv_forward, conv_forward), else its position and first line."""
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    if grade_id:
        return grade_id
    source = cell.get("source", "")
    lines = [line.strip() for line in source.splitlines() if line.strip() and not line.strip().startswith("#")]
    # The line calling one of the graded functions says most about a demo cell; else its first line.
    telling = next((line for line in lines if any(f"{name}(" in line for name in FUNCTIONS)), lines[0] if lines else "")
    return f"cell {index + 1}" + (f" ({shorten(telling, 40)})" if telling else "")


def shorten(text, limit):
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cell_verdict(cell):
    """The verdict record of a check cell (cnnkit.records.verdict), or None.

    Only a record of the shape the verifier writes counts (verdict.read), of one of the assignment's
    functions, in the check cell of its own function (grade_id test_<function>): anything else is not the kit's.
    """
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    for output in cell.get("outputs", []):
        record = verdict.read(output)
        if record is not None and record["function"] in FUNCTIONS and grade_id == f"test_{record['function']}":
            return record
    return None


def classify_error(ename, evalue):
    """(kind, detail) for an error output that stopped grading, or None for an ordinary error."""
    if ename in TIMEOUT_ERRORS:
        return "timeout", "interrupted: ran longer than the cell time limit (Execute.timeout)"
    if ename in CRASH_ERRORS:
        return "crash", f"the kernel died ({ename})"
    if ename == "NotRun":
        # ContainedExecute: cells after a spent time budget or too many kernel deaths. Its error output has
        # one name for both; only its evalue (shown as the detail) tells them apart.
        return ("timeout" if "budget" in evalue else "crash"), evalue
    return None


def classify_not_run(failure):
    """(kind, detail) for a check case that did not run (verdict kind "did_not_run"), or None."""
    if not isinstance(failure, dict) or failure.get("kind") != "did_not_run":
        return None
    error = str(failure.get("detail") or "")
    if not error:
        return "check did not run", "the check cell stopped early"
    if error in INTERRUPT_ERRORS:
        return "timeout", "interrupted: the check ran longer than the cell time limit (Execute.timeout)"
    if error in CRASH_ERRORS:
        return "crash", f"the kernel died ({error})"
    # NotRun, NameError ...: the failure's own words for people (shown as they are, not parsed).
    return "check did not run", str(failure.get("message") or error)


def cell_problems(cell, index):
    """{(kind, detail)} found in one cell: its error outputs, or its verdict's cases that did not run."""
    found = set()
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            found.add(classify_error(output.get("ename"), str(output.get("evalue", ""))))
    verdict = cell_verdict(cell)
    failures = (verdict or {}).get("failures", [])
    for failure in failures if isinstance(failures, list) else []:
        found.add(classify_not_run(failure))
    found.discard(None)
    return found


def notebook_problems(student, nb):
    """Problems in one notebook, one per (kind, detail), naming every cell where it happened."""
    cells = defaultdict(list)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            for key in sorted(cell_problems(cell, index)):
                cells[key].append(cell_name(cell, index))
    return [Problem(student, kind, ", ".join(where), detail) for (kind, detail), where in cells.items()]


def notebook_verdicts(nb):
    """function -> verdict record of every check cell in the notebook."""
    verdicts = {}
    for cell in nb.cells:
        verdict = cell_verdict(cell) if cell.cell_type == "code" else None
        if verdict:
            verdicts[verdict["function"]] = verdict
    return verdicts


# ---------------------------------------------------------------- one student, every student


def read_submission(root, assignment, student, in_gradebook, not_graded):
    """Verdicts, problems and integrity flags of one student's autograded submission.

    not_graded: student -> cnnkit.records.outcomes.Entry of the submissions the last batch did not grade.
    """
    submission = Submission(student)
    graded_folder = Path(root) / "autograded" / student / assignment
    submission.flags = integrity.read(graded_folder) + [
        {"reason": f"moved aside before grading: {note.get('why')}", "where": str(note.get("name"))}
        for note in admission.notes_of(root, student, assignment)
    ]
    present = {path.name: path for path in graded_folder.glob("*.ipynb")} if graded_folder.is_dir() else {}
    for name in sorted(present):
        nb = nbformat.read(str(present[name]), as_version=4)
        submission.verdicts.update(notebook_verdicts(nb))
        submission.problems.extend(notebook_problems(student, nb))
    submission.graded = bool(present)
    submission.problems.extend(missing_notebook_problems(root, assignment, student, present, in_gradebook, not_graded))
    return submission


def missing_notebook_problems(root, assignment, student, present, in_gradebook, not_graded):
    """A submitted notebook without its autograded copy: nbgrader gave up on it (or never ran)."""
    submitted = Path(root) / "submitted" / student / assignment
    expected = {path.name for path in submitted.glob("*.ipynb")} if submitted.is_dir() else set()
    if not expected and not present:
        expected = {f"{assignment}.ipynb"}  # in the gradebook, but neither folder has the notebook
    problems = []
    outcome = not_graded.get(student)
    for name in sorted(expected - set(present)):
        if outcome is not None:
            kind = OUTCOME_PROBLEMS.get(outcome.status, "crash")
            problems.append(Problem(student, kind, name, f"no autograded notebook: {outcome.reason}"))
        elif in_gradebook:
            detail = f"nbgrader could not finish it (a dead kernel?): see {outcomes.LOG_FILE}"
            problems.append(Problem(student, "crash", name, f"no autograded notebook: {detail}"))
        else:
            problems.append(
                Problem(student, "not autograded", name, "submitted but not autograded: run make autograde")
            )
    return problems


def read_submissions(root, assignment, gradebook_students, progress):
    """Every student's Submission, with a progress line per PROGRESS_EVERY students.

    Students: those nbgrader recorded a submission for (gradebook_students), plus any with a
    folder in submitted/ or autograded/, so a submission nbgrader never got to is listed too.
    """
    students = sorted(
        set(gradebook_students)
        | set(student_folders(root, "autograded", assignment))
        | set(student_folders(root, "submitted", assignment))
    )
    not_graded = outcomes.not_graded_reasons(root, assignment)
    in_gradebook = set(gradebook_students)
    submissions = []
    for count, student in enumerate(students, 1):
        submissions.append(read_submission(root, assignment, student, student in in_gradebook, not_graded))
        if count % PROGRESS_EVERY == 0 or count == len(students):
            progress(f"  read {count} of {len(students)} submissions")
    return submissions
