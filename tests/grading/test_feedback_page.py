"""The feedback exporter makes nbconvert's page without re-parsing it: parsed, both pages are the same."""

import copy

import pytest
from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter, html
from nbformat.v4 import new_code_cell, new_output
from traitlets.config import Config

from cnnkit import compat, course
from cnnkit.grading.feedback_page import FeedbackExporter, accessible
from cnnkit.spec import notebook


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
    config = Config({"HTMLExporter": {"template_name": template}})
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
