"""The report's page: index.html, one self-contained file (inline style, no script, relative links)."""

import html
import statistics
import time

from cnnkit.records import integrity
from cnnkit.results.report.aggregate import (
    CASE_FIELDS,
    FUNCTION_FIELDS,
    INTEGRITY_FIELDS,
    MISTAKE_FIELDS,
    PROBLEM_FIELDS,
    STUDENT_FIELDS,
    TABLE_FILES,
)

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


def summary_cards(rows, submissions, problems, flags, parts):
    core = [r["core"] for r in rows if r["core"] != ""]
    optional = [r["optional"] for r in rows if r["optional"] != ""]
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
        "<div class=cards>"
        + "".join(f"<div class=card><b>{html.escape(str(v))}</b>{html.escape(k)}</div>" for k, v in cards)
        + "</div>"
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
    note = INTEGRITY_NOTE.format(file=integrity.FILE, assignment=html.escape(assignment))
    return note + html_table(tables["integrity"], INTEGRITY_FIELDS)


def students_section(tables, assignment):
    table = html_table(tables["students"], STUDENT_FIELDS, STUDENT_FIELDS[1:-1])
    note = (
        "Scores as in the gradebook. Core, optional and total are net of the late penalty (each part keeps "
        "its share of it, docs/lms.md); the function columns are the cells' scores as recorded."
    )
    return f"<p class=muted>{note}</p>{table}"


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


def render_page(assignment, tables, submissions, parts):
    """index.html: every section, with the images and CSVs beside it referenced relatively."""
    title = html.escape(assignment)
    nav = "".join(f'<a href="#{anchor}">{html.escape(name)}</a>' for anchor, name, _ in SECTIONS)
    files = " · ".join(f'<a href="{name}">{name}</a>' for name in (*TABLE_FILES, "overview.png"))
    cards = summary_cards(tables["students"], submissions, tables["problems"], tables["integrity"], parts)
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
