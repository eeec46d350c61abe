"""The instructor report: what a class got right and wrong, after an autograde run.

    python -m cnnkit.results.report [--course ROOT] [--assignment NAME] [--db URL]

writes ``reports/<assignment>/`` under the course root (never committed):

- ``index.html``: one self-contained page (inline style, images referenced relatively);
- ``scores_core.png``, ``scores_optional.png``: histograms of the scores, core and optional apart;
- ``function_pass_rates.png``, ``case_pass_rates.png``, ``mistakes.png``: pass rates and frequent mistakes;
- ``overview.png``: both histograms, pass rates per function and the top mistakes on one picture;
- ``students.csv``, ``function_pass_rates.csv``, ``case_pass_rates.csv``, ``mistakes.csv``,
  ``problems.csv`` (timeouts, crashes, checks that did not run), ``integrity.csv``.

Scores come from the gradebook (exactly what nbgrader recorded); everything else from the
autograded notebooks: each check cell's verdict (``cnnkit.grading.verify.VERDICT_MIME``) and the error
outputs the executor left. Integrity flags are read from an optional per-student file written by an
integrity checker (see ``INTEGRITY_FILE``). The report holds hidden-case descriptions and every
student's scores: it is for instructors only.
"""

import csv
import html
import importlib.util
import json
import re
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from cnnkit import course
from cnnkit.grading.verify import VERDICT_MIME, find_grade_call
from cnnkit.results import scores
from cnnkit.spec.parts import FUNCTIONS, function_of, part_of

# The integrity checker's hand-off: autograded/<student>/<assignment>/integrity.json, holding
# {"flags": [{"reason": "..."}, ...]}. "reason" is required; any other keys of a flag (e.g. "where")
# are shown as details, other top-level keys (e.g. "student") are ignored. No file: no flags.
INTEGRITY_FILE = "integrity.json"
PROGRESS_EVERY = 25  # one progress line per this many submissions read
TOP_MISTAKES = 15  # bars in mistakes.png (the CSV and the page list them all)
CORE_COLOR, OPTIONAL_COLOR = "#4c72b0", "#8172b3"
MISTAKE_COLORS = {"diagnosed": "#dd8452", "failure": "#8c8c8c"}
MISTAKE_KINDS = {"diagnosed": "mistake named by the checker", "failure": "kind of failure (no mistake named)"}

# Error names the executors leave in a cell's outputs. Stock nbgrader's Execute appends CellTimeoutError
# (after the kernel's own KeyboardInterrupt); cnnkit.grading.execute.ContainedExecute adds KernelDied and NotRun.
TIMEOUT_ERRORS = {"CellTimeoutError"}
INTERRUPT_ERRORS = {"CellTimeoutError", "KeyboardInterrupt"}  # in a check cell, an interrupt means the timeout
CRASH_ERRORS = {"DeadKernelError", "KernelDied"}
PROBLEM_ORDER = ("crash", "timeout", "check did not run", "not autograded")

# "Looks like <what happened>. Hint: ..." is how cnn_checks names a known mistake.
DIAGNOSIS = re.compile(r"Looks like (.+?)\. Hint:", re.DOTALL)
# How nbgrader's autograde log reports a submission it gave up on (its notebook is then deleted).
FAILED_START = re.compile(r"There was an error processing assignment: (.+)$")
UNRESPONSIVE = re.compile(r"While processing assignment (.+?), the kernel became unresponsive")
EXCEPTION_LINE = re.compile(r"^\s+(?:[\w]+\.)*(\w+(?:Error|Exception|Interrupt))(?::\s*(.*))?$")
DID_NOT_RUN = re.compile(r"the test did not run to this case: (\w+): ?(.*)")
# Failures without a named mistake, grouped by kind; first match wins, so the specific come first.
FAILURE_KINDS = (
    (re.compile(r"is not implemented yet"), "not implemented"),
    (
        re.compile(r"the test did not run to this case: (?:KeyboardInterrupt|CellTimeoutError)"),
        "did not run: timed out",
    ),
    (re.compile(r"the test did not run to this case: (?:KernelDied|DeadKernelError)"), "did not run: the kernel died"),
    (re.compile(r"the test did not run to this case: (\w+)"), "did not run: {0}"),
    (re.compile(r"the test did not run"), "did not run"),
    (re.compile(r"more than one result was recorded"), "more than one result recorded for a case"),
    (re.compile(r"\braised (\w+)"), "raised {0}"),
    (re.compile(r"changed its input"), "changed its input in place"),
    (re.compile(r"^cache|cache's|cache must"), "wrong cache"),
    (re.compile(r"has shape"), "wrong shape"),
    (re.compile(r"contains nan or inf"), "nan or inf in the result"),
    (re.compile(r"has dtype|must hold True/False"), "wrong dtype"),
    (re.compile(r"must return|must be a numpy array|must be a number|came back as"), "wrong return type"),
    (re.compile(r"Every entry of \S+ is 0"), "wrong values: all zeros"),
    (re.compile(r"is wrong at|differs at|, expected "), "wrong values"),
)


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
    verdicts: dict = field(default_factory=dict)  # function -> verdict (VERDICT_MIME payload)
    problems: list = field(default_factory=list)
    flags: list = field(default_factory=list)  # integrity flags: dicts with "reason"


