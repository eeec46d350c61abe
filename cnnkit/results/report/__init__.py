"""The instructor report: what a class got right and wrong, after an autograde run.

``build_report(root, assignment)`` (the ``python -m cnnkit report`` command) writes
``reports/<assignment>/`` under the course root (never committed):

- ``index.html``: one self-contained page (inline style, images referenced relatively);
- ``scores_core.png``, ``scores_optional.png``: histograms of the scores, core and optional apart;
- ``function_pass_rates.png``, ``case_pass_rates.png``, ``mistakes.png``: pass rates and frequent mistakes;
- ``overview.png``: both histograms, pass rates per function and the top mistakes on one picture;
- ``students.csv``, ``function_pass_rates.csv``, ``case_pass_rates.csv``, ``mistakes.csv``,
  ``problems.csv`` (timeouts, crashes, checks that did not run), ``integrity.csv``.

Where it lives:

- ``read``: the gradebook's scores, each check cell's verdict record, the executor's error outputs,
  the integrity and admission records and the batch's outcomes (cnnkit.records), into one
  ``Submission`` per student;
- ``catalogue``: every case of every function, described (the report's one use of the specification);
- ``aggregate``: the tables (rows of dicts) and their columns;
- ``charts``: the PNGs; ``page``: index.html.

The report holds hidden-case descriptions and every student's scores: it is for instructors only.
"""

from pathlib import Path

from cnnkit import course
from cnnkit.results import csv_cells
from cnnkit.results.report import aggregate, charts, page
from cnnkit.results.report.aggregate import TABLE_FILES
from cnnkit.results.report.catalogue import case_catalogue
from cnnkit.results.report.read import ReportError, gradebook_scores, read_submissions

CSV_FILES = tuple(TABLE_FILES)

__all__ = ["CSV_FILES", "ReportError", "build_report"]


def build_report(root=course.ROOT, assignment=course.ASSIGNMENT, db_url=None, progress=print):
    """Write reports/<assignment>/ under root; returns the path of its index.html.

    Raises ReportError (with what to do next) when there is nothing to report on yet.
    """
    root = Path(root)
    db_url = db_url or course.gradebook_url(root)
    if db_url.startswith("sqlite:///") and not Path(db_url[len("sqlite:///") :]).is_file():
        raise ReportError(f"no gradebook at {db_url[len('sqlite:///') :]}: run `make autograde` first")
    recorded = gradebook_scores(db_url, assignment)
    progress(f"Report on {assignment}: reading the autograded submissions")
    submissions = read_submissions(root, assignment, recorded.students, progress)
    if not any(s.graded for s in submissions):
        raise ReportError(
            f"no autograded submissions of {assignment} under {root / 'autograded'}: run `make autograde` first"
        )
    tables = build_tables(root, assignment, submissions, recorded)
    out = root / "reports" / assignment
    out.mkdir(parents=True, exist_ok=True)
    progress("  writing the tables (CSV)")
    write_tables(out, tables)
    progress("  drawing the charts (PNG)")
    charts.draw_charts(out, tables, recorded.part_maxima)
    index = out / "index.html"
    index.write_text(page.render_page(assignment, tables, submissions, recorded.part_maxima))
    return index


def build_tables(root, assignment, submissions, recorded):
    """Every table of the report; recorded: the gradebook's cnnkit.results.scores.ClassScores."""
    return {
        "assignment": assignment,
        "students": aggregate.student_rows(submissions, recorded.students),
        "functions": aggregate.function_rows(submissions, recorded.maxima),
        "cases": aggregate.case_rows(submissions, case_catalogue(root, assignment)),
        "mistakes": aggregate.mistake_rows(submissions),
        "problems": aggregate.problem_rows(submissions),
        "integrity": aggregate.integrity_rows(submissions),
    }


def write_tables(out, tables):
    """Each table to its CSV file in out (TABLE_FILES); student texts neutralised (csv_cells)."""
    for name, (table, fields) in TABLE_FILES.items():
        with open(out / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv_cells.SafeDictWriter(handle, fields)
            writer.writeheader()
            writer.writerows(tables[table])
