"""The instructor report's reading and aggregation (cnnkit.results.report), in-process, from verdict
records in the shape cnnkit.grading.verify writes them: no nbgrader run, no notebook execution."""

import csv
import json

import nbformat
import pytest

from cnnkit import course
from cnnkit.records import integrity, outcomes
from cnnkit.records.verdict import VERDICT_MIME
from cnnkit.results import report, scores
from cnnkit.results.report import aggregate, read
from cnnkit.spec import totals
from cnnkit.spec.parts import FUNCTIONS


def failure(case, kind, detail="", mistakes=(), visibility="public", message="(text for people)"):
    return {
        "case": case,
        "description": f"case {case} of the test",
        "visibility": visibility,
        "kind": kind,
        "detail": detail,
        "mistakes": [{"key": key, "what": what} for key, what in mistakes],
        "message": message,
    }


def verdict(function, total, failures, points=10.0):
    passed = total - len(failures)
    return {
        "function": function,
        "passed": passed,
        "total": total,
        "score": points * passed / total,
        "points": points,
        "failures": failures,
        "seconds": {"student_code": 0.1, "verify": 0.01},
    }


def check_cell(record, grade_id=None):
    """A check cell as verify leaves it: the verdict record as display_data."""
    output = nbformat.v4.new_output("display_data", data={"text/plain": "...", VERDICT_MIME: record})
    cell = nbformat.v4.new_code_cell("grade(...)", outputs=[output])
    cell.metadata["nbgrader"] = {"grade_id": grade_id or f"test_{record['function']}", "grade": True}
    return cell


def error_cell(source, ename, evalue=""):
    output = nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[])
    return nbformat.v4.new_code_cell(source, outputs=[output])


BIAS = ("bias_missing", "the bias b was not added")
CASES = [(1, "public"), (2, "public"), (3, "hidden")]  # conv_single_step's, in the fixture's class


# ---------------------------------------------------------------- labels from structured failures


@pytest.mark.parametrize(
    "given, expected",
    [
        (failure(1, "wrong_values", mistakes=[BIAS]), [("diagnosed", "the bias b was not added")]),
        (
            failure(1, "wrong_values", mistakes=[BIAS, ("x", "the  window\n was not\tflipped"), BIAS]),
            [("diagnosed", "the bias b was not added"), ("diagnosed", "the window was not flipped")],
        ),
        (failure(1, "not_implemented"), [("failure", "not implemented")]),
        (failure(1, "raised", "TypeError"), [("failure", "raised TypeError")]),
        (failure(1, "wrong_shape"), [("failure", "wrong shape")]),
        (failure(1, "did_not_run", "KeyboardInterrupt"), [("failure", "did not run: timed out")]),
        (failure(1, "did_not_run", "CellTimeoutError"), [("failure", "did not run: timed out")]),
        (failure(1, "did_not_run", "KernelDied"), [("failure", "did not run: the kernel died")]),
        (failure(1, "did_not_run", "DeadKernelError"), [("failure", "did not run: the kernel died")]),
        (failure(1, "did_not_run", "NameError"), [("failure", "did not run: NameError")]),
        (failure(1, "did_not_run", "NotRun"), [("failure", "did not run: NotRun")]),
        (failure(1, "did_not_run"), [("failure", "did not run")]),
        (failure(1, "budget_spent"), [("failure", "did not run: time budget spent")]),
        (failure(1, "duplicate_results"), [("failure", "more than one result recorded for a case")]),
        (failure(1, "changed_input"), [("failure", "changed its input in place")]),
        (failure(1, "wrong_cache"), [("failure", "wrong cache")]),
        (failure(1, "nan_or_inf"), [("failure", "nan or inf in the result")]),
        (failure(1, "wrong_dtype"), [("failure", "wrong dtype")]),
        (failure(1, "wrong_type"), [("failure", "wrong return type")]),
        (failure(1, "all_zeros"), [("failure", "wrong values: all zeros")]),
        (failure(1, "wrong_values"), [("failure", "wrong values")]),
        (failure(1, "other"), [("failure", "other")]),
        (failure(1, "a kind from the future"), [("failure", "other")]),
        # A record without "kind" (an old verify) is "other": its text is never parsed.
        ({"case": 1, "message": "Looks like the bias b was not added. Hint: add it."}, [("failure", "other")]),
        ({"case": 1, "kind": "wrong_values", "mistakes": "not a list"}, [("failure", "wrong values")]),
    ],
)
def test_failures_are_labelled_from_their_fields(given, expected):
    assert aggregate.failure_labels(given) == expected


# ---------------------------------------------------------------- aggregation


def submission(student, *verdicts, problems=(), flags=()):
    found = read.Submission(student, graded=True, problems=list(problems), flags=list(flags))
    found.verdicts = {v["function"]: v for v in verdicts}
    return found


