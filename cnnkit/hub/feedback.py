"""What the student gets back for each submission, where nbgrader's fetch_feedback finds it.

nbgrader matches feedback to a submission by a hash: ``notebook_hash(secret=<the submission's
submission_secret.txt>, notebook_id=<the notebook's name without .ipynb>)``, and fetch_feedback
copies ``<exchange>/<course>/feedback/<hash>.html`` for every notebook of every submission in the
student's cache. So:

- a graded attempt's feedback is nbgrader's own (``generate_feedback``, made by the grading process or
  here), with a short header on top: this attempt's score, the official score, attempts left
  (``status_header``);
- a submission that is not graded (refused by the policy, or not gradable) gets a page saying so and
  why, under each notebook name it holds.

Both are put in place by ``place``, as nbgrader's release_feedback would, but under the secret the
service read from its own snapshot of the submission (cnnkit.ingest.exchange), never from a folder a student
can change or link elsewhere; each page is written through a new file and a rename, so a link planted
under a page's name is replaced, never written through. Every text that comes from a student or a
submission is HTML-escaped.
"""

import html
import re
from pathlib import Path

from cnnkit import compat
from cnnkit.policy.rules import format_time
from cnnkit.records.writer import write_record

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:50em;margin:2em auto}} .cnnkit-status{{border:1px solid #888;
padding:.8em 1.2em;margin:1em 0;background:#f6f6f6}} .not-graded{{color:#a00}}</style></head>
<body>{body}</body></html>
"""


def esc(value):
    return html.escape(str(value), quote=True)


def points(value):
    return "" if value is None else f"{value:.2f}".rstrip("0").rstrip(".")


def summary_lines(summary):
    """The lines every page shows a student: official score, attempts left, next graded attempt, deadline."""
    lines = []
    if summary.official is not None:
        lines.append(
            f"Official score ({summary.counts} graded attempt counts): {points(summary.official.score)} of "
            f"{points(summary.max_score)} (attempt {summary.official.number})"
        )
    else:
        lines.append("Official score: none yet (no attempt was graded)")
    left = "no limit" if summary.attempts_left is None else str(summary.attempts_left)
    lines.append(f"Attempts graded or being graded: {summary.graded} (attempts left: {left})")
    if summary.next_allowed is not None:
        lines.append(f"Next graded attempt: {format_time(summary.next_allowed)}")
    if summary.deadline is not None:
        lines.append(f"Deadline: {format_time(summary.deadline)}")
    return lines


def status_header(summary, attempt_line):
    """The box put on top of a graded attempt's feedback (HTML)."""
    items = "".join(f"<li>{esc(line)}</li>" for line in [attempt_line, *summary_lines(summary)])
    return f'<div class="cnnkit-status" id="cnnkit-status"><ul>{items}</ul></div>'


def attempt_line(number, score, max_score, penalty):
    line = f"This submission (attempt {number}): {points(score)} of {points(max_score)}"
    if penalty:
        line += f", after a late penalty of {points(penalty)} points"
    return line


def not_graded_page(assignment, reason, summary):
    """The whole page for a submission that was not graded."""
    items = "".join(f"<li>{esc(line)}</li>" for line in summary_lines(summary))
    body = (
        f"<h1>{esc(assignment)}: not graded</h1>"
        f'<p class="not-graded" id="cnnkit-not-graded">This submission was not graded: {esc(reason)}</p>'
        f'<div class="cnnkit-status" id="cnnkit-status"><ul>{items}</ul></div>'
    )
    return PAGE.format(title=esc(f"{assignment}: not graded"), body=body)


def add_header(page, header):
    """page (nbgrader's feedback HTML) with header right after <body ...>; a second call replaces the first."""
    page = re.sub(r'<div class="cnnkit-status" id="cnnkit-status">.*?</div>', "", page, count=1, flags=re.S)
    match = re.search(r"<body[^>]*>", page)
    if match is None:
        return header + page
    return page[: match.end()] + header + page[match.end() :]


# ---------------------------------------------------------------- where fetch_feedback looks


def page_path(outbound, secret, notebook_id):
    """Where nbgrader fetch_feedback looks for the page of one notebook of the submission whose
    submission_secret.txt is secret."""
    from nbgrader.utils import notebook_hash

    return Path(outbound) / f"{notebook_hash(secret=secret, notebook_id=notebook_id)}.html"


def place(outbound, secret, pages):
    """Write each page ({notebook name without .ipynb: HTML}) where nbgrader fetch_feedback finds it for the
    submission whose submission_secret.txt is secret; the paths written."""
    outbound = Path(outbound)
    outbound.mkdir(mode=0o755, parents=True, exist_ok=True)
    written = []
    for notebook_id, page in sorted(pages.items()):
        path = page_path(outbound, secret, notebook_id)
        write_record(path, page, mode=0o644)  # students read it, whatever the umask
        written.append(path)
    return written


# ---------------------------------------------------------------- nbgrader's feedback, for one student


def generate(root, assignment, student, header, outcome=None):
    """The student's feedback pages, with the header on top of each; the pages.

    The grading process made them when outcome (its outcome, recorded into the course by the grading
    engine) holds them; else nbgrader generate_feedback makes them here, from the course (as after a
    restart of an older service).
    """
    folder = Path(root, "feedback", student, assignment)
    if outcome is not None and outcome.get("feedback") is not None:
        code, log = 0, "made by the grading process"
    else:
        code, log = compat.run_nbgrader_in(root, ["generate_feedback", assignment, f"--student={student}", "--force"])
    pages = sorted(folder.glob("*.html"))
    if code not in (0, None) or not pages:
        raise FeedbackError(f"generate_feedback failed for {student} (exit {code}):\n{log[-2000:]}")
    for page in pages:
        write_record(page, add_header(page.read_text(), header), page.stat().st_mode & 0o777)
    return pages


class FeedbackError(RuntimeError):
    """nbgrader could not make a student's feedback."""
