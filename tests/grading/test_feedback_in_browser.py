"""The feedback page as a student sees it, in headless Chromium with JavaScript switched off.

The pages are the partial and untouched samples' (made in-process by GenerateFeedback's exporter and steps,
tests/grading/feedback_pages.py). With no script at all, the page must show the summary on top, wrap
every line inside its box, lay the points table out as a table and draw every formula (MathML). The same
checks on a page made with nbgrader's own feedback template (the old page) show what each one catches.
Screenshots: test-artifacts/browser/feedback-*.png.
"""

import pytest
from nbconvert.exporters import HTMLExporter

from cnnkit.spec import notebook, samples
from tests.e2e.browser_support import CHROMIUM_ARGS, require_chromium, require_playwright, screenshot
from tests.grading.feedback_pages import course_config, feedback_page, judged

NARROW = {"width": 900, "height": 1000}  # a laptop's half screen: where the old page's lines ran off
# nbgrader's own feedback page (the old one): nbconvert's exporter in nbgrader's template, formulas left for MathJax.
NBGRADER_PAGE = {"GenerateFeedback": {"exporter_class": HTMLExporter}, "HTMLExporter": {"filters": {}}}

# Boxes whose text runs past their right edge (more than a pixel), shown or cut off behind a scroll bar:
# code, outputs and verdicts, the summary's cells, markdown.
OVERFLOWING = """() => [...document.querySelectorAll('pre, td, .output_subarea, .text_cell_render')]
    .filter(box => box.scrollWidth > box.clientWidth + 1)
    .map(box => box.textContent.trim().slice(0, 80))"""
FORMULAS = """() => [...document.querySelectorAll('math')].map(math => {
    const box = math.getBoundingClientRect(); return [box.width, box.height, math.textContent.slice(0, 40)]; })"""
RAW_LATEX = r"""() => document.body.innerText.split('\n').filter(line => /\$\$|\\frac|\\lfloor/.test(line))"""
POINTS_TABLE = """() => { const table = [...document.querySelectorAll('.rendered_html table')]
    .find(t => t.textContent.includes('conv_single_step'));
  if (!table) return null;
  const cells = [...table.rows[1].cells];
  return cells.map(cell => { const text = document.createRange(); text.selectNodeContents(cell);
    return [text.getBoundingClientRect().left, text.getBoundingClientRect().right]; }); }"""


@pytest.fixture(scope="module")
def browser():
    sync_playwright, chromium = require_playwright(), require_chromium()
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="module")
def submissions():
    answers = notebook.solutions()
    return {name: judged(samples.SAMPLES[name][0](answers)) for name in ("sample-partial", "sample-untouched")}


def shown(browser, page_html, name, at=None):
    """A Chromium tab (JavaScript off) showing page_html at the narrow size; a screenshot is saved as name,
    scrolled to the first element the selector at matches."""
    context = browser.new_context(java_script_enabled=False, viewport=NARROW)
    tab = context.new_page()
    tab.set_content(page_html, wait_until="load")
    if at:
        tab.locator(at).first.scroll_into_view_if_needed()
    screenshot(tab, name)
    return context, tab


@pytest.mark.parametrize("sample", ["sample-partial", "sample-untouched"])
def test_the_summary_is_on_top_and_every_line_wraps(browser, submissions, sample):
    page, _ = feedback_page(submissions[sample])
    context, tab = shown(browser, page, f"feedback-{sample}")
    try:
        summary = tab.locator("#cnnkit-summary")
        box = summary.bounding_box()
        assert box is not None and box["y"] < NARROW["height"] / 2, "the summary is not on the first screen"
        assert tab.locator("#cnnkit-summary tr.cnnkit-row").count() == 8
        assert tab.evaluate(OVERFLOWING) == []
        assert tab.evaluate("() => document.documentElement.scrollWidth") <= NARROW["width"]
    finally:
        context.close()


def test_formulas_are_drawn_and_the_points_table_is_a_table(browser, submissions):
    page, _ = feedback_page(submissions["sample-partial"])
    context, tab = shown(browser, page, "feedback-formulas", at='math[display="block"]')
    try:
        formulas = tab.evaluate(FORMULAS)
        assert len(formulas) >= 10
        assert all(width > 5 and height > 5 for width, height, _ in formulas), formulas
        assert tab.evaluate(RAW_LATEX) == []
        cells = tab.evaluate(POINTS_TABLE)
        assert cells and len(cells) == 4
        gaps = [after[0] - before[1] for before, after in zip(cells, cells[1:])]
        assert min(gaps) >= 10, f"the points table's columns run together: {gaps}"
    finally:
        context.close()


def test_the_same_checks_fail_on_nbgraders_own_page(browser, submissions):
    """The premise: nbgrader's feedback page, without script, shows raw LaTeX and lines that run off."""
    page, _ = feedback_page(submissions["sample-partial"], course_config(**NBGRADER_PAGE))
    context, tab = shown(browser, page, "feedback-nbgrader-page", at='a[name="test_conv_single_step"]')
    try:
        assert tab.evaluate(RAW_LATEX), "nbgrader's page shows its formulas as LaTeX without MathJax"
        assert tab.evaluate(OVERFLOWING), "nbgrader's page has lines that run past their box"
        assert tab.locator("#cnnkit-summary").count() == 0
    finally:
        context.close()
