"""Math in markdown, rendered as MathML by the grading process: formulas read in any browser, with no script.

nbconvert leaves LaTeX (``$...$``, ``$$...$$``, ``\\begin{...}``) as text for MathJax to typeset in the
browser; feedback pages and the formgrader then show it raw wherever MathJax's script does not load. Here
the same markdown renderer (nbconvert's, so everything else comes out as it always did) writes each formula
as MathML instead: converted by latex2mathml, then sanitised by ``allowlists.strict_mathml`` (an allowlist of
MathML's presentation elements and plain attribute values: a formula holds no link, script, style or HTML,
whatever its LaTeX said). A formula that cannot be converted, or is longer than MAX_LATEX, is shown as
nbconvert shows it.

``markdown2html`` is the Jinja filter: ``FeedbackExporter`` (feedback pages) renders markdown with it, and
nbgrader_config.py names it for every ``HTMLExporter`` nbgrader builds, the formgrader's included. Rendered
formulas and pages are remembered (cnnkit.grading.remember): the release's markdown is every student's.
"""

import json

from jinja2 import pass_context
from latex2mathml.converter import convert
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

from cnnkit.grading.allowlists import strict_mathml
from cnnkit.grading.html_shape import structure_problem
from cnnkit.grading.remember import remembered
from cnnkit.grading.sanitize import frozen_attachments

MAX_LATEX = 5_000  # characters of one formula (the notebook's longest has 300); longer ones stay LaTeX text


@remembered
def mathml(latex, display):
    """latex as sanitised MathML (display "block" or "inline"), or None when it cannot be shown as MathML.

    None for LaTeX the converter does not know (it would print the command's name as a symbol), fails on,
    or turns into markup too deep to sanitise.
    """
    if len(latex) > MAX_LATEX or not latex.strip():
        return None
    try:
        converted = convert(latex, display=display)
    except Exception:  # the converter's parser on any LaTeX a student wrote: the formula stays text
        return None
    if structure_problem(converted):
        return None
    safe = strict_mathml(converted)
    return None if "\\" in safe else safe  # a command the converter passed through as text


class MathMLRenderer(IPythonRenderer):
    """nbconvert's markdown renderer, with formulas written as MathML."""

    def block_math(self, body):
        return mathml(body, "block") or super().block_math(body)

    def inline_math(self, body):
        return mathml(body, "inline") or super().inline_math(body)

    def latex_environment(self, name, body):
        return mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", "block") or super().latex_environment(name, body)


def markdown_html(source, attachments=None, **options):
    """HTML of markdown as nbconvert's markdown2html makes it (options: its renderer's), formulas as MathML."""
    return _rendered(source, frozen_attachments(attachments), json.dumps(options, sort_keys=True))


@remembered
def _rendered(source, attachments, options):
    bundles = {name: dict(bundle) for name, bundle in attachments}
    renderer = MathMLRenderer(escape=False, attachments=bundles, **json.loads(options))
    return MarkdownWithMath(renderer=renderer).render(source)


@pass_context
def markdown2html(context, source):
    """The markdown2html filter of nbconvert's templates, with nbconvert's default options."""
    cell = context.get("cell", {})
    return markdown_html(source, cell.get("attachments"))
