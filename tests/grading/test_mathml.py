"""Formulas as MathML made by the grading process (cnnkit.grading.mathml): every formula of the release renders,
none carries markup the LaTeX smuggled in, and everything else renders as nbconvert renders it.

Chromium renders them in the feedback page: tests/grading/test_feedback_in_browser.py.
"""

import copy
import re

import pytest
from bs4 import BeautifulSoup
from latex2mathml.converter import convert
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbformat.v4 import new_markdown_cell
from traitlets.config import Config

from cnnkit import course
from cnnkit.grading import allowlists, mathml
from cnnkit.spec import notebook, samples
from tests.grading.feedback_pages import course_config, feedback_page, judged
from tests.grading.test_sanitize import PNG, PWNED_MARKER, pwn, script_sites

MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.S)


def release_markdown():
    nb = notebook.read(course.RELEASE / f"{course.ASSIGNMENT}.ipynb")
    return [cell for cell in nb.cells if cell.cell_type == "markdown"]


def stock(source, attachments=None):
    """nbconvert's own rendering (formulas left as LaTeX text, for MathJax)."""
    return MarkdownWithMath(renderer=IPythonRenderer(escape=False, attachments=attachments or {})).render(source)


def test_every_formula_of_the_release_becomes_mathml():
    cells = [cell for cell in release_markdown() if MATH.search(cell.source)]
    assert cells, "the release has formulas"
    for cell in cells:
        rendered = BeautifulSoup(mathml.markdown_html(cell.source, cell.get("attachments")), "html.parser")
        formulas = len(MATH.findall(cell.source))
        assert len(rendered.select("math")) == formulas, cell.source[:200]
        assert "$" not in rendered.get_text() and "\\" not in rendered.get_text(), rendered.get_text()[:300]
    block = mathml.mathml(r"n_H = \left\lfloor \frac{n_{H,prev} - f + 2 \cdot pad}{stride} \right\rfloor + 1", "block")
    assert block.startswith('<math display="block">') and "<mfrac>" in block and "⌊" in block


def test_everything_but_formulas_renders_as_nbconvert_renders_it():
    for cell in release_markdown():
        ours, theirs = (
            mathml.markdown_html(cell.source, cell.get("attachments")),
            stock(cell.source, cell.get("attachments")),
        )
        assert MATH.sub("", theirs) == re.sub(r"<math .*?</math>", "", ours, flags=re.S)


@pytest.mark.parametrize(
    "latex",
    [
        r"\frac{" * 400,  # the converter's parser recurses too deep
        r"\sqrt{x}" * 1000,  # longer than MAX_LATEX
        r"\unknowncommand{x}",  # a command the converter would print as a symbol
        "  ",
    ],
)
def test_a_formula_that_cannot_be_mathml_stays_as_nbconvert_shows_it(latex):
    assert mathml.mathml(latex, "inline") is None
    assert mathml.markdown_html(f"A ${latex}$ here.") == stock(f"A ${latex}$ here.")


# ---------------------------------------------------------------- what LaTeX can smuggle into MathML

LATEX_ATTACKS = {
    "href": rf"\href{{javascript:{pwn('href')}}}{{click}}",
    "text-script": rf"\text{{<script>{pwn('text-script')}</script>}}",
    "text-img": rf"\text{{<img/src=x/onerror={pwn('text-img')}>}}",  # mtext turns spaces into no-break spaces
    "mathrm-tags": rf"\mathrm{{</math><img src=x onerror={pwn('mathrm')}>}}",
    "style": rf"\style{{background:url(javascript:{pwn('style')})}}{{x}}",
    "color": rf"\color{{javascript:{pwn('color')}}}{{x}}",
    "class": rf"\class{{x\" onmouseover=\"{pwn('class')}}}{{x}}",
}


def test_the_converter_alone_writes_what_latex_smuggles():
    """The premise: latex2mathml passes markup, links and styles through (its output is not safe as it is)."""
    for name in ("href", "text-script", "text-img", "style"):
        assert script_sites(convert(LATEX_ATTACKS[name])) or "<script" in convert(LATEX_ATTACKS[name]), name


@pytest.mark.parametrize("name", list(LATEX_ATTACKS))
def test_smuggled_markup_does_not_survive_as_a_formula(name):
    for display in ("inline", "block"):
        shown = mathml.mathml(LATEX_ATTACKS[name], display) or ""
        assert script_sites(shown) == [], shown
        assert not re.search(r"<(?!/?m[a-z]*\b|/?none\b)[a-z]", shown), f"a non-MathML element survived: {shown}"
        assert not re.search(r"\s(href|style|class|on\w+|xlink:href|src)=", shown), shown
    page = mathml.markdown_html(f"Before ${LATEX_ATTACKS[name]}$ and $${LATEX_ATTACKS[name]}$$ after.")
    assert script_sites(page) == []


