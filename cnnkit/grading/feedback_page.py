"""The feedback page: nbconvert's HTML export, with its last pass made without re-parsing the page.

nbconvert's HTMLExporter ends by parsing the whole page it has just rendered with BeautifulSoup's
pure-Python parser, to give images without alternative text a stock one and to make the cells of
JupyterLab-styled pages focusable; then it serialises the parse again. For this notebook's feedback
that pass was over half of what ``nbgrader generate_feedback`` spent per student. ``FeedbackExporter``
renders the same page and makes those two changes with two precise substitutions instead
(tests/grading/test_feedback_page.py compares both pages, parsed). ``c.GenerateFeedback.exporter_class``
names it, so ``make feedback`` and the grading service make the same pages.

Its template (``c.FeedbackExporter.template_name``, in templates/ beside this file) is nbgrader's feedback page
with the kit's summary on top and each check's verdict as the kit wrote it (cnnkit.grading.feedback_summary),
lines that wrap, and no script at all: formulas are MathML (cnnkit.grading.mathml), not MathJax.

It also remembers, for the life of the process, what every page has in common (most of a page is the
release's, the same for every student): each code cell's syntax highlighting (pygments, a pure function of
the source, the language and the formatter's options), each markdown text's rendering, and the compiled
templates (Jinja compiles them anew for every exporter, that is for every page nbgrader makes).
"""

import json
import os
import re
from pathlib import Path

from jinja2 import BytecodeCache
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.highlight import Highlight2HTML
from traitlets import default, validate

from cnnkit import compat
from cnnkit.grading import mathml
from cnnkit.grading.remember import remembered

TEMPLATES = Path(__file__).resolve().parent / "templates"  # the kit's templates: cnnkit_feedback/
NO_ALT = "No description has been provided for this image"  # nbconvert's words
# An <img> start tag with no alt attribute (the page's markup: outputs' own HTML was sanitised before).
IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\salt\s*=)([^>]*?)(\s*/?)>", re.IGNORECASE)
# The <div> start tags HTMLExporter makes focusable (JupyterLab-styled pages only).
FOCUSABLE_DIV = re.compile(
    r'(<div\b(?![^>]*\stabindex\s*=)[^>]*\sclass="(?:[^"]*\s)?(?:jp-Cell-inputWrapper|jp-OutputArea-output)(?=[\s"])'
    r'[^"]*"[^>]*?)(\s*/?)>'
)


def accessible(page):
    """page with alt text on every image and tabindex="0" on the cells' input and output areas."""
    page = IMG_WITHOUT_ALT.sub(lambda m: f'<img{m.group(1)} alt="{NO_ALT}"{m.group(2)}>', page)
    return FOCUSABLE_DIV.sub(lambda m: f'{m.group(1)} tabindex="0"{m.group(2)}>', page)


class RememberingHighlighter(Highlight2HTML):
    """nbconvert's highlight filter, each result remembered (per lexer and formatter options) for later pages.

    Of a cell's metadata, highlighting reads only "magics_language" (nbconvert's _pygments_highlight): the
    rest (nbclient's execution times, different on every page) is no part of the key.
    """

    def __call__(self, source, language=None, metadata=None):
        options = json.dumps(self.extra_formatter_options, sort_keys=True, default=repr)
        magic = (metadata or {}).get("magics_language")
        return _highlighted(self.pygments_lexer, options, source, language, magic)


@remembered
def _highlighted(lexer, options, source, language, magic):
    highlighter = Highlight2HTML(pygments_lexer=lexer, extra_formatter_options=json.loads(options))
    return highlighter(source, language, None if magic is None else {"magics_language": magic})


class CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates, kept in memory for every exporter of the process (checked against the source)."""

    def __init__(self):
        self.compiled = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])  # ignored if the template's source changed

    def dump_bytecode(self, bucket):
        self.compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED = CompiledTemplates()


class FeedbackExporter(HTMLExporter):
    """HTMLExporter, the same page, without its re-parse of the finished page, with what pages share remembered."""

    @default("extra_template_basedirs")
    def _kit_templates_by_default(self):
        return [os.getcwd(), str(TEMPLATES)]

    @validate("extra_template_basedirs")
    def _kit_templates_always(self, proposal):
        """The kit's templates are found whatever folders are configured (nbgrader configures its own)."""
        folders = list(proposal["value"])
        return folders if str(TEMPLATES) in folders else [*folders, str(TEMPLATES)]

    def default_filters(self):
        yield from super().default_filters()
        yield ("markdown2html", mathml.markdown2html)

    def from_notebook_node(self, nb, resources=None, **kw):
        info = nb.metadata.get("language_info", {})
        lexer = info.get("pygments_lexer", info.get("name", None))
        if "highlight_code" not in self.filters:  # HTMLExporter takes a configured one over its own
            self.filters = {**self.filters, "highlight_code": RememberingHighlighter(pygments_lexer=lexer, parent=self)}
        self.environment.bytecode_cache = COMPILED
        try:
            with compat.html_export_without_reparse():
                page, resources = super().from_notebook_node(nb, resources, **kw)
        finally:
            self.filters = {name: f for name, f in self.filters.items() if not isinstance(f, RememberingHighlighter)}
        return accessible(page), resources
