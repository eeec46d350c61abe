"""FeedbackSummary: what a student reads first on the feedback page, then each check's verdict as the kit wrote it.

A step of generate_feedback, after GetGrades (the gradebook's scores, an instructor's changes included). From
the kit's own verdict records (cnnkit.grading.verify: one per check cell), it writes two things into the
page's resources, for the kit's template (templates/cnnkit_feedback):

- the summary, on top: the grade as the Part B policy counts it (cnnkit.spec.totals), core and optional
  apart, the late penalty when there is one; then one row per function, in notebook order: its points, and
  what happened (all cases passed; n of m failed, with the first failing case, the mistake it looks like and
  the idea to fix it, the exact line only behind a "show me" fold; not implemented; not attempted
  (optional) when Part B may be left out; timed out or crashed, and why). Each row links to its check;
- each check's verdict, shown in place of the check cell's outputs: its text once (nbgrader's error output
  and score result repeat it), with the "show me" lines folded.

Everything is HTML built here with every value escaped: a verdict carries what the student's code raised or
returned. Nothing a cell printed is read; a record of the wrong shape gives a row that says so.
"""

import html

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from cnnkit.grading.part_policy import not_attempted, verdict_of
from cnnkit.spec import part_b, totals
from cnnkit.spec.notebook import grade_id
from cnnkit.spec.parts import part_of
from cnnkit.spec.table import MISTAKE_WORDS

RESOURCE = "cnnkit_feedback"  # resources[RESOURCE] = {"summary": html, "verdicts": {grade_id: html}}
MAX_TEXT = 4_000  # characters of one message shown (a verdict's messages are a few hundred)
MAX_NOTES = 3  # lines of a message shown under its problem in the summary (the verdict below has them all)
DATA_LINES = ("expected ", "got ", "The others:")  # lines of a message that list values or other cases
PART_NAMES = {"core": "Part A (core)", "optional": "Part B"}
PART_B_WORDS = {"required": "required", "extra_credit": "extra credit", "not_graded": "not graded"}


def part_heading(part, mode):
    """A part's heading in the summary; Part B's says how the course's policy counts it (never "optional"
    when it is required)."""
    return f"{PART_NAMES[part]} ({PART_B_WORDS[mode]})" if part == "optional" else PART_NAMES[part]


# How a case that did not run failed: the error the executor left in the check cell (cnnkit.grading.execute).
TIMEOUT_ERRORS = {"CellTimeoutError", "KeyboardInterrupt"}
CRASH_ERRORS = {"KernelDied", "DeadKernelError"}


def esc(value):
    return html.escape(str(value), quote=True)