@pytest.fixture
def klass():
    """ann: everything right; ben: bias forgotten on every case, zero_pad not implemented; cat: one wrong shape."""
    ann = submission("ann", verdict("conv_single_step", 3, []), verdict("zero_pad", 2, []))
    ben = submission(
        "ben",
        verdict("conv_single_step", 3, [failure(c, "wrong_values", mistakes=[BIAS], visibility=v) for c, v in CASES]),
        verdict("zero_pad", 2, [failure(1, "not_implemented"), failure(2, "not_implemented", visibility="hidden")]),
    )
    cat = submission(
        "cat",
        verdict("conv_single_step", 3, [failure(3, "wrong_shape", visibility="hidden")]),
        verdict("zero_pad", 2, []),
        flags=[{"reason": "check cell edited", "where": "test_zero_pad"}],
    )
    return [ann, ben, cat]


def test_mistakes_are_counted_per_student_and_case(klass):
    rows = aggregate.mistake_rows(klass)
    assert [(r["function"], r["kind"], r["mistake"], r["students"], r["cases"]) for r in rows] == [
        ("conv_single_step", "diagnosed", "the bias b was not added", 1, 3),
        ("zero_pad", "failure", "not implemented", 1, 2),
        ("conv_single_step", "failure", "wrong shape", 1, 1),
    ]
    assert rows[0]["example_students"] == "ben"


def test_function_pass_rates(klass):
    rows = {r["function"]: r for r in aggregate.function_rows(klass, {"test_conv_single_step": 10.0})}
    single = rows["conv_single_step"]
    assert (single["graded"], single["full_marks"], single["cases_passed"], single["cases_total"]) == (3, 1, 5, 9)
    assert (single["points"], single["full_marks_rate"], single["case_pass_rate"]) == (10.0, 0.3333, 0.5556)
    assert single["part"] == "core" and rows["pool_backward"]["graded"] == 0
    assert rows["pool_backward"]["case_pass_rate"] == "" and rows["pool_backward"]["mean_score"] == ""


def test_case_pass_rates_use_the_catalogue_for_cases_nobody_failed(klass):
    catalogue = {"conv_single_step": [("first", "public"), ("second", "public"), ("third", "hidden")]}
    rows = [r for r in aggregate.case_rows(klass, catalogue) if r["function"] == "conv_single_step"]
    assert [(r["case"], r["passed"], r["graded"], r["visibility"]) for r in rows] == [
        (1, 2, 3, "public"),
        (2, 2, 3, "public"),
        (3, 1, 3, "hidden"),
    ]
    assert rows[0]["description"] == "case 1 of the test"  # a failure's own description first
    no_catalogue = [r for r in aggregate.case_rows(klass, {}) if r["function"] == "zero_pad"]
    assert [(r["description"], r["visibility"]) for r in no_catalogue] == [
        ("case 1 of the test", "public"),
        ("case 2 of the test", "hidden"),
    ]


def test_student_rows_show_net_scores_with_the_penalty_and_flags(klass):
    cells = {f"test_{name}": 5.0 for name in FUNCTIONS}  # raw 40: core 20, optional 20
    recorded = {
        "ann": scores.StudentScores(cells, totals.totals(cells)),
        "ben": scores.StudentScores(cells, totals.totals(cells, penalty=10)),
    }
    klass[1].problems.append(read.Problem("ben", "timeout", "distribute_value", "interrupted"))
    rows = {r["student"]: r for r in aggregate.student_rows(klass, recorded)}
    assert (rows["ann"]["core"], rows["ann"]["optional"], rows["ann"]["total"], rows["ann"]["late_penalty"]) == (
        20,
        20,
        40,
        0,
    )
    assert (rows["ben"]["core"], rows["ben"]["optional"], rows["ben"]["total"], rows["ben"]["late_penalty"]) == (
        15,
        15,
        30,
        10,
    )
    assert rows["ben"]["zero_pad"] == 5 and rows["ben"]["flags"] == "timeout (distribute_value)"
    assert rows["cat"]["core"] == "" and rows["cat"]["flags"] == "integrity: check cell edited"
    assert set(rows["ann"]) == set(aggregate.STUDENT_FIELDS)


def test_integrity_rows_keep_the_other_keys_as_json(klass):
    assert aggregate.integrity_rows(klass) == [
        {"student": "cat", "reason": "check cell edited", "details": '{"where": "test_zero_pad"}'}
    ]


# ---------------------------------------------------------------- problems in a notebook


def test_a_check_case_that_did_not_run_is_a_timeout_crash_or_did_not_run():
    cases = {
        "KeyboardInterrupt": "timeout",
        "CellTimeoutError": "timeout",
        "KernelDied": "crash",
        "DeadKernelError": "crash",
        "NameError": "check did not run",
        "": "check did not run",
    }
    for detail, kind in cases.items():
        cell = check_cell(verdict("pool_forward", 2, [failure(1, "did_not_run", detail, message=f"said {detail}")]))
        assert [found for found, _ in read.cell_problems(cell, 0)] == [kind], detail
    other = check_cell(verdict("pool_forward", 2, [failure(1, "wrong_values"), failure(2, "budget_spent")]))
    assert read.cell_problems(other, 0) == set()