# ---------------------------------------------------------------- reading the course


def db_url_for(root):
    return f"sqlite:///{Path(root) / 'gradebook.db'}"


def gradebook_state(db_url, assignment):
    """(student -> {grade_id: score}, grade_id -> max points), read in one gradebook session.

    The scores are exactly what nbgrader recorded (as cnnkit.results.scores.cell_scores reads them);
    one session rather than one per student keeps a class of hundreds fast.
    """
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gradebook:
        try:
            found = gradebook.find_assignment(assignment)
        except MissingEntry:
            raise ReportError(
                f"the gradebook has no assignment {assignment!r}: run `make release` and `make autograde` first"
            ) from None
        maxima = {cell.name: cell.max_score for notebook in found.notebooks for cell in notebook.grade_cells}
        recorded = {
            submission.student.id: {
                grade.cell.name: grade.score for notebook in submission.notebooks for grade in notebook.grades
            }
            for submission in found.submissions
        }
    return recorded, maxima


def student_folders(root, step, assignment):
    """Students with a <step>/<student>/<assignment>/ folder (step: submitted or autograded)."""
    base = Path(root) / step
    if not base.is_dir():
        return []
    return sorted(folder.name for folder in base.iterdir() if (folder / assignment).is_dir())


def crash_reasons_from_log(log_path):
    """student -> the error nbgrader logged when it gave up on that student's notebook.

    Stock nbgrader deletes the autograded notebook of a submission whose kernel died; the
    reason survives only in the autograde log (``logs/autograde.log`` when run through the kit).
    """
    path = Path(log_path)
    if not path.is_file():
        return {}
    reasons, student = {}, None
    for line in path.read_text(errors="replace").splitlines():
        match = FAILED_START.search(line) or UNRESPONSIVE.search(line)
        if match:
            student = Path(match.group(1).strip()).parent.name  # .../submitted/<student>/<assignment>
            if match.re is UNRESPONSIVE:
                reasons[student] = "the kernel became unresponsive and could not be interrupted"
        elif student and line.startswith("[") and "Traceback" not in line:
            student = None  # the next log record: this traceback is over
        elif student and EXCEPTION_LINE.match(line):
            # The last exception line of the traceback is the one that stopped grading.
            name, message = EXCEPTION_LINE.match(line).group(1, 2)
            reasons[student] = f"{name}: {message}" if message else name
    return reasons


def case_catalogue(root, assignment):
    """function -> [(description, 'public' | 'hidden'), ...] of every case, from the instructor's files.

    Verdicts describe only the cases that failed; this names the ones nobody failed too.
    Returns {} when the source is not there (the report then says "case N").
    """
    folder = Path(root) / "source" / assignment
    try:
        spec = importlib.util.spec_from_file_location("cnnkit_report_checks", folder / "cnn_checks.py")
        checks = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(checks)
        catalogue = {}
        for path in sorted(folder.glob("*.ipynb")):
            for cell in nbformat.read(str(path), as_version=4).cells:
                call = find_grade_call(cell.source) if cell.cell_type == "code" else None
                if call and call[0] in checks.PUBLIC_CASES:
                    name, hidden = call
                    public = [(checks.describe_case(name, case), "public") for case in checks.PUBLIC_CASES[name]]
                    catalogue[name] = public + [(checks.describe_case(name, case), "hidden") for case in hidden]
        return catalogue
    except Exception:  # the report must not fail because the source moved; it just says "case N"
        return {}


# ---------------------------------------------------------------- reading one autograded notebook


def cell_name(cell, index):
    """A cell's grade_id (test_conv_forward, conv_forward), else its position and first line."""
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
    if grade_id:
        return grade_id
    lines = [line.strip() for line in cell.source.splitlines() if line.strip() and not line.strip().startswith("#")]
    # The line calling one of the graded functions says most about a demo cell; else its first line.
    telling = next((line for line in lines if any(f"{name}(" in line for name in FUNCTIONS)), lines[0] if lines else "")
    return f"cell {index + 1}" + (f" ({_shorten(telling, 40)})" if telling else "")