def test_a_formula_in_an_images_alt_text_stays_text():
    source = f'![${{\\text{{" onerror="{pwn("alt")}}}}}$](attachment:a.png)'
    page = mathml.markdown_html(source, {"a.png": {"image/png": PNG}})
    [image] = BeautifulSoup(page, "html.parser").select("img")
    assert set(image.attrs) == {"src", "alt"} and script_sites(page) == []
    assert PWNED_MARKER in image["alt"]


def test_mathml_is_sanitised_by_an_allowlist():
    allowed = allowlists.strict_mathml(
        '<math display="block"><mfrac linethickness="0"><mi mathvariant="bold">a</mi><mn>2</mn></mfrac>'
        '<mspace width="0.5em"></mspace><mo stretchy="false">(</mo></math>'
    )
    assert allowed == (
        '<math display="block"><mfrac linethickness="0"><mi mathvariant="bold">a</mi><mn>2</mn></mfrac>'
        '<mspace width="0.5em"></mspace><mo stretchy="false">(</mo></math>'
    )
    assert allowlists.strict_mathml('<math><mstyle mathcolor="url(javascript:x)"><mi>x</mi></mstyle></math>') == (
        "<math><mstyle><mi>x</mi></mstyle></math>"
    )


# ---------------------------------------------------------------- the formgrader


def formgrader_page(config):
    """The formgrader's page of a notebook, made as its submission handler makes it (its exporter, its template)."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers

    config.merge(
        Config({"HTMLExporter": {"template_name": "formgrade", "extra_template_basedirs": [handlers.template_path]}})
    )
    nb = notebook.read(course.RELEASE / f"{course.ASSIGNMENT}.ipynb")
    resources = {
        "assignment_id": course.ASSIGNMENT,
        "notebook_id": course.ASSIGNMENT,
        "submission_id": "x",
        "index": 0,
        "total": 1,
        "base_url": "",
        "student": "s",
        "last_name": "",
        "first_name": "",
        "notebook_path": "x.ipynb",
    }
    page, _ = HTMLExporter(config=config).from_notebook_node(nb, resources)
    return BeautifulSoup(page, "html.parser")


def test_the_formgrader_shows_formulas_as_mathml_with_the_courses_configuration():
    raw_latex = re.compile(r"\$\$|\\frac|\\lfloor")
    stock_page = formgrader_page(Config())
    assert raw_latex.search(stock_page.get_text()), "the premise: nbgrader's formgrader leaves LaTeX for MathJax"
    ours = formgrader_page(course_config())
    assert len(ours.select("math")) >= 10 and not raw_latex.search(ours.get_text())


# ---------------------------------------------------------------- MathML through the whole feedback pipeline

STUDENT_MATH = {
    "mtext-script": f"<math><mtext><script>{pwn('md-mtext-script')}</script></mtext></math>",
    "mtext-img": f'<math><mtext><img src=x onerror="{pwn("md-mtext-img")}"></mtext></math>',
    "xlink": f'<math><mi xlink:href="javascript:{pwn("md-xlink")}">x</mi></math>',
    "math-href": f'<math href="javascript:{pwn("md-math-href")}"><mi>x</mi></math>',
    "annotation-xml": (
        '<math><semantics><mi>x</mi><annotation-xml encoding="text/html">'
        f'<img src=x onerror="{pwn("md-annotation")}"></annotation-xml></semantics></math>'
    ),
    "latex-text": f"$\\text{{<script>{pwn('md-latex-text')}</script>}}$",
    "latex-href": f"$$\\href{{javascript:{pwn('md-latex-href')}}}{{x}}$$",
    "latex-in-html": f'<div title="$x$">$\\text{{<img src=x onerror={pwn("md-latex-in-html")}>}}$</div>',
}


@pytest.fixture(scope="module")
def untouched():
    """The release as handed in untouched, judged."""
    return judged(samples.SAMPLES["sample-untouched"][0](notebook.solutions()))


@pytest.mark.parametrize("name", list(STUDENT_MATH))
def test_math_a_student_writes_runs_no_script_in_the_feedback_page(name, untouched):
    """A student's markdown cell with MathML or LaTeX, through SanitizeForPeople and the kit's page."""
    nb = copy.deepcopy(untouched)
    nb.cells.insert(1, new_markdown_cell(f"My notes {STUDENT_MATH[name]} end."))
    page, _ = feedback_page(nb)
    assert script_sites(page) == [], name
    soup = BeautifulSoup(page, "html.parser")
    assert not soup.select("script, math a, math img, math [href], annotation-xml, semantics"), name
    assert "My notes" in soup.get_text()