def text(value, limit=MAX_TEXT):
    """value as text for the page, cut at limit characters (a verdict's strings; anything else as str)."""
    value = value if isinstance(value, str) else "" if value is None else str(value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def points(value):
    """A score as people write it: 16, 13.33 (never more than two decimals)."""
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def items(value):
    return value if isinstance(value, list) else []


# ---------------------------------------------------------------- what happened to one function


class Check:
    """A check cell's verdict, with the gradebook's score."""

    def __init__(self, cell, record, shown, mode):
        nbgrader = cell.metadata.nbgrader
        self.grade_id = grade_id(cell)
        self.part = part_of(self.grade_id)
        self.record = record
        self.function = text(record.get("function"), 60)
        self.points = float(nbgrader.get("points") or 0.0)
        score = nbgrader.get("score", record.get("score"))  # GetGrades' (the gradebook's), else the verdict's
        self.score = float(score) if isinstance(score, (int, float)) else 0.0
        self.shown = shown  # the verdict's text, as the kit wrote it for the student
        self.failures = [failure for failure in items(record.get("failures")) if isinstance(failure, dict)]
        self.optional_left_out = self.part == "optional" and part_b.is_optional(mode) and not_attempted(record)

    @property
    def passed(self):
        return record_count(self.record, "passed")

    @property
    def total(self):
        return record_count(self.record, "total")

    def state(self):
        """(css state, short status) of the function: passed, failed, missing, timeout or crash."""
        if self.total and self.passed == self.total:
            return "passed", f"all {self.total} cases passed"
        if self.optional_left_out:
            return "missing", "not attempted (optional)"
        if not_attempted(self.record):
            return "missing", "not implemented"
        if any(is_timeout(failure) for failure in self.failures):
            return "timeout", "timed out"
        if any(is_crash(failure) for failure in self.failures):
            return "crash", "crashed"
        return "failed", f"{len(self.failures)} of {self.total} cases failed"


def record_count(record, key):
    value = record.get(key)
    return value if type(value) is int and value >= 0 else 0


def is_timeout(failure):
    detail, kind = failure.get("detail"), failure.get("kind")
    budget = kind == "did_not_run" and detail == "NotRun" and "time budget" in text(failure.get("message"))
    return kind == "budget_spent" or (kind == "did_not_run" and detail in TIMEOUT_ERRORS) or budget


def is_crash(failure):
    return failure.get("kind") == "did_not_run" and (
        failure.get("detail") in CRASH_ERRORS or failure.get("detail") == "NotRun"
    )


def message_lines(failure):
    """(the problem, what the message says of it, its hints) from a failure's message, as the checker writes it.

    The problem is its first line; then come the lines that explain (not those that list the case's expected
    and received values, nor "Looks like" lines: the mistake is shown from the record), and the "Hint:" lines.
    """
    lines = [line.strip() for line in text(failure.get("message")).splitlines() if line.strip()]
    rest = [line for line in lines[1:] if not line.startswith(DATA_LINES)]
    hints = [line.removeprefix("Hint:").strip() for line in rest if line.startswith("Hint:")]
    notes = [line for line in rest if not line.startswith(("Hint:", "Looks like"))]
    return (lines[0] if lines else ""), notes[:MAX_NOTES], hints


def mistakes_of(failure):
    """The known mistakes a failure names, as (what, hint, line), in the kit's own words when it knows the key.

    (cnnkit.spec.table.MISTAKE_WORDS, each a cnnkit.spec.graded.Mistake: what it looks like happened, the idea
    to fix it, and the exact line where there is one; the record's own words otherwise.)
    """
    found = []
    for mistake in items(failure.get("mistakes")):
        if not isinstance(mistake, dict):
            continue
        words = MISTAKE_WORDS.get(mistake.get("key")) if isinstance(mistake.get("key"), str) else None
        what, hint, line = (
            (words.what, words.hint, words.line)
            if words
            else (mistake.get("what"), mistake.get("hint"), mistake.get("line"))
        )
        if what:
            found.append((text(what, 400), text(hint, 800), text(line, 400)))
    return found


def show_me_lines(failure):
    """The exact lines that fix what the failure hints at (the verdict's "show me" step), in order, once each."""
    lines = [line for _, _, line in mistakes_of(failure) if line]
    lines += [text(line, 400) for line in items(failure.get("show_me")) if isinstance(line, str) and line]
    return list(dict.fromkeys(lines))


# ---------------------------------------------------------------- HTML


def show_me_html(lines):
    """The "show me" fold: the exact lines, closed until the student opens it (no script: <details>)."""
    if not lines:
        return ""
    code = "".join(f"<li><code>{esc(line)}</code></li>" for line in lines)
    return (
        '<details class="cnnkit-show-me"><summary>Show me the line</summary>'
        f'<ul class="cnnkit-lines">{code}</ul></details>'
    )


def explanation_html(check, state):
    """What happened, in a few lines: the first failing case and its problem (for a time-out or a crash, the
    first case that did not run, and why), then the mistake a failing case looks like, with the idea to fix it
    and the exact line folded away; the message's own hints when no known mistake matched."""
    if state in ("passed", "missing"):
        return ""
    stopped = is_timeout if state == "timeout" else is_crash if state == "crash" else None
    first = next((f for f in check.failures if stopped is None or stopped(f)), {})
    problem, notes, hints = message_lines(first)
    description = text(first.get("description"), 300)
    case = f"case {esc(first.get('case', '?'))}"
    where = f"{case} ({esc(description)}, {esc(first.get('visibility', ''))})" if description else case
    parts = [f'<p class="cnnkit-case">First failing case: {where}</p>']
    parts += [f'<p class="cnnkit-problem">{esc(line)}</p>' for line in [problem, *notes] if line]
    named = next((f for f in check.failures if mistakes_of(f)), None)
    if named is not None:
        for what, hint, line in mistakes_of(named):
            seen = "" if named is first else f" (case {esc(named.get('case', '?'))})"
            parts.append(f'<p class="cnnkit-mistake"><strong>Looks like {esc(what)}{seen}.</strong> {esc(hint)}</p>')
            parts.append(show_me_html([line] if line else []))
    else:
        parts += [f'<p class="cnnkit-hint">Hint: {esc(hint)}</p>' for hint in hints]
        parts.append(show_me_html(show_me_lines(first)))
    return "".join(parts)


def row_html(check):
    state, status = check.state()
    name = f'<a href="#{esc(check.grade_id)}"><code>{esc(check.function)}</code></a>'
    score = f"{points(check.score)} / {points(check.points)}"
    return (
        f'<tr class="cnnkit-row cnnkit-{state}"><td class="cnnkit-function">{name}</td>'
        f'<td class="cnnkit-points">{score}</td>'
        f'<td class="cnnkit-what"><p class="cnnkit-status">{esc(status)}</p>{explanation_html(check, state)}</td></tr>'
    )


def grade_html(checks, penalty, mode):
    """The grade as the Part B policy counts it, core and optional apart, and the late penalty."""
    cells = {check.grade_id: check.score for check in checks}
    scored = totals.totals(cells, penalty, mode=mode)
    maxima = totals.part_maxima({check.grade_id: check.points for check in checks})
    maximum = totals.graded_maximum(maxima, mode)
    raw = scored.raw
    core = f"Part A {points(raw['core'])} of {points(maxima['core'])}"
    optional = f"Part B {points(raw['optional'])} of {points(maxima['optional'])}"
    if mode == "required":
        parts = f"{core}, {optional}; Part B is required in this course"
    elif mode == "extra_credit":
        parts = (
            f"{core}, plus {points(raw['optional'])} extra-credit points from Part B (of {points(maxima['optional'])})"
        )
    else:
        parts = f"{core}; Part B is not graded in this course ({optional}, for your information)"
    lines = [
        f'<p class="cnnkit-grade"><strong>This submission: {points(scored.total)} of {points(maximum)}</strong> ({esc(parts)}).</p>'
    ]
    if penalty:
        lines.append(
            f'<p class="cnnkit-penalty">Late penalty: {points(penalty)} points taken off '
            f"({points(scored.raw_total)} earned before the penalty).</p>"
        )
    return "".join(lines)


def summary_html(checks, penalty, mode):
    """The summary: the grade, then one row per function in notebook order, parts apart."""
    rows, part = [], None
    for check in checks:
        if check.part != part and check.part in PART_NAMES:
            part = check.part
            earned = sum(c.score for c in checks if c.part == part)
            possible = sum(c.points for c in checks if c.part == part)
            rows.append(
                f'<tr class="cnnkit-part"><th colspan="3">{part_heading(part, mode)}: {points(earned)} of {points(possible)}</th></tr>'
            )
        rows.append(row_html(check))
    return (
        '<section class="cnnkit-summary" id="cnnkit-summary" aria-label="Summary">'
        f"{grade_html(checks, penalty, mode)}"
        '<table class="cnnkit-functions"><thead><tr><th>Function</th><th>Points</th><th>What happened</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def verdict_html(check):
    """A check's verdict where its outputs were: its text once, the "show me" lines folded, a way back up."""
    state, _ = check.state()
    lines = list(dict.fromkeys(line for failure in check.failures for line in show_me_lines(failure)))
    return (
        f'<div class="cnnkit-verdict cnnkit-{state}"><pre class="cnnkit-verdict-text">{esc(text(check.shown, 20_000))}</pre>'
        f'{show_me_html(lines)}<p class="cnnkit-back"><a href="#cnnkit-summary">Back to the summary</a></p></div>'
    )


# ---------------------------------------------------------------- the step


def checks_of(nb, mode):
    """Every check cell with a verdict, in notebook order."""
    checks = []
    for cell in nb.cells:
        if cell.cell_type != "code" or not utils.is_grade(cell):
            continue
        index, record = verdict_of(cell)
        if record is not None:
            shown = cell.outputs[index].get("data", {}).get("text/plain", "")
            checks.append(Check(cell, record, shown if isinstance(shown, str) else "", mode))
    return checks


class FeedbackSummary(NbGraderPreprocessor):
    """generate_feedback, after GetGrades: the summary and each check's verdict, for the kit's feedback template."""

    def preprocess(self, nb, resources):
        mode = part_b.mode_in(self.config)
        checks = checks_of(nb, mode)
        penalty = float((resources.get("nbgrader") or {}).get("late_penalty") or 0.0)
        resources[RESOURCE] = {
            "summary": summary_html(checks, penalty, mode) if checks else "",
            "verdicts": {check.grade_id: verdict_html(check) for check in checks},
        }
        return nb, resources