def cell_verdict(cell):
    for output in cell.get("outputs", []):
        verdict = output.get("data", {}).get(VERDICT_MIME) if output.get("output_type") == "display_data" else None
        if isinstance(verdict, dict) and verdict.get("function"):
            return verdict
    return None


def classify_error(ename, evalue):
    """(kind, detail) for an error output that stopped grading, or None for an ordinary error."""
    if ename in TIMEOUT_ERRORS:
        return "timeout", "interrupted: ran longer than the cell time limit (Execute.timeout)"
    if ename in CRASH_ERRORS:
        return "crash", f"the kernel died ({ename})"
    if ename == "NotRun":  # ContainedExecute: cells after a spent time budget or too many kernel deaths
        return ("timeout" if "budget" in evalue else "crash"), evalue
    return None


def classify_did_not_run(message):
    """(kind, detail) for a check case that did not run (from its verdict message), or None."""
    if not message.startswith("the test did not run"):
        return None
    match = DID_NOT_RUN.match(message)
    if not match:
        return "check did not run", "the check cell stopped early"
    ename, evalue = match.group(1), match.group(2).strip()
    if ename in INTERRUPT_ERRORS:
        return "timeout", "interrupted: the check ran longer than the cell time limit (Execute.timeout)"
    return classify_error(ename, evalue) or ("check did not run", f"{ename}: {evalue}".rstrip(": "))


def cell_problems(cell, index):
    """{(kind, detail)} found in one cell: its error outputs, or its verdict's cases that did not run."""
    found = set()
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            found.add(classify_error(output.get("ename"), str(output.get("evalue", ""))))
    verdict = cell_verdict(cell)
    for failure in (verdict or {}).get("failures", []):
        found.add(classify_did_not_run(str(failure.get("message", ""))))
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
    """function -> verdict of every check cell in the notebook."""
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
    if not path.is_file():
        return []
    try:
        flags = json.loads(path.read_text())["flags"]
        if not isinstance(flags, list) or not all(isinstance(f, dict) and f.get("reason") for f in flags):
            raise ValueError('"flags" must be a list of objects, each with a "reason"')
        return flags
    except (OSError, ValueError, KeyError, TypeError) as error:
        return [{"reason": f"{INTEGRITY_FILE} could not be read ({error}); see {path}"}]


def read_submission(root, assignment, student, in_gradebook, crash_reasons):
    """Verdicts, problems and integrity flags of one student's autograded submission."""
    submission = Submission(student)
    graded_folder = Path(root) / "autograded" / student / assignment
    submission.flags = integrity_flags(graded_folder)
    present = {path.name: path for path in graded_folder.glob("*.ipynb")} if graded_folder.is_dir() else {}
    for name in sorted(present):
        nb = nbformat.read(str(present[name]), as_version=4)
        submission.verdicts.update(notebook_verdicts(nb))
        submission.problems.extend(notebook_problems(student, nb))
    submission.graded = bool(present)
    submission.problems.extend(
        missing_notebook_problems(root, assignment, student, present, in_gradebook, crash_reasons)
    )
    return submission


def missing_notebook_problems(root, assignment, student, present, in_gradebook, crash_reasons):
    """A submitted notebook without its autograded copy: nbgrader gave up on it (or never ran)."""
    submitted = Path(root) / "submitted" / student / assignment
    expected = {path.name for path in submitted.glob("*.ipynb")} if submitted.is_dir() else set()
    if not expected and not present:
        expected = {f"{assignment}.ipynb"}  # in the gradebook, but neither folder has the notebook
    problems = []
    for name in sorted(expected - set(present)):
        if in_gradebook:
            detail = crash_reasons.get(student, "nbgrader could not finish it (a dead kernel?): see logs/autograde.log")
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
    reasons = crash_reasons_from_log(Path(root) / "logs" / "autograde.log")
    in_gradebook = set(gradebook_students)
    submissions = []
    for count, student in enumerate(students, 1):
        submissions.append(read_submission(root, assignment, student, student in in_gradebook, reasons))
        if count % PROGRESS_EVERY == 0 or count == len(students):
            progress(f"  read {count} of {len(students)} submissions")
    return submissions


# ---------------------------------------------------------------- aggregating


def failure_labels(message):
    """[(kind, label)] of one failing case: its named mistakes, else the kind of failure."""
    diagnoses = list(dict.fromkeys(" ".join(d.split()) for d in DIAGNOSIS.findall(message)))
    if diagnoses:
        return [("diagnosed", diagnosis) for diagnosis in diagnoses]
    for pattern, label in FAILURE_KINDS:
        match = pattern.search(message)
        if match:
            return [("failure", label.format(*match.groups()))]
    return [("failure", "other")]