def test_error_outputs_of_the_executor_are_timeouts_and_crashes():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        error_cell("x = 1\ndistribute_value(1, (2, 2))", "CellTimeoutError"),
        error_cell("import os", "KernelDied", "the kernel died"),
        error_cell("y = 2", "NotRun", "not run: the notebook used up its 600 s time budget"),
        error_cell("z = 1 / 0", "ZeroDivisionError", "division by zero"),  # the student's own error: not listed
    ]
    problems = sorted((p.kind, p.where) for p in read.notebook_problems("ann", nb))
    assert problems == [
        ("crash", "cell 2 (import os)"),
        ("timeout", "cell 1 (distribute_value(1, (2, 2)))"),
        ("timeout", "cell 3 (y = 2)"),
    ]


def test_a_missing_autograded_notebook_takes_its_reason_from_the_outcomes_file(tmp_path):
    (tmp_path / "submitted" / "ann" / "a").mkdir(parents=True)
    (tmp_path / "submitted" / "ann" / "a" / "a.ipynb").write_text("{}")
    (tmp_path / "logs").mkdir()
    records = [
        {"student": "ann", "status": "crashed", "message": "the grading process died (-9)", "seconds": 3, "host": "h"}
    ]
    (tmp_path / outcomes.OUTCOMES_FILE).write_text(json.dumps({"assignment": "a", "outcomes": records}))
    [crashed] = read.read_submissions(tmp_path, "a", {"ann": None}, lambda line: None)
    assert [(p.kind, p.detail) for p in crashed.problems] == [
        ("crash", "no autograded notebook: crashed: the grading process died (-9)")
    ]
    records[0]["status"] = "timed out"
    (tmp_path / outcomes.OUTCOMES_FILE).write_text(json.dumps({"assignment": "a", "outcomes": records}))
    [late] = read.read_submissions(tmp_path, "a", {"ann": None}, lambda line: None)
    assert [p.kind for p in late.problems] == ["timeout"]


def test_a_missing_notebook_without_an_outcome_is_a_crash_or_not_yet_autograded(tmp_path):
    (tmp_path / "submitted" / "ann" / "a").mkdir(parents=True)
    (tmp_path / "submitted" / "ann" / "a" / "a.ipynb").write_text("{}")
    crashed = read.read_submission(tmp_path, "a", "ann", True, {})
    assert [p.kind for p in crashed.problems] == ["crash"]
    assert "see logs/autograde.log" in crashed.problems[0].detail
    late = read.read_submission(tmp_path, "a", "ann", False, {})
    assert [p.kind for p in late.problems] == ["not autograded"]


def test_verdicts_are_read_from_an_autograded_notebook(tmp_path):
    folder = tmp_path / "autograded" / "ann" / "a"
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    record = verdict("zero_pad", 2, [failure(2, "raised", "TypeError")])
    nb.cells = [nbformat.v4.new_code_cell("def zero_pad(X, pad): ..."), check_cell(record)]
    nbformat.write(nb, str(folder / "a.ipynb"))
    found = read.read_submission(tmp_path, "a", "ann", True, {})
    assert found.graded and found.verdicts == {"zero_pad": record} and found.problems == []


def test_an_unreadable_integrity_file_becomes_a_flag(tmp_path):
    (tmp_path / integrity.FILE).write_text('{"flags": [{"no reason": 1}]}')
    [flag] = integrity.read(tmp_path)
    assert "could not be read" in flag["reason"]
    assert integrity.read(tmp_path / "elsewhere") == []


def test_without_a_gradebook_the_report_says_to_autograde_first(tmp_path):
    with pytest.raises(report.ReportError, match="run `make autograde` first"):
        report.build_report(tmp_path, course.ASSIGNMENT, progress=lambda line: None)
    assert not (tmp_path / "gradebook.db").exists()  # nothing created on the way


def all_tables(klass, maxima=None):
    """Every CSV table of the report for these submissions (no gradebook scores, no case catalogue)."""
    return {
        "students": aggregate.student_rows(klass, {}),
        "functions": aggregate.function_rows(klass, maxima or {}),
        "cases": aggregate.case_rows(klass, {}),
        "mistakes": aggregate.mistake_rows(klass),
        "problems": aggregate.problem_rows(klass),
        "integrity": aggregate.integrity_rows(klass),
    }


def test_the_tables_are_written_with_their_columns(tmp_path, klass):
    tables = all_tables(klass)
    report.write_tables(tmp_path, tables)
    for name in report.CSV_FILES:
        with open(tmp_path / name, newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == len(tables[aggregate.TABLE_FILES[name][0]]), name
    with open(tmp_path / "mistakes.csv", newline="") as handle:
        assert next(csv.DictReader(handle))["mistake"] == "the bias b was not added"
