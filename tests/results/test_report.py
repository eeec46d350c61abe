"""The instructor report (cnnkit.results.report), on a class autograded for real by nbgrader.

The pieces are tested in-process in test_report_tables.py.

The class: the three sample submissions, one with an infinite loop in a solution cell, and one
whose kernel dies. Expected pass counts come from the sample definitions (cnnkit.spec.samples), not
from the report, so the two are checked against each other.
"""

import csv
import json
import struct

import pytest

from cnnkit import course
from cnnkit.grading import verify
from cnnkit.records import integrity
from cnnkit.results import report, run_summary, scores
from cnnkit.spec import notebook, samples
from cnnkit.spec.parts import FUNCTIONS
from tests.support import clone_course, db_url, run_nbgrader

LOOP, CRASH = "student-loop", "student-crash"
FULL = samples.SAMPLES["sample-complete"][1]
# What the two extra students must score: full marks, but for the cell the loop or the crash hits.
EXTRA = {LOOP: FULL, CRASH: {**FULL, "test_conv_backward": 0}}
FLAGGED = "sample-partial"  # gets an integrity.json, as an integrity checker would write it
FLAG = {"reason": "check cell edited", "cell": "test_zero_pad"}
OUT = ("reports", course.ASSIGNMENT)


def write_extra_submissions(root):
    """The loop student (a cell that never ends after a definition: a timeout, nothing else) and the crashing one.

    The cell hangs asleep rather than in a busy loop: the timeout and the report are the same, and the cores
    stay with the rest of the suite meanwhile.
    """
    answers = notebook.solutions()
    release = samples.release_notebook()
    looping = {**answers, "distribute_value": answers["distribute_value"] + "\n\nimport time\ntime.sleep(3600)\n"}
    crashing = {**answers, "conv_backward": "import os; os._exit(1)\n" + answers["conv_backward"]}
    samples.write_submission(root, LOOP, notebook.fill_in(release, looping))
    samples.write_submission(root, CRASH, notebook.fill_in(release, crashing))


@pytest.fixture(scope="module")
def reported(released_course, tmp_path_factory):
    """(course root, index.html path, progress lines) after one real autograde and the report."""
    root = clone_course(released_course, tmp_path_factory.mktemp("report_course"))
    config = root / "nbgrader_config.py"
    config.write_text(
        config.read_text() + "\n# test_report: the endless cell costs 5 s, not 120.\nc.Execute.timeout = 5\n"
    )
    samples.write_samples(root)
    write_extra_submissions(root)
    # Stock nbgrader exits 1 when a kernel dies (and drops that notebook); the kit's executor does not.
    run_nbgrader(root, "autograde", course.ASSIGNMENT, check=False)
    add_integrity_flag(root / "autograded" / FLAGGED / course.ASSIGNMENT / integrity.FILE, FLAG)
    lines = []
    index = report.build_report(root, course.ASSIGNMENT, progress=lines.append)
    return root, index, lines


def add_integrity_flag(path, flag):
    """Add a flag to integrity.json as an integrity checker would (keeping any it already wrote)."""
    found = json.loads(path.read_text()) if path.exists() else {"flags": []}
    found["flags"].append(flag)
    if path.exists():
        path.chmod(0o644)  # nbgrader leaves autograded files read-only
    path.write_text(json.dumps(found))


def read_csv(root, name):
    with open(root.joinpath(*OUT, name), newline="") as handle:
        return list(csv.DictReader(handle))


def graded_students(root):
    """Students whose autograded notebook exists (stock nbgrader deletes the crashed one's)."""
    folder = root / "autograded"
    return sorted(s for s in [*samples.SAMPLES, LOOP, CRASH] if any((folder / s / course.ASSIGNMENT).glob("*.ipynb")))


def expected_cell_scores(student):
    return samples.SAMPLES[student][1] if student in samples.SAMPLES else EXTRA[student]