def mistake_rows(submissions):
    """Most frequent mistakes first: function, kind, mistake, students, cases, example students."""
    students, cases = defaultdict(set), defaultdict(int)
    for submission in submissions:
        for name, verdict in submission.verdicts.items():
            for failure in verdict.get("failures", []):
                for kind, label in failure_labels(str(failure.get("message", ""))):
                    students[(name, kind, label)].add(submission.student)
                    cases[(name, kind, label)] += 1
    rows = []
    for (name, kind, label), who in students.items():
        rows.append(
            {
                "function": name,
                "kind": kind,
                "mistake": label,
                "students": len(who),
                "cases": cases[(name, kind, label)],
                "example_students": " ".join(sorted(who)[:5]),
            }
        )
    return sorted(rows, key=lambda r: (-r["students"], -r["cases"], r["kind"], _order(r["function"]), r["mistake"]))


def _order(function):
    return FUNCTIONS.index(function) if function in FUNCTIONS else len(FUNCTIONS)


def function_rows(submissions, maxima):
    """Per function: how many graded students got full marks, and the share of cases passed."""
    rows = []
    for name in FUNCTIONS:
        verdicts = [s.verdicts[name] for s in submissions if name in s.verdicts]
        passed = sum(v["passed"] for v in verdicts)
        total = sum(v["total"] for v in verdicts)
        full = sum(v["passed"] == v["total"] for v in verdicts)
        rows.append(
            {
                "function": name,
                "part": part_of(f"test_{name}"),
                "points": maxima.get(f"test_{name}", ""),
                "graded": len(verdicts),
                "full_marks": full,
                "full_marks_rate": _rate(full, len(verdicts)),
                "cases_passed": passed,
                "cases_total": total,
                "case_pass_rate": _rate(passed, total),
                "mean_score": round(statistics.fmean(v["score"] for v in verdicts), 2) if verdicts else "",
            }
        )
    return rows


def _rate(part, whole):
    return round(part / whole, 4) if whole else ""


def case_rows(submissions, catalogue):
    """Per function and case: description, public or hidden, and how many graded students passed it."""
    rows = []
    for name in FUNCTIONS:
        verdicts = [s.verdicts[name] for s in submissions if name in s.verdicts]
        known = catalogue.get(name, [])
        count = max([v["total"] for v in verdicts] + [len(known)])
        failed, described = defaultdict(int), {}
        for verdict in verdicts:
            for failure in verdict.get("failures", []):
                failed[failure["case"]] += 1
                described.setdefault(failure["case"], failure.get("description", ""))
        for case in range(1, count + 1):
            description, visibility = known[case - 1] if case <= len(known) else ("", "")
            graded = sum(v["total"] >= case for v in verdicts)
            rows.append(
                {
                    "function": name,
                    "case": case,
                    "description": described.get(case) or description or f"case {case}",
                    "visibility": visibility,
                    "passed": graded - failed[case],
                    "graded": graded,
                    "pass_rate": _rate(graded - failed[case], graded),
                }
            )
    return rows


def student_rows(submissions, recorded):
    """Per student: the gradebook's scores (core, optional, total, each function) and flags."""
    rows = []
    for submission in submissions:
        cells = recorded.get(submission.student)
        row = {"student": submission.student}
        if cells is None:  # submitted, never autograded: no scores to show
            row.update({"core": "", "optional": "", "total": ""}, **{name: "" for name in FUNCTIONS})
        else:
            totals = scores.part_totals(cells)
            row.update(core=_points(totals["core"]), optional=_points(totals["optional"]))
            row["total"] = _points(totals["core"] + totals["optional"])
            by_function = {function_of(grade_id): value for grade_id, value in cells.items() if function_of(grade_id)}
            row.update({name: _points(by_function.get(name)) for name in FUNCTIONS})
        row["flags"] = "; ".join(student_flags(submission))
        rows.append(row)
    return rows


def _points(value):
    """A score as the gradebook has it, rounded to 0.01 like the partial credit ('' when missing)."""
    return "" if value is None else round(float(value), 2)


def student_flags(submission):
    """Short labels for the per-student table: crash, timeout, ... and integrity reasons."""
    labels = [f"{p.kind} ({p.where})" for p in sorted(submission.problems, key=_problem_order)]
    return labels + [f"integrity: {flag['reason']}" for flag in submission.flags]


def _problem_order(problem):
    return (PROBLEM_ORDER.index(problem.kind), problem.student, problem.where)


