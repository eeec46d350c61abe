"""SanitizeForPeople: nothing a submission wrote runs as script in a person's browser (the allowlists: cnnkit.grading.allowlists).

People read a submission as HTML: feedback/*.html, and the formgrader's page for it (nbgrader renders the
autograded notebook there unsanitised). Student code decides what its cells display (any MIME type, output
metadata) and every markdown cell that is not locked is the student's text. This step, the last of
autograde and again in generate_feedback, leaves nothing there from which nbconvert makes script:

- outputs: JavaScript (any spelling) and widget views are dropped; text/html and image/svg+xml go through
  nh3 (the Ammonia sanitiser) keeping plain formatting, tables and images from data: URIs; text/markdown
  as a markdown cell; images must be base64; metadata that templates paste into attributes (image
  size, alt text, file names) and prompt numbers (printed raw) are checked;
- markdown cells the student could edit stay byte-identical when nbconvert's rendering of them holds
  nothing the sanitiser removes, else become the sanitised rendering (one HTML block). Locked cells whose
  source is the gradebook's are the instructor's, kept as they are; outputs are always sanitised (student
  code made them, in check cells too), and so are every markdown cell's attachments: PNG images only (a
  cell's source is checked against the gradebook, its attachments are not);
- a grade_id nbgrader's templates could not paste safely, and the notebook's widget state, are removed.

The work is bounded: a value too large, too deeply nested or that fails to sanitise becomes a short note
saying it was removed; a hostile output costs its author that output, never the submission.

Math is not sanitised here but where it is rendered (cnnkit.grading.mathml): LaTeX becomes MathML in the
grading process, and that MathML goes through ``allowlists.strict_mathml``, an allowlist of MathML Core's presentation
elements with no link, script, style or HTML inside. The HTML policy itself keeps no MathML at all: a
``<math>`` written by the student is taken apart like any unknown element.

Sanitising, rendering and checking are pure functions of their text, remembered within a bound
(cnnkit.grading.remember): most of every notebook is the release's, the same for every student.
"""

import base64
import binascii
import math
import re

from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_markdown_cell
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor

from cnnkit.grading.allowlists import (
    ATTACHMENT_NAME,
    HTML_START,
    IMAGE_MIMES,
    OUTPUT_TYPES,
    PNG_SIGNATURE,
    SAFE_GRADE_ID,
    SCRIPT_MIME_WORDS,
    links_are_safe,
    permissive_html,
    strict_html,
    strict_svg,
)
from cnnkit.grading.html_shape import structure_problem
from cnnkit.grading.remember import remembered

MAX_VALUE_CHARS = 1_000_000  # one output value, sanitised in Rust (about a second at most)
MAX_NOTEBOOK_CHARS = 16_000_000  # every value of one notebook together
# Markdown is parsed in Python, and some inputs take mistune about a second per 20,000 characters.
MAX_MARKDOWN_CHARS = 20_000  # one markdown cell or text/markdown output (the course's longest: 2,300)
MAX_NOTEBOOK_MARKDOWN = 200_000  # every markdown text of one notebook together
REMOVED = "[removed by the course kit: {what} ({why})]"

# ---------------------------------------------------------------- bounds


class Unsafe(Exception):
    """A value that is not sanitised: its message says why (shown in the note that replaces it)."""


class Budget:
    """How many characters of one notebook may still be sanitised: in all, and of markdown."""

    def __init__(self, chars=MAX_NOTEBOOK_CHARS, markdown=MAX_NOTEBOOK_MARKDOWN):
        self.left = {"all": chars, "markdown": markdown}

    def spend(self, text, limit, pool="all"):
        """Take len(text) from the pool (and from "all"); Unsafe when text or the notebook is too large."""
        if len(text) > limit:
            raise Unsafe(f"{len(text):,} characters, more than {limit:,}")
        pools = {pool, "all"}
        for name in pools:
            if len(text) > self.left[name]:
                raise Unsafe(f"the notebook's {'markdown' if name == 'markdown' else 'outputs'} are too large in all")
        for name in pools:
            self.left[name] -= len(text)


