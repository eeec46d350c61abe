"""What the student gets back for each submission, where nbgrader's fetch_feedback finds it.

nbgrader matches feedback to a submission by a hash: ``notebook_hash(secret=<the submission's
submission_secret.txt>, notebook_id=<the notebook's name without .ipynb>)``, and fetch_feedback
copies ``<exchange>/<course>/feedback/<hash>.html`` for every notebook of every submission in the
student's cache. So:

- a graded attempt's feedback is nbgrader's own (``generate_feedback`` then ``release_feedback`` for
  that student, run in this process), with a short header on top: this attempt's score, the official
  score, attempts left (``status_header``);
- a submission that is not graded (refused by the policy, or not gradable) gets a page saying so and
  why, written under the hash of each notebook it holds (``place_not_graded``).

Every text that comes from a student or a submission is HTML-escaped.
"""

import html
import os
import re
import shutil
from pathlib import Path

from cnnkit import compat
from cnnkit.hub.policy import format_time

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


def write_atomically(path, text, mode=0o644):
    """Write text to path through a temporary file and a rename, readable by students (mode)."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    os.chmod(temporary, mode)
    os.replace(temporary, path)


# ---------------------------------------------------------------- where fetch_feedback looks


def submission_secret(folder):
    """The secret nbgrader submit wrote in the submission folder (None without a readable one)."""
    path = Path(folder) / "submission_secret.txt"
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 4096:
            return None
        return path.read_text()
    except OSError:
        return None


def feedback_hashes(folder, expected_notebooks):
    """The feedback file names nbgrader fetch_feedback looks for, for this submission's notebooks.

    The notebooks are those in the folder (what the student's cache holds) plus the assignment's own.
    """
    from nbgrader.utils import notebook_hash

    secret = submission_secret(folder)
    if not secret:
        return []
    names = {path.stem for path in Path(folder).glob("*.ipynb") if not path.is_symlink()} | set(expected_notebooks)
    return [f"{notebook_hash(secret=secret, notebook_id=name)}.html" for name in sorted(names)]


def place_not_graded(outbound, folder, expected_notebooks, page):
    """Write the not-graded page where fetch_feedback finds it for this submission; the paths written."""
    outbound = Path(outbound)
    outbound.mkdir(mode=0o755, parents=True, exist_ok=True)
    written = []
    for name in feedback_hashes(folder, expected_notebooks):
        write_atomically(outbound / name, page)
        written.append(outbound / name)
    return written


# ---------------------------------------------------------------- nbgrader's feedback, for one student


def generate(root, assignment, student, header, outcome=None):
    """The student's feedback pages, with the header on top of each; the pages.

    The grading process made them when outcome (its outcome) holds them; else nbgrader
    generate_feedback makes them here, from the course (as after a restart of an older service).
    """
    from cnnkit.scale.course_view import relocate_notebooks
    from cnnkit.scale.transport import unpack

    folder = Path(root, "feedback", student, assignment)
    if outcome is not None and outcome.get("feedback") is not None:
        if folder.exists():
            shutil.rmtree(folder)
        unpack(outcome["feedback"], folder)
        relocate_notebooks(folder, outcome["scratch_root"], Path(root), pattern="*.html")
        code, log = 0, "made by the grading process"
    else:
        code, log = compat.run_nbgrader_in(root, ["generate_feedback", assignment, f"--student={student}", "--force"])
    pages = sorted(folder.glob("*.html"))
    if code not in (0, None) or not pages:
        raise FeedbackError(f"generate_feedback failed for {student} (exit {code}):\n{log[-2000:]}")
    for page in pages:
        write_atomically(page, add_header(page.read_text(), header), page.stat().st_mode & 0o777)
    return pages


def release(root, assignment, student):
    """nbgrader release_feedback for one student (into the exchange the config names)."""
    code, log = compat.run_nbgrader_in(root, ["release_feedback", assignment, f"--student={student}"])
    if code not in (0, None):
        raise FeedbackError(f"release_feedback failed for {student} (exit {code}):\n{log[-2000:]}")


class FeedbackError(RuntimeError):
    """nbgrader could not make or release a student's feedback."""