def case_counts():
    """function -> number of cases (public + hidden), read from the master notebook."""
    checks = course.load_checks()
    counts = {}
    for cell in notebook.read(course.MASTER).cells:
        call = verify.find_grade_call(cell.source) if cell.cell_type == "code" else None
        if call:
            counts[call[0]] = len(checks.PUBLIC_CASES[call[0]]) + len(call[1])
    return counts


# ---------------------------------------------------------------- the report on a real class


def test_the_report_files_are_written(reported):
    root, index, lines = reported
    assert index == root.joinpath(*OUT, "index.html")
    names = [*report.CSV_FILES, "scores_core.png", "scores_optional.png", "function_pass_rates.png"]
    names += ["case_pass_rates.png", "mistakes.png", "overview.png"]
    for name in names:
        assert root.joinpath(*OUT, name).is_file(), name
    assert any("read 5 of 5 submissions" in line for line in lines)


def test_the_page_is_self_contained_with_relative_images(reported):
    _, index, _ = reported
    page = index.read_text()
    for image in ("scores_core.png", "scores_optional.png", "function_pass_rates.png", "mistakes.png"):
        assert f'src="{image}"' in page
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert "the bias b was not added" in page and LOOP in page and CRASH in page


def test_the_student_table_has_exactly_the_gradebook_scores(reported):
    root, _, _ = reported
    rows = {row["student"]: row for row in read_csv(root, "students.csv")}
    assert sorted(rows) == sorted([*samples.SAMPLES, LOOP, CRASH])
    for student in scores.students(db_url(root)):
        cells = scores.cell_scores(db_url(root), student)
        totals = scores.part_totals(cells)
        row = rows[student]
        assert float(row["core"]) == pytest.approx(totals["core"]), student
        assert float(row["optional"]) == pytest.approx(totals["optional"]), student
        assert float(row["total"]) == pytest.approx(totals["core"] + totals["optional"]), student
        for name in FUNCTIONS:
            recorded = cells.get(f"test_{name}")
            assert (row[name] == "") if recorded is None else float(row[name]) == pytest.approx(recorded)


def test_the_samples_scores_show_in_the_student_table(reported):
    root, _, _ = reported
    rows = {row["student"]: row for row in read_csv(root, "students.csv")}
    expected_core = scores.part_totals(samples.SAMPLES["sample-partial"][1])["core"]
    assert float(rows["sample-partial"]["core"]) == pytest.approx(expected_core)
    assert float(rows["sample-complete"]["total"]) == pytest.approx(150)
    assert float(rows[LOOP]["total"]) == pytest.approx(150)  # the loop ran after the definition


def test_pass_rates_per_function_follow_from_the_samples(reported):
    root, _, _ = reported
    graded = graded_students(root)
    rows = {row["function"]: row for row in read_csv(root, "function_pass_rates.csv")}
    counts = case_counts()
    for name in FUNCTIONS:
        grade_id = f"test_{name}"
        expected = [expected_cell_scores(s)[grade_id] for s in graded]
        full = sum(score == FULL[grade_id] for score in expected)
        # A partial score is points x passed / cases, rounded down to 0.01: the count comes back by rounding.
        passed = sum(round(score / FULL[grade_id] * counts[name]) for score in expected)
        row = rows[name]
        assert int(row["graded"]) == len(graded), name
        assert int(row["full_marks"]) == full, name
        assert int(row["cases_passed"]) == passed, name
        assert int(row["cases_total"]) == counts[name] * len(graded), name


def test_pass_rates_per_case_name_the_cases(reported):
    root, _, _ = reported
    graded = graded_students(root)
    rows = [row for row in read_csv(root, "case_pass_rates.csv") if row["function"] == "conv_single_step"]
    assert [int(row["case"]) for row in rows] == list(range(1, case_counts()["conv_single_step"] + 1))
    # sample-partial (bias forgotten) and sample-untouched fail every case; everyone else passes them all.
    passing = len([s for s in graded if s not in ("sample-partial", "sample-untouched")])
    for row in rows:
        assert int(row["passed"]) == passing and int(row["graded"]) == len(graded)
        assert "a_slice_prev and W" in row["description"]
    assert rows[0]["visibility"] == "public" and rows[-1]["visibility"] == "hidden"


