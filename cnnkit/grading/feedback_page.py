"""The feedback page: nbconvert's HTML export, with its last pass made without re-parsing the page.

nbconvert's HTMLExporter ends by parsing the whole page it has just rendered with BeautifulSoup's
pure-Python parser, to give images without alternative text a stock one and to make the cells of
JupyterLab-styled pages focusable; then it serialises the parse again. For this notebook's feedback
that pass was over half of what ``nbgrader generate_feedback`` spent per student. ``FeedbackExporter``
renders the same page and makes those two changes with two precise substitutions instead
(tests/grading/test_feedback_page.py compares both pages, parsed). ``c.GenerateFeedback.exporter_class``
names it, so ``make feedback`` and the grading service make the same pages.

It also remembers, for the life of the process, each code cell's syntax highlighting (pygments, a pure
function of the source, the language and the formatter's options): most cells are the release's, the
same for every student, and highlighting them was the next biggest cost of a page.
"""

import functools
import json
import re

from nbconvert.exporters import HTMLExporter
from nbconvert.filters.highlight import Highlight2HTML

from cnnkit import compat

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
    """nbconvert's highlight filter, each result remembered (per lexer and formatter options) for later pages."""

    def __call__(self, source, language=None, metadata=None):
        options = json.dumps(self.extra_formatter_options, sort_keys=True, default=repr)
        described = json.dumps(metadata, sort_keys=True, default=repr)
        return _highlighted(self.pygments_lexer, options, source, language, described)


@functools.lru_cache(maxsize=4096)
def _highlighted(lexer, options, source, language, metadata):
    highlighter = Highlight2HTML(pygments_lexer=lexer, extra_formatter_options=json.loads(options))
    return highlighter(source, language, json.loads(metadata))


class FeedbackExporter(HTMLExporter):
    """HTMLExporter, the same page, without its re-parse of the finished page, highlighting remembered."""

    def from_notebook_node(self, nb, resources=None, **kw):
        info = nb.metadata.get("language_info", {})
        lexer = info.get("pygments_lexer", info.get("name", None))
        if "highlight_code" not in self.filters:  # HTMLExporter takes a configured one over its own
            self.filters = {**self.filters, "highlight_code": RememberingHighlighter(pygments_lexer=lexer, parent=self)}
        try:
            with compat.html_export_without_reparse():
                page, resources = super().from_notebook_node(nb, resources, **kw)
        finally:
            self.filters = {name: f for name, f in self.filters.items() if not isinstance(f, RememberingHighlighter)}
        return accessible(page), resources