def as_text(value):
    """A MIME bundle's text (nbformat may keep it as a list of lines); Unsafe when it is not text."""
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        value = "".join(value)
    if not isinstance(value, str):
        raise Unsafe(f"{type(value).__name__} where text belongs")
    return value


def checked_html(value, budget, limit=MAX_VALUE_CHARS):
    text = as_text(value)
    budget.spend(text, limit)
    problem = structure_problem(text)
    if problem:
        raise Unsafe(problem)
    return text


# ---------------------------------------------------------------- markdown


def render_markdown(source, attachments=None):
    """HTML of markdown exactly as nbconvert renders it (its HTMLExporter's markdown2html filter)."""
    return _rendered_markdown(source, frozen_attachments(attachments))


def frozen_attachments(attachments):
    """A cell's attachments as nested tuples (a key for remembered renderings)."""
    return tuple((name, tuple(bundle.items())) for name, bundle in (attachments or {}).items())


@remembered
def _rendered_markdown(source, attachments):
    renderer = IPythonRenderer(escape=False, attachments={name: dict(bundle) for name, bundle in attachments})
    return MarkdownWithMath(renderer=renderer).render(source)


def clean_markdown(source, budget, attachments=None):
    """Markdown whose rendering holds no script: source itself when nothing had to go, else safe HTML.

    Markdown without raw HTML renders to elements nbconvert makes itself; it stays byte-identical unless
    the sanitiser would change its rendering (a javascript: link, an image from elsewhere). Anything with
    raw HTML becomes its sanitised rendering, on one line inside a <div>: one HTML block, which markdown
    renderers pass through unchanged. That is checked by rendering the result again.
    """
    text = as_text(source)
    budget.spend(text, MAX_MARKDOWN_CHARS, "markdown")
    if is_clean_block(text):
        return text  # made by this function already (generate_feedback sanitises the autograded notebook again)
    rendered = checked_html(render_markdown(text, attachments), budget)
    if not HTML_START.search(text) and links_are_safe(rendered) and strict_html(rendered) == permissive_html(rendered):
        return text
    converted = one_html_block(strict_html(rendered))
    if render_markdown(converted).strip() != converted:
        raise Unsafe("its HTML could not be kept apart from markdown")
    return converted


def one_html_block(safe_html):
    """Sanitised HTML as one line inside a <div>: markdown renderers pass it through as it is."""
    return "<div>" + safe_html.replace("\r", "&#13;").replace("\n", "&#10;") + "</div>"


def is_clean_block(text):
    """True for what one_html_block makes: sanitised HTML that markdown renders as it is."""
    if not (text.startswith("<div>") and text.endswith("</div>")) or "\n" in text or structure_problem(text):
        return False
    return text == one_html_block(strict_html(text[5:-6])) and render_markdown(text).strip() == text


def clean_attachments(attachments):
    """A markdown cell's attachments, PNG images in base64 only (nbconvert inlines them as data: URIs).

    One image format, the one notebooks and the release's figures use: no browser's decoder of another
    format (SVG above all, but also the rarer raster ones) is offered a submission's bytes.
    """
    if not isinstance(attachments, dict):
        return {}
    kept = {}
    for name, bundle in attachments.items():
        if isinstance(bundle, dict) and is_png(bundle.get("image/png")):
            kept[name] = NotebookNode({"image/png": bundle["image/png"]})
    return kept


def is_png(value):
    """True for base64 text whose bytes start as a PNG file does."""
    if not is_base64(value):
        return False
    try:
        head = base64.b64decode(re.sub(r"\s", "", value[:64])[:12])
    except (binascii.Error, ValueError):
        return False
    return head.startswith(PNG_SIGNATURE)