def problem_rows(submissions):
    problems = sorted((p for s in submissions for p in s.problems), key=_problem_order)
    return [{"student": p.student, "kind": p.kind, "where": p.where, "detail": p.detail} for p in problems]


def integrity_rows(submissions):
    """One row per flag: the reason, and any other keys the checker wrote, as JSON."""
    rows = []
    for submission in submissions:
        for flag in submission.flags:
            details = {key: value for key, value in flag.items() if key != "reason"}
            rows.append(
                {
                    "student": submission.student,
                    "reason": flag["reason"],
                    "details": json.dumps(details, sort_keys=True) if details else "",
                }
            )
    return rows


def part_maxima(maxima):
    """{'core': points, 'optional': points} from grade_id -> max points."""
    totals = {"core": 0.0, "optional": 0.0}
    for grade_id, value in maxima.items():
        if part_of(grade_id):
            totals[part_of(grade_id)] += value or 0.0
    return totals


# ---------------------------------------------------------------- writing files


def write_csv(path, rows, fields):
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def save(figure, path):
    """PNG through the Agg canvas directly: no pyplot, no global backend switch, no display needed."""
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=110)


def new_figure(width, height):
    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.add_subplot()


def draw_histogram(axes, values, maximum, title, color):
    """Histogram of one part's scores, bins of a tenth of the maximum, with the mean marked."""
    maximum = maximum or max(values + [1.0])
    if values:
        axes.hist(values, bins=[maximum * i / 10 for i in range(11)], color=color, edgecolor="white")
        mean = statistics.fmean(values)
        axes.axvline(mean, color="#333333", linestyle="--", linewidth=1.2)
        where = {"xycoords": ("data", "axes fraction"), "xytext": (4, -14), "textcoords": "offset points"}
        axes.annotate(f"mean {mean:.1f}", (mean, 1), **where)
    else:
        axes.text(0.5, 0.5, "no scores yet", ha="center", va="center", transform=axes.transAxes)
    axes.set(xlim=(0, maximum), xlabel=f"score (out of {maximum:g})", ylabel="students")
    axes.set_title(f"{title}: {len(values)} students", fontsize=11)
    axes.yaxis.get_major_locator().set_params(integer=True)


def draw_function_rates(axes, rows):
    """Horizontal bars per function: share of cases passed, and share of students with full marks."""
    labels = [r["function"] + (" (opt.)" if r["part"] == "optional" else "") for r in rows][::-1]
    cases = [r["case_pass_rate"] or 0 for r in rows][::-1]
    full = [r["full_marks_rate"] or 0 for r in rows][::-1]
    positions = range(len(rows))
    axes.barh([p + 0.2 for p in positions], cases, height=0.4, color="#4c72b0", label="cases passed")
    axes.barh([p - 0.2 for p in positions], full, height=0.4, color="#55a868", label="students with full marks")
    for p, (c, f) in enumerate(zip(cases, full)):
        axes.text(c + 0.01, p + 0.2, f"{c:.0%}", va="center", fontsize=8)
        axes.text(f + 0.01, p - 0.2, f"{f:.0%}", va="center", fontsize=8)
    axes.set(yticks=list(positions), yticklabels=labels, xlim=(0, 1.15))
    axes.xaxis.set_major_formatter(lambda x, _: f"{x:.0%}")
    # Below the axes: inside, it would cover the bars of whichever function passes most.
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=2, fontsize=8, frameon=False)
    axes.set_title("Pass rate per function (graded students)", fontsize=11)


