"""Reading the course for the report: the gradebook, the autograded notebooks, the outcomes file.

Everything here is read as data: the verdict record of each check cell (VERDICT_MIME), the
error outputs the executor left (their ``ename``), the integrity checker's file and the
coordinator's ``logs/autograde-outcomes.json``. No text is parsed back into facts.
"""

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from cnnkit.grading.verify import VERDICT_MIME
from cnnkit.ingest import admit
from cnnkit.results import outcomes, scores
from cnnkit.spec.parts import FUNCTIONS

# The integrity checker's hand-off: autograded/<student>/<assignment>/integrity.json, holding
# {"flags": [{"reason": "..."}, ...]}. "reason" is required; any other keys of a flag (e.g. "where")
# are shown as details, other top-level keys (e.g. "student") are ignored. No file: no flags.
INTEGRITY_FILE = "integrity.json"
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
    verdicts: dict = field(default_factory=dict)  # function -> verdict record (VERDICT_MIME payload)
    problems: list = field(default_factory=list)
    flags: list = field(default_factory=list)  # integrity flags: dicts with "reason"


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


MAX_CASES = 1000  # more cases than any check cell has: a record claiming more is not the verifier's


def cell_verdict(cell):
    """The verdict record of a check cell (VERDICT_MIME), or None.

    Only the check cell of the record's own function counts (grade_id test_<function>), and only a
    record of the shape the verifier writes, within bounds: anything else is not the kit's.
    """
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    for output in cell.get("outputs", []):
        verdict = output.get("data", {}).get(VERDICT_MIME) if output.get("output_type") == "display_data" else None
        if well_formed(verdict) and grade_id == f"test_{verdict['function']}":
            return verdict
    return None


def well_formed(verdict):
    """True for a verdict record as cnnkit.grading.verify writes it, with counts in range."""
    if not isinstance(verdict, dict) or verdict.get("function") not in FUNCTIONS:
        return False
    passed, total = verdict.get("passed"), verdict.get("total")
    if not all(type(count) is int for count in (passed, total)) or not 0 <= passed <= total <= MAX_CASES:
        return False
    failures = verdict.get("failures", [])
    return (
        isinstance(failures, list)
        and len(failures) <= total
        and all(isinstance(f, dict) and type(f.get("case")) is int and 1 <= f["case"] <= total for f in failures)
    )


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


def integrity_flags(folder):
    """The integrity checker's flags for one submission (see INTEGRITY_FILE); [] when it left none.

    A file that cannot be read becomes a flag itself, so a broken hand-off is never silent.
    """
    path = Path(folder) / INTEGRITY_FILE
    if not path.is_file() or path.is_symlink():
        return []
    try:
        flags = json.loads(path.read_text())["flags"]
        if not isinstance(flags, list) or not all(isinstance(f, dict) and f.get("reason") for f in flags):
            raise ValueError('"flags" must be a list of objects, each with a "reason"')
        return flags
    except (OSError, ValueError, KeyError, TypeError) as error:
        return [{"reason": f"{INTEGRITY_FILE} could not be read ({error}); see {path}"}]


# ---------------------------------------------------------------- one student, every student


def read_submission(root, assignment, student, in_gradebook, not_graded):
    """Verdicts, problems and integrity flags of one student's autograded submission.

    not_graded: student -> cnnkit.results.outcomes.Outcome of the submissions the last batch did not grade.
    """
    submission = Submission(student)
    graded_folder = Path(root) / "autograded" / student / assignment
    submission.flags = integrity_flags(graded_folder) + [
        {"reason": f"moved aside before grading: {note.get('why')}", "where": str(note.get("name"))}
        for note in admit.admission_notes(root, student, assignment)
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
            detail = "nbgrader could not finish it (a dead kernel?): see logs/autograde.log"
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
