"""The feedback exporter makes nbconvert's page without re-parsing it: parsed, both pages are the same; what it
remembers between pages (highlighting, markdown, sanitising, compiled templates) changes no byte of a page."""

import copy

import pytest
from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter, html
from nbformat.v4 import new_code_cell, new_output
from traitlets.config import Config

from cnnkit import compat, course
from cnnkit.grading import feedback_page, remember
from cnnkit.grading.feedback_page import FeedbackExporter, accessible
from cnnkit.spec import notebook, samples
from tests.grading.feedback_pages import course_config, judged
from tests.grading.feedback_pages import feedback_page as make_page

MATH_FILTER = "cnnkit.grading.mathml.markdown2html"


def with_html_outputs(nb):
    """The release notebook plus HTML outputs holding images with and without alt text."""
    nb = copy.deepcopy(nb)
    cell = new_code_cell("show()")
    cell.outputs = [
        new_output("display_data", data={"text/html": '<img src="data:image/png;base64,AAAA"><IMG SRC="x.png" />'}),
        new_output("display_data", data={"text/html": '<img alt="a dog" src="dog.png">'}),
    ]
    nb.cells.append(cell)
    return nb


@pytest.mark.parametrize("template", ["lab", "classic"])
def test_the_page_equals_nbconverts_once_parsed(template):
    nb = with_html_outputs(notebook.read(course.RELEASE / f"{course.ASSIGNMENT}.ipynb"))
    # The course's formulas filter for both (nbgrader_config.py names it for every HTMLExporter).
    config = Config({"HTMLExporter": {"template_name": template, "filters": {"markdown2html": MATH_FILTER}}})
    stock, _ = HTMLExporter(config=config).from_notebook_node(nb)
    ours, _ = FeedbackExporter(config=config).from_notebook_node(nb)
    again, _ = FeedbackExporter(config=config).from_notebook_node(nb)  # highlighting remembered this time
    assert str(BeautifulSoup(ours, features="html.parser")) == stock
    assert again == ours
    parsed = BeautifulSoup(ours, features="html.parser")
    assert len(parsed.select("img")) >= 4 and not parsed.select("img:not([alt])")
    if template == "lab":  # the cells are made focusable on JupyterLab-styled pages
        assert parsed.select('div.jp-Cell-inputWrapper[tabindex="0"]')
        assert not parsed.select("div.jp-Cell-inputWrapper:not([tabindex])")


def test_images_and_cells_get_what_nbconvert_gives_them_once():
    page = (
        '<img src="a.png"><img alt="kept" src="b.png"/><img src="c.png" />'
        '<div class="jp-Cell jp-Cell-inputWrapper"><div class="jp-OutputArea-output-prompt x">'
        '<div class="jp-OutputArea-output" tabindex="-1">'
    )
    assert accessible(page) == (
        '<img src="a.png" alt="No description has been provided for this image">'
        '<img alt="kept" src="b.png"/><img src="c.png" alt="No description has been provided for this image" />'
        '<div class="jp-Cell jp-Cell-inputWrapper" tabindex="0"><div class="jp-OutputArea-output-prompt x">'
        '<div class="jp-OutputArea-output" tabindex="-1">'
    )


def test_the_pass_it_replaces_is_checked(monkeypatch):
    compat.check_feedback()
    original = html.HTMLExporter.from_notebook_node

    def from_notebook_node(self, nb, resources=None, **kw):
        page, resources = original(self, nb, resources, **kw)
        soup = BeautifulSoup(page, features="html.parser")
        for elem in soup.select("a:not([title])"):  # a new touch nbconvert might add one day
            elem.attrs["title"] = "link"
        return str(soup), resources

    monkeypatch.setattr(html.HTMLExporter, "from_notebook_node", from_notebook_node)
    with pytest.raises(compat.FeedbackApiChanged, match="BeautifulSoup pass"):
        compat.check_feedback()


# ---------------------------------------------------------------- what pages share, remembered


def run_at(nb, second):
    """nb with the execution times nbclient writes into each code cell's metadata (new on every run)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            stamp = f"2026-01-15T12:00:{second:02d}.{id(cell) % 10**6:06d}Z"
            cell.metadata["execution"] = {"iopub.execute_input": stamp, "shell.execute_reply": stamp}
    return nb


@pytest.fixture(scope="module")
def two_submissions():
    """Two judged notebooks: the partial sample and the untouched release."""
    answers = notebook.solutions()
    return [judged(samples.SAMPLES[name][0](answers)) for name in ("sample-partial", "sample-untouched")]


def test_what_pages_share_is_remembered_and_changes_no_byte(two_submissions, monkeypatch):
    config = course_config()
    with monkeypatch.context() as nothing_remembered:
        nothing_remembered.setattr(remember, "MAX_CHARS", -1)
        nothing_remembered.setattr(feedback_page, "COMPILED", feedback_page.CompiledTemplates())
        fresh = [make_page(run_at(nb, 1), config)[0] for nb in two_submissions]
    remember.forget_all()
    again = [make_page(run_at(nb, second), config)[0] for second in (2, 3) for nb in two_submissions]
    assert again == fresh + fresh
    assert feedback_page.COMPILED.compiled, "the templates were compiled once, for every page"


def test_highlighting_is_remembered_whatever_the_execution_times(two_submissions):
    """nbclient writes new execution times into every cell's metadata: they are no part of what is remembered."""
    config = course_config()
    remember.forget_all()
    make_page(run_at(two_submissions[0], 1), config)
    before = feedback_page._highlighted.cache_info()
    make_page(run_at(two_submissions[0], 2), config)
    after = feedback_page._highlighted.cache_info()
    code_cells = sum(cell.cell_type == "code" for cell in two_submissions[0].cells)
    assert after.misses == before.misses and after.hits - before.hits == code_cells