def draw_case_rates(axes, rows):
    """A grid, function by case number, coloured and labelled by the share of students who passed.

    Returns the image, for a colour bar.
    """
    import numpy as np

    cases = max([r["case"] for r in rows] + [1])
    grid = np.full((len(FUNCTIONS), cases), np.nan)
    for r in rows:
        if r["pass_rate"] != "":
            grid[FUNCTIONS.index(r["function"]), r["case"] - 1] = r["pass_rate"]
    image = axes.imshow(np.ma.masked_invalid(grid), cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    for (i, j), value in np.ndenumerate(grid):
        if not np.isnan(value):
            axes.text(j, i, f"{value:.0%}", ha="center", va="center", fontsize=7.5)
    axes.set(xticks=range(cases), xticklabels=[str(c + 1) for c in range(cases)], yticks=range(len(FUNCTIONS)))
    axes.set_yticklabels(FUNCTIONS, fontsize=9)
    axes.set_xlabel("case (see case_pass_rates.csv for what each one is)")
    axes.set_title("Share of students passing each case", fontsize=11)
    return image


def draw_mistakes(axes, rows, top=TOP_MISTAKES):
    """The `top` most frequent mistakes, by number of students; named mistakes in orange."""
    shown = rows[:top][::-1]
    if not shown:
        axes.text(0.5, 0.5, "no failing cases", ha="center", va="center", transform=axes.transAxes)
        axes.set_axis_off()
    else:
        labels = [_shorten(f"{r['function']}: {r['mistake']}", 60) for r in shown]
        colors = [MISTAKE_COLORS[r["kind"]] for r in shown]
        axes.barh(range(len(shown)), [r["students"] for r in shown], color=colors)
        for p, r in enumerate(shown):
            axes.text(r["students"], p, f" {r['students']} ({r['cases']} cases)", va="center", fontsize=8)
        axes.set(yticks=range(len(shown)), xlabel="students")
        axes.set_yticklabels(labels, fontsize=8)
        axes.set_xlim(0, max(r["students"] for r in shown) * 1.35)
        axes.xaxis.get_major_locator().set_params(integer=True)
        kinds = [Patch(color=MISTAKE_COLORS[k], label=label) for k, label in MISTAKE_KINDS.items()]
        axes.legend(handles=kinds, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, fontsize=8, frameon=False)
    axes.set_title("Most frequent mistakes", fontsize=11)


def draw_charts(out, tables, maxima):
    """Every PNG of the report, plus overview.png: four of them on one picture."""
    parts = part_maxima(maxima)
    core, optional = score_lists(tables["students"])
    figure, axes = new_figure(5.6, 3.4)
    draw_histogram(axes, core, parts["core"], "Core", CORE_COLOR)
    save(figure, out / "scores_core.png")
    figure, axes = new_figure(5.6, 3.4)
    draw_histogram(axes, optional, parts["optional"], "Optional", OPTIONAL_COLOR)
    save(figure, out / "scores_optional.png")
    figure, axes = new_figure(7.5, 4.2)
    draw_function_rates(axes, tables["functions"])
    save(figure, out / "function_pass_rates.png")
    cases = max([r["case"] for r in tables["cases"]] + [1])
    figure, axes = new_figure(max(6.0, 1.6 + 0.62 * cases), 4.2)
    figure.colorbar(draw_case_rates(axes, tables["cases"]), ax=axes, fraction=0.04, format=lambda x, _: f"{x:.0%}")
    save(figure, out / "case_pass_rates.png")
    figure, axes = new_figure(8.5, 1.0 + 0.34 * max(min(len(tables["mistakes"]), TOP_MISTAKES), 4))
    draw_mistakes(axes, tables["mistakes"])
    save(figure, out / "mistakes.png")
    draw_overview(out / "overview.png", tables, parts)


def draw_overview(path, tables, parts):
    """One picture for a slide or an e-mail: both histograms, pass rates per function, top mistakes."""
    figure = Figure(figsize=(13, 8.6), layout="constrained")
    # Two subfigures, so the long labels of the lower row do not squeeze the histograms above.
    top, bottom = figure.subfigures(2, 1, height_ratios=[1, 1.25])
    core_axes, optional_axes = top.subplots(1, 2)
    function_axes, mistake_axes = bottom.subplots(1, 2, width_ratios=[1, 1.25])
    core, optional = score_lists(tables["students"])
    draw_histogram(core_axes, core, parts["core"], "Core", CORE_COLOR)
    draw_histogram(optional_axes, optional, parts["optional"], "Optional", OPTIONAL_COLOR)
    draw_function_rates(function_axes, tables["functions"])
    draw_mistakes(mistake_axes, tables["mistakes"], top=10)
    problems = tables["problems"]
    counts = [
        f"{len(tables['students'])} students",
        f"{len({p['student'] for p in problems if p['kind'] == 'crash'})} crashed",
        f"{len({p['student'] for p in problems if p['kind'] == 'timeout'})} timed out",
        f"{len({r['student'] for r in tables['integrity']})} with integrity flags",
    ]
    figure.suptitle(f"{tables['assignment']}: " + ", ".join(counts), fontsize=13)
    save(figure, path)


def score_lists(rows):
    """(core scores, optional scores) of the students the gradebook has scores for."""
    scored = [r for r in rows if r["core"] != ""]
    return [r["core"] for r in scored], [r["optional"] for r in scored]


def _shorten(text, limit):
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------- the page

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.cards { display: flex; flex-wrap: wrap; gap: 0.8em; } .card { border: 1px solid #ddd; border-radius: 6px;
padding: 0.5em 0.9em; } .card b { display: block; font-size: 1.4em; } .muted { color: #666; font-size: 0.9em; }
img { max-width: 100%; border: 1px solid #eee; } .pair { display: flex; flex-wrap: wrap; gap: 1em; }
.pair img { max-width: 540px; } nav a { margin-right: 1em; }
"""


def html_table(rows, fields, numeric=(), shade=()):
    """An HTML table of rows (dicts); numeric fields right-aligned, shade fields coloured red to green."""
    if not rows:
        return "<p class=muted>None.</p>"
    head = "".join(f"<th>{html.escape(f)}</th>" for f in fields)
    body = []
    for row in rows:
        cells = []
        for name in fields:
            value = row.get(name, "")
            style = f' style="background:{_shade(value)}"' if name in shade and value != "" else ""
            shown = f"{value:.0%}" if name in shade and value != "" else value
            cells.append(f"<td{' class=n' if name in numeric else ''}{style}>{html.escape(str(shown))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _shade(rate):
    """Red (0%) through yellow to green (100%), light enough to read text on."""
    return f"hsl({int(120 * float(rate))}, 70%, 85%)"


def summary_cards(rows, submissions, problems, flags, maxima):
    core = [r["core"] for r in rows if r["core"] != ""]
    optional = [r["optional"] for r in rows if r["optional"] != ""]
    parts = part_maxima(maxima)
    cards = [
        ("students", len(submissions)),
        ("autograded notebooks read", sum(s.graded for s in submissions)),
        (f"median core /{parts['core']:g}", f"{statistics.median(core):g}" if core else "-"),
        (f"median optional /{parts['optional']:g}", f"{statistics.median(optional):g}" if optional else "-"),
        ("students crashed", len({p["student"] for p in problems if p["kind"] == "crash"})),
        ("students timed out", len({p["student"] for p in problems if p["kind"] == "timeout"})),
        ("students with integrity flags", len({f["student"] for f in flags})),
    ]
    return (
        "<div class=cards>" + "".join(f"<div class=card><b>{v}</b>{html.escape(k)}</div>" for k, v in cards) + "</div>"
    )


def scores_section(tables, assignment):
    return '<div class=pair><img src="scores_core.png" alt="core scores"><img src="scores_optional.png" alt="optional scores"></div>'


def functions_section(tables, assignment):
    note = "Counted over the students whose autograded notebook could be read. Full marks: every case passed."
    table = html_table(tables["functions"], FUNCTION_FIELDS, FUNCTION_FIELDS[2:-2], FUNCTION_FIELDS[-2:])
    return f'<img src="function_pass_rates.png" alt="pass rates"><p class=muted>{note}</p>{table}'


def mistakes_section(tables, assignment):
    note = (
        '<i>diagnosed</i>: the checker recognised the mistake (the "Looks like ..." of the feedback); '
        "<i>failure</i>: the kind of failure, when no mistake was named. Cases: failing cases in all."
    )
    table = html_table(tables["mistakes"], MISTAKE_FIELDS, ("students", "cases"))
    return f'<img src="mistakes.png" alt="mistakes"><p class=muted>{note}</p>{table}'


def cases_section(tables, assignment):
    table = html_table(tables["cases"], CASE_FIELDS, ("case", "passed", "graded"), ("pass_rate",))
    summary = "Every case (hidden ones included: this page is for instructors only)"
    return (
        f'<img src="case_pass_rates.png" alt="case pass rates"><details><summary>{summary}</summary>{table}</details>'
    )


def problems_section(tables, assignment):
    return PROBLEMS_NOTE + html_table(tables["problems"], PROBLEM_FIELDS)


def integrity_section(tables, assignment):
    note = INTEGRITY_NOTE.format(file=INTEGRITY_FILE, assignment=html.escape(assignment))
    return note + html_table(tables["integrity"], INTEGRITY_FIELDS)


def students_section(tables, assignment):
    table = html_table(tables["students"], STUDENT_FIELDS, STUDENT_FIELDS[1:-1])
    return f"<p class=muted>Scores exactly as in the gradebook.</p>{table}"


# anchor, title, how to build it: the page's sections in order.
SECTIONS = (
    ("scores", "Scores", scores_section),
    ("functions", "Pass rate per function", functions_section),
    ("mistakes", "Most frequent mistakes", mistakes_section),
    ("cases", "Pass rate per case", cases_section),
    ("problems", "Timeouts, crashes and checks that did not run", problems_section),
    ("integrity", "Integrity flags", integrity_section),
    ("students", "Students", students_section),
)


def render_page(assignment, tables, submissions, maxima):
    """index.html: every section, with the images and CSVs beside it referenced relatively."""
    title = html.escape(assignment)
    nav = "".join(f'<a href="#{anchor}">{html.escape(name)}</a>' for anchor, name, _ in SECTIONS)
    files = " · ".join(f'<a href="{name}">{name}</a>' for name in (*CSV_FILES, "overview.png"))
    cards = summary_cards(tables["students"], submissions, tables["problems"], tables["integrity"], maxima)
    body = "".join(f'<h2 id="{a}">{html.escape(n)}</h2>{build(tables, assignment)}' for a, n, build in SECTIONS)
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{title}: report</title>"
        f"<style>{STYLE}</style></head><body><h1>{title}: instructor report</h1>"
        f"<p class=muted>Generated {time.strftime('%Y-%m-%d %H:%M')} from the gradebook and autograded/. "
        f"Data: {files}</p><nav>{nav}</nav>{cards}{body}</body></html>"
    )


PROBLEMS_NOTE = (
    "<p class=muted><i>crash</i>: the kernel died (or nbgrader produced no autograded notebook); "
    "<i>timeout</i>: a cell was interrupted at the time limit; <i>check did not run</i>: a check cell stopped "
    "before its cases (e.g. the function is not defined); <i>not autograded</i>: submitted after the last "
    "autograde run.</p>"
)
INTEGRITY_NOTE = (
    "<p class=muted>Read from <code>autograded/&lt;student&gt;/{assignment}/{file}</code> when an integrity "
    'checker wrote one: <code>{{"flags": [{{"reason": "..."}}]}}</code>.</p>'
)
FUNCTION_FIELDS = [
    "function",
    "part",
    "points",
    "graded",
    "full_marks",
    "cases_passed",
    "cases_total",
    "mean_score",
    "full_marks_rate",
    "case_pass_rate",
]
STUDENT_FIELDS = ["student", "core", "optional", "total", *FUNCTIONS, "flags"]
CASE_FIELDS = ["function", "case", "description", "visibility", "passed", "graded", "pass_rate"]
MISTAKE_FIELDS = ["function", "kind", "mistake", "students", "cases", "example_students"]
PROBLEM_FIELDS = ["student", "kind", "where", "detail"]
INTEGRITY_FIELDS = ["student", "reason", "details"]
CSV_FILES = (
    "students.csv",
    "function_pass_rates.csv",
    "case_pass_rates.csv",
    "mistakes.csv",
    "problems.csv",
    "integrity.csv",
)


# ---------------------------------------------------------------- putting it together


def build_report(root=course.ROOT, assignment=course.ASSIGNMENT, db_url=None, progress=print):
    """Write reports/<assignment>/ under root; returns the path of its index.html.

    Raises ReportError (with what to do next) when there is nothing to report on yet.
    """
    root = Path(root)
    db_url = db_url or db_url_for(root)
    if db_url.startswith("sqlite:///") and not Path(db_url[len("sqlite:///") :]).is_file():
        raise ReportError(f"no gradebook at {db_url[len('sqlite:///') :]}: run `make autograde` first")
    recorded, maxima = gradebook_state(db_url, assignment)
    progress(f"Report on {assignment}: reading the autograded submissions")
    submissions = read_submissions(root, assignment, recorded, progress)
    if not any(s.graded for s in submissions):
        raise ReportError(
            f"no autograded submissions of {assignment} under {root / 'autograded'}: run `make autograde` first"
        )
    tables = {
        "assignment": assignment,
        "students": student_rows(submissions, recorded),
        "functions": function_rows(submissions, maxima),
        "cases": case_rows(submissions, case_catalogue(root, assignment)),
        "mistakes": mistake_rows(submissions),
        "problems": problem_rows(submissions),
        "integrity": integrity_rows(submissions),
    }
    out = root / "reports" / assignment
    out.mkdir(parents=True, exist_ok=True)
    progress("  writing the tables (CSV)")
    write_tables(out, tables)
    progress("  drawing the charts (PNG)")
    draw_charts(out, tables, maxima)
    index = out / "index.html"
    index.write_text(render_page(assignment, tables, submissions, maxima))
    return index


def write_tables(out, tables):
    write_csv(out / "students.csv", tables["students"], STUDENT_FIELDS)
    write_csv(out / "function_pass_rates.csv", tables["functions"], FUNCTION_FIELDS)
    write_csv(out / "case_pass_rates.csv", tables["cases"], CASE_FIELDS)
    write_csv(out / "mistakes.csv", tables["mistakes"], MISTAKE_FIELDS)
    write_csv(out / "problems.csv", tables["problems"], PROBLEM_FIELDS)
    write_csv(out / "integrity.csv", tables["integrity"], INTEGRITY_FIELDS)