def names_attachments_it_has(cell):
    """True when every attachment a markdown cell's text names is one of its attachments (nbconvert refuses to
    render the whole notebook otherwise). Errs towards False: any "attachment:" the text holds counts."""
    if cell.get("cell_type") != "markdown":
        return True
    attachments = cell.get("attachments") or {}
    return all(name in attachments for name in ATTACHMENT_NAME.findall(as_text(cell.get("source", ""))))


def is_base64(value):
    """True for text made of base64 characters only (nbconvert pastes it into <img src="data:...">)."""
    return isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9+/=\s]*", value) is not None


# ---------------------------------------------------------------- outputs


def is_script_mime(mime):
    """True for MIME types whose rendering runs script (JavaScript in any spelling, widget views)."""
    return any(word in mime.lower() for word in SCRIPT_MIME_WORDS)


def clean_value(mime, value, budget):
    """One MIME bundle entry made safe, or None when it must go (raises Unsafe with the reason)."""
    if is_script_mime(mime):
        return None
    if mime == "text/html":
        return strict_html(checked_html(value, budget))
    if mime == "image/svg+xml":
        return strict_svg(checked_html(value, budget))
    if mime == "text/markdown":
        return clean_markdown(value, budget)
    if mime in IMAGE_MIMES and not is_base64(as_text(value)):
        raise Unsafe(f"{mime} that is not base64")
    return value


def clean_metadata(metadata):
    """Output metadata without what nbconvert pastes into attributes unchecked (image size, file names)."""
    if not isinstance(metadata, dict):
        return NotebookNode()
    cleaned = NotebookNode()
    for key, value in metadata.items():
        if key == "filenames":
            continue  # only nbconvert's ExtractOutput writes these; templates turn them into <img src>
        if isinstance(value, dict):
            value = NotebookNode({name: entry for name, entry in value.items() if safe_display_option(name, entry)})
        cleaned[key] = value
    return cleaned


def safe_display_option(name, value):
    """Per-MIME display options the templates read: sizes must be numbers, flags booleans, alt text short."""
    if name in ("width", "height"):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if name in ("unconfined", "isolated", "needs_background"):
        return isinstance(value, (bool, str)) and len(str(value)) < 20
    if name == "alt":
        return isinstance(value, str) and len(value) < 1000
    return True


def prompt_number(value):
    """An execution count as nbformat defines it (a non-negative int or None): nbconvert prints it raw."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def note_output(what, why):
    text = REMOVED.format(what=what, why=why)
    return NotebookNode(output_type="display_data", metadata=NotebookNode(), data=NotebookNode({"text/plain": text}))


def clean_output(output, budget):
    """One output made safe; an output that cannot be becomes a note saying it was removed."""
    kind = output.get("output_type") if isinstance(output, dict) else None
    if kind not in OUTPUT_TYPES:
        return note_output("an output", f"unknown output type {str(kind)[:40]!r}")
    if kind == "stream":
        output["name"] = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        output["text"] = as_text(output.get("text", ""))
        return output
    if kind == "error":  # nbconvert escapes these; they must be text for it to
        output["ename"], output["evalue"] = str(output.get("ename", ""))[:1000], str(output.get("evalue", ""))
        output["traceback"] = [str(line) for line in output.get("traceback", [])][:1000]
        return output
    data = output.get("data")
    if not isinstance(data, dict):
        return note_output("an output", "no MIME bundle")
    output["data"] = clean_bundle(data, budget)
    output["metadata"] = clean_metadata(output.get("metadata"))
    if kind == "execute_result":
        output["execution_count"] = prompt_number(output.get("execution_count"))
    return output


def clean_bundle(data, budget):
    """A MIME bundle with every entry made safe; what had to go is named in its text/plain."""
    cleaned, notes = NotebookNode(), []
    for mime, value in data.items():
        mime = str(mime)
        try:
            safe = clean_value(mime, value, budget)
        except Exception as error:  # any failure is the value's, never the submission's
            notes.append(REMOVED.format(what=mime[:60], why=reason(error)))
            continue
        if safe is None:
            notes.append(REMOVED.format(what=mime[:60], why="script is not run for people"))
        else:
            cleaned[mime] = safe
    if notes:
        cleaned["text/plain"] = "\n".join(notes)
    return cleaned


def reason(error):
    return str(error)[:200] if isinstance(error, Unsafe) else f"it could not be sanitised: {type(error).__name__}"


# ---------------------------------------------------------------- cells


def instructor_cells(resources):
    """grade_id -> (cell type, source) of the notebook's locked cells, as the gradebook holds them."""
    info = resources.get("nbgrader", {}) if isinstance(resources, dict) else {}
    if not all(info.get(key) for key in ("db_url", "assignment", "notebook")):
        return {}
    try:
        with Gradebook(info["db_url"]) as gradebook:
            cells = gradebook.find_notebook(info["notebook"], info["assignment"]).source_cells
            return {cell.name: (cell.cell_type, cell.source) for cell in cells if cell.locked}
    except Exception:  # no gradebook: no cell is the instructor's, every one is sanitised
        return {}