def test_the_planted_mistake_is_diagnosed_with_its_count(reported):
    root, _, _ = reported
    rows = read_csv(root, "mistakes.csv")
    bias = [r for r in rows if r["function"] == "conv_single_step" and r["mistake"] == "the bias b was not added"]
    assert len(bias) == 1
    assert bias[0]["kind"] == "diagnosed"
    assert int(bias[0]["students"]) == 1 and bias[0]["example_students"] == "sample-partial"
    assert int(bias[0]["cases"]) == case_counts()["conv_single_step"]


def test_failures_without_a_diagnosis_are_grouped_by_kind(reported):
    root, _, _ = reported
    rows = {(r["function"], r["mistake"]): r for r in read_csv(root, "mistakes.csv")}
    # The untouched release raises NotImplementedError everywhere; sample-partial leaves three stubs.
    for name in FUNCTIONS:
        expected = 2 if name in ("conv_backward", "distribute_value", "pool_backward") else 1
        assert int(rows[(name, "not implemented")]["students"]) == expected, name
        assert rows[(name, "not implemented")]["kind"] == "failure"


def test_timeouts_and_crashes_are_listed_for_the_right_students(reported):
    root, _, _ = reported
    problems = read_csv(root, "problems.csv")
    timeouts = [p for p in problems if p["kind"] == "timeout"]
    crashes = [p for p in problems if p["kind"] == "crash"]
    assert {p["student"] for p in timeouts} == {LOOP}
    assert "distribute_value" in timeouts[0]["where"]
    assert {p["student"] for p in crashes} == {CRASH}
    # The kit's executor names the cell (stock nbgrader would leave no notebook: a crash "no autograded notebook").
    assert "conv_backward" in crashes[0]["where"] or "no autograded notebook" in crashes[0]["detail"]
    assert not [p for p in problems if p["student"] in samples.SAMPLES]
    flags = {row["student"]: row["flags"] for row in read_csv(root, "students.csv")}
    assert "timeout (distribute_value" in flags[LOOP] and "crash (" in flags[CRASH]
    assert not any(kind in flags["sample-complete"] for kind in ("timeout", "crash", "did not run"))


def test_integrity_flags_are_read_from_the_checkers_file(reported):
    root, _, _ = reported
    rows = read_csv(root, "integrity.csv")
    assert {"student": FLAGGED, "reason": FLAG["reason"], "details": '{"cell": "test_zero_pad"}'} in rows
    assert {row["student"] for row in rows} <= {*samples.SAMPLES, LOOP, CRASH}
    flags = {row["student"]: row["flags"] for row in read_csv(root, "students.csv")}
    assert f"integrity: {FLAG['reason']}" in flags[FLAGGED]


@pytest.mark.parametrize("name", ["scores_core.png", "scores_optional.png", "mistakes.png", "overview.png"])
def test_the_charts_are_valid_pngs_of_sensible_size(reported, name):
    root, _, _ = reported
    data = root.joinpath(*OUT, name).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert 400 <= width <= 2000 and 250 <= height <= 1500, (width, height)
    assert 5_000 < len(data) < 1_000_000


def test_the_score_table_and_the_run_summary_read_the_same_gradebook(reported):
    root, _, _ = reported
    lines = scores.table(db_url(root)).splitlines()
    assert lines[0].split()[1:3] == ["core/100", "opt./50"]  # the maxima of the gradebook's cells
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert sorted(rows) == sorted(scores.students(db_url(root)))
    assert rows["sample-complete"][1:3] == ["100.00", "50.00"]
    records = {record.student: record for record in run_summary.summary(root, db_url(root))}
    assert records["sample-complete"].text == "graded: core 100.00/100, optional 50.00/50"
    partial = scores.part_totals(samples.SAMPLES["sample-partial"][1])
    assert records["sample-partial"].text.startswith(f"graded: core {partial['core']:.2f}/100")
    assert not run_summary.needs_attention(records.values())
