"""The report's tables, aggregated from the structured verdicts, the problems and the gradebook's scores.

Each table is a list of dicts (one per row) whose keys are the ``*_FIELDS`` below, in that order in
the CSV files and on the page.
"""

import json
import statistics
from collections import defaultdict

from cnnkit.results.report.read import CRASH_ERRORS, INTERRUPT_ERRORS, PROBLEM_ORDER
from cnnkit.spec.parts import FUNCTIONS, function_of, part_of

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
STUDENT_FIELDS = ["student", "core", "optional", "total", "late_penalty", *FUNCTIONS, "flags"]
CASE_FIELDS = ["function", "case", "description", "visibility", "passed", "graded", "pass_rate"]
MISTAKE_FIELDS = ["function", "kind", "mistake", "students", "cases", "example_students"]
PROBLEM_FIELDS = ["student", "kind", "where", "detail"]
INTEGRITY_FIELDS = ["student", "reason", "details"]
# Each CSV file of the report: the table it holds and its columns.
TABLE_FILES = {
    "students.csv": ("students", STUDENT_FIELDS),
    "function_pass_rates.csv": ("functions", FUNCTION_FIELDS),
    "case_pass_rates.csv": ("cases", CASE_FIELDS),
    "mistakes.csv": ("mistakes", MISTAKE_FIELDS),
    "problems.csv": ("problems", PROBLEM_FIELDS),
    "integrity.csv": ("integrity", INTEGRITY_FIELDS),
}

# The label of a failure that names no mistake, by the verdict's failure kind (cnnkit.grading.verify).
KIND_LABELS = {
    "not_implemented": "not implemented",
    "budget_spent": "did not run: time budget spent",
    "duplicate_results": "more than one result recorded for a case",
    "unreadable_result": "result record could not be read",
    "changed_input": "changed its input in place",
    "wrong_cache": "wrong cache",
    "wrong_shape": "wrong shape",
    "nan_or_inf": "nan or inf in the result",
    "wrong_dtype": "wrong dtype",
    "wrong_type": "wrong return type",
    "all_zeros": "wrong values: all zeros",
    "wrong_values": "wrong values",
}


# ---------------------------------------------------------------- mistakes


def kind_label(kind, detail=""):
    """The report's label of a failure kind, e.g. 'raised TypeError', 'did not run: timed out', 'other'."""
    detail = str(detail or "")
    if kind == "raised":
        return f"raised {detail}" if detail else "raised an exception"
    if kind == "did_not_run":
        if detail in INTERRUPT_ERRORS:
            return "did not run: timed out"
        if detail in CRASH_ERRORS:
            return "did not run: the kernel died"
        return f"did not run: {detail}" if detail else "did not run"
    return KIND_LABELS.get(kind, "other")


def failure_labels(failure):
    """[(kind, label)] of one failing case (a verdict's failure): its named mistakes, else its kind."""
    mistakes = failure.get("mistakes")
    named = [m.get("what") for m in mistakes if isinstance(m, dict)] if isinstance(mistakes, list) else []
    diagnoses = list(dict.fromkeys(" ".join(what.split()) for what in named if isinstance(what, str) and what.strip()))
    if diagnoses:
        return [("diagnosed", diagnosis) for diagnosis in diagnoses]
    return [("failure", kind_label(failure.get("kind"), failure.get("detail")))]


def verdict_failures(verdict):
    """The failures of a verdict record that are well-formed (dicts), in order."""
    failures = verdict.get("failures")
    return [failure for failure in failures if isinstance(failure, dict)] if isinstance(failures, list) else []


def mistake_rows(submissions):
    """Most frequent mistakes first: function, kind, mistake, students, cases, example students."""
    students, cases = defaultdict(set), defaultdict(int)
    for submission in submissions:
        for name, verdict in submission.verdicts.items():
            for failure in verdict_failures(verdict):
                for kind, label in failure_labels(failure):
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


# ---------------------------------------------------------------- pass rates


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
                "full_marks_rate": rate(full, len(verdicts)),
                "cases_passed": passed,
                "cases_total": total,
                "case_pass_rate": rate(passed, total),
                "mean_score": round(statistics.fmean(v["score"] for v in verdicts), 2) if verdicts else "",
            }
        )
    return rows


def rate(part, whole):
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
            for failure in verdict_failures(verdict):
                failed[failure.get("case")] += 1
                described.setdefault(failure.get("case"), (failure.get("description"), failure.get("visibility")))
        for case in range(1, count + 1):
            description, visibility = known[case - 1] if case <= len(known) else ("", "")
            seen_description, seen_visibility = described.get(case, (None, None))
            graded = sum(v["total"] >= case for v in verdicts)
            rows.append(
                {
                    "function": name,
                    "case": case,
                    "description": seen_description or description or f"case {case}",
                    "visibility": seen_visibility or visibility,
                    "passed": graded - failed[case],
                    "graded": graded,
                    "pass_rate": rate(graded - failed[case], graded),
                }
            )
    return rows


# ---------------------------------------------------------------- students, problems, integrity


def student_rows(submissions, recorded):
    """Per student: the gradebook's scores and flags.

    recorded: student -> cnnkit.results.scores.StudentScores. Core, optional and total are net of the
    late penalty (cnnkit.spec.totals); each function's column is its cell's score as recorded.
    """
    rows = []
    for submission in submissions:
        scored = recorded.get(submission.student)
        row = {"student": submission.student}
        if scored is None:  # submitted, never autograded: no scores to show
            row.update(
                {"core": "", "optional": "", "total": "", "late_penalty": ""}, **{name: "" for name in FUNCTIONS}
            )
        else:
            totals = scored.totals
            row.update(core=points(totals.core), optional=points(totals.optional))
            row.update(total=points(totals.total), late_penalty=points(totals.penalty))
            by_function = {
                function_of(grade_id): value for grade_id, value in scored.cells.items() if function_of(grade_id)
            }
            row.update({name: points(by_function.get(name)) for name in FUNCTIONS})
        row["flags"] = "; ".join(student_flags(submission))
        rows.append(row)
    return rows


def points(value):
    """A score as the gradebook has it, rounded to 0.01 like the partial credit ('' when missing)."""
    return "" if value is None else round(float(value), 2)


def student_flags(submission):
    """Short labels for the per-student table: crash, timeout, ... and integrity reasons."""
    labels = [f"{p.kind} ({p.where})" for p in sorted(submission.problems, key=problem_order)]
    return labels + [f"integrity: {flag['reason']}" for flag in submission.flags]


def problem_order(problem):
    return (PROBLEM_ORDER.index(problem.kind), problem.student, problem.where)


def problem_rows(submissions):
    problems = sorted((p for s in submissions for p in s.problems), key=problem_order)
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