def is_instructor_cell(cell, locked_cells):
    """A locked cell that is exactly the gradebook's (nbgrader's OverwriteCells restored it)."""
    if not utils.is_locked(cell):
        return False
    expected = locked_cells.get(cell.metadata.get("nbgrader", {}).get("grade_id"))
    return expected == (cell.cell_type, cell.source)


def clean_cell(cell, budget, locked_cells):
    """One cell made safe for a person's browser (outputs and attachments always; its text unless the instructor's)."""
    if cell.get("cell_type") == "code":
        cell["execution_count"] = prompt_number(cell.get("execution_count"))
        cell["outputs"] = [safe_output(output, budget) for output in cell.get("outputs", [])]
    intact = True  # the cell's attachments are all there, and all PNG images
    if cell.get("cell_type") == "markdown" and "attachments" in cell:
        kept = clean_attachments(cell["attachments"])
        intact = kept == cell["attachments"]
        cell["attachments"] = kept
    if is_instructor_cell(cell, locked_cells) and intact and names_attachments_it_has(cell):
        return cell
    nbgrader = cell.get("metadata", {}).get("nbgrader")
    if isinstance(nbgrader, dict) and not SAFE_GRADE_ID.match(str(nbgrader.get("grade_id", "x"))):
        del cell.metadata["nbgrader"]  # nbgrader's templates paste grade_id into HTML unescaped
    if cell.get("cell_type") == "markdown":
        try:
            cell["source"] = clean_markdown(cell.get("source", ""), budget, cell.get("attachments"))
        except Exception as error:  # the cell's text is lost, never the submission
            cell["source"] = REMOVED.format(what="the text of this markdown cell", why=reason(error))
    return cell


def safe_output(output, budget):
    try:
        return clean_output(output, budget)
    except Exception as error:  # the output is lost, never the submission
        return note_output("an output", reason(error))


def safe_cell(cell, budget, locked_cells):
    try:
        return clean_cell(cell, budget, locked_cells)
    except Exception as error:  # the cell is lost, never the submission
        return new_markdown_cell(REMOVED.format(what="a cell", why=reason(error)))


def sanitize_notebook(nb, locked_cells=None, budget=None):
    """Every cell of nb made safe to render for a person (in place); returns nb."""
    budget = budget or Budget()
    locked_cells = locked_cells or {}
    if isinstance(nb.get("metadata"), dict):
        nb.metadata.pop("widgets", None)  # widget state makes nbconvert load and run the widget manager
    nb.cells = [safe_cell(cell, budget, locked_cells) for cell in nb.cells]
    return nb


class SanitizeForPeople(NbGraderPreprocessor):
    """The last step of autograde (and a step of generate_feedback): the notebook people see runs no script."""

    def preprocess(self, nb, resources):
        return sanitize_notebook(nb, instructor_cells(resources)), resources
