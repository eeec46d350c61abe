"""Nothing from a submission runs as script in a person's browser (cnnkit.grading.sanitize, report page).

In-process: SanitizeForPeople on notebooks built here, then rendered by nbconvert the way feedback and the
formgrader render them; the report's page with hostile names. One real run: an attacker beside an honest
student through `nbgrader autograde` and `generate_feedback` (tests/e2e/test_browser_sanitize.py opens
the same kind of course in Chromium).

Every payload calls itself by name with the marker PWNED_MARKER; `script_sites` finds the marker where
a browser would run it (a script element, an event attribute, a URL, a data: document), never in text.
"""

import base64
import copy
import html
import re
import time
import urllib.parse
from html.parser import HTMLParser

import nbformat
import pytest
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output
from nbgrader import utils
from nbgrader.api import Gradebook

from cnnkit import course
from cnnkit.grading import allowlists, sanitize
from cnnkit.grading.sanitize import SanitizeForPeople, sanitize_notebook
from cnnkit.results import scores
from cnnkit.results.report import aggregate, page, read
from cnnkit.spec import notebook, samples
from tests.support import clone_course, db_url, run_nbgrader

PWNED_MARKER = "__pwned"
ATTACKER, HONEST, LEGACY = "mallory", "honest", "legacy"
FULL = samples.SAMPLES["sample-complete"][1]
# A 1x1 PNG: images must survive sanitising.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def pwn(name):
    """JavaScript that records that payload `name` ran: window.__pwned, the page title, an alert."""
    return (
        f"window.{PWNED_MARKER}=(window.{PWNED_MARKER}||[]).concat(['{name}']);document.title='PWNED';alert('{name}')"
    )


def script_tag(name):
    return f"<script>{pwn(name)}</script>"


def img_onerror(name):
    return f'<img src=x onerror="{pwn(name)}">'


# ---------------------------------------------------------------- where a browser would run the marker

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "srcdoc", "background", "poster"}


class ScriptSites(HTMLParser):
    """Every place of an HTML page where a browser runs script, holding the marker.

    It errs towards finding too much: markup inside <style> is read as markup (a browser reads it so
    in SVG and MathML), and tags inside raw-text elements (<noscript>, <textarea>) count as tags.
    """

    CDATA_CONTENT_ELEMENTS = ("script",)

    def __init__(self, marker):
        super().__init__(convert_charrefs=True)
        self.marker, self.found, self.in_script = marker, [], False

    def handle_starttag(self, tag, attrs):
        self.in_script = self.in_script or tag in ("script", "style")
        for name, value in attrs:
            value = value or ""
            decoded = data_uri_text(value)
            risky = name.startswith("on") or name in URL_ATTRIBUTES or name == "style"
            if (risky and self.marker in value) or self.marker in decoded:
                self.found.append(f"<{tag} {name}={value[:120]!r}>")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.in_script = False

    def handle_data(self, data):
        if self.in_script and self.marker in data:
            self.found.append(f"<script>{data.strip()[:120]}")


def data_uri_text(value):
    """The text a base64 data: URI carries (an SVG image, an HTML document), or ''."""
    head, _, payload = value.partition(",")
    if not (head.startswith("data:") and head.endswith(";base64")):
        return ""
    try:
        return base64.b64decode(payload).decode("utf-8", "replace")
    except ValueError:
        return ""


def script_sites(page_html, marker=PWNED_MARKER):
    parser = ScriptSites(marker)
    parser.feed(page_html)
    parser.close()
    return parser.found


def rendered(nb, template="classic"):
    """nb as nbconvert's HTMLExporter makes it (nbgrader's feedback and formgrader templates extend classic)."""
    body, _ = HTMLExporter(template_name=template).from_notebook_node(copy.deepcopy(nb))
    return body


# ---------------------------------------------------------------- attacks, in-process


def display(data, metadata=None, kind="display_data"):
    extra = {"execution_count": 3} if kind == "execute_result" else {}
    return new_output(kind, data=data, metadata=metadata or {}, **extra)


HTML_ATTACKS = {
    "script": f"<script>{pwn('script')}</script>",
    "img-onerror": f'<img src=x onerror="{pwn("img-onerror")}">',
    "iframe-srcdoc": f'<iframe srcdoc="<script>{pwn("iframe")}</script>"></iframe>',
    "js-link": f'<a href="javascript:{pwn("js-link")}">click</a>',
    "data-link": f'<a href="data:text/html;base64,{base64.b64encode(pwn("data-link").encode()).decode()}">x</a>',
    "svg-in-html": f'<svg><animate onbegin="{pwn("animate")}" attributeName=x dur=1s></svg>',
    "details-ontoggle": f'<details open ontoggle="{pwn("toggle")}"><summary>s</summary></details>',
    "object": f'<object data="javascript:{pwn("object")}"></object>',
    "form": f'<form><button formaction="javascript:{pwn("form")}">go</button></form>',
    "meta-refresh": f'<meta http-equiv="refresh" content="0;url=javascript:{pwn("meta")}">',
    "style": f"<style>@import 'javascript:{pwn('style')}';</style><b style=\"background:url({PWNED_MARKER})\">b</b>",
}
# Unbalanced markup that swallows what follows it in nbconvert's page: shown last.
MXSS_ATTACKS = {
    "math": f'<math><mtext><table><mglyph><style><img src=x onerror="{pwn("mxss")}">',
    "noscript-mxss": f'<noscript><p title="</noscript><img src=x onerror={pwn("noscript")}>">',
}
# MathML: links, actions and HTML inside formulas (the allowlists keep no MathML in HTML, and strict_mathml,
# for the formulas the kit renders, no link, action, annotation or HTML element).
MATHML_ATTACKS = {
    "math-mtext-script": f"<math><mtext><script>{pwn('mtext-script')}</script></mtext></math>",
    "math-mtext-link": f'<math><mtext><a href="javascript:{pwn("mtext-link")}">click</a></mtext></math>',
    "math-maction": (
        f'<math><maction actiontype="toggle" onclick="{pwn("maction")}"><mi>a</mi><mi>b</mi></maction></math>'
    ),
    "math-href": f'<math href="javascript:{pwn("math-href")}"><mi xlink:href="javascript:{pwn("mi-href")}">x</mi></math>',
    "math-annotation-xml": (
        f'<math><semantics><mi>x</mi><annotation-xml encoding="text/html"><img src=x onerror="{pwn("annotation")}">'
        "</annotation-xml></semantics></math>"
    ),
    "math-mglyph-mxss": f'<math><mi><mglyph><style><img src=x onerror="{pwn("mglyph")}"></style></mglyph></mi></math>',
}
SVG_ATTACK = (
    f'<svg xmlns="http://www.w3.org/2000/svg" onload="{pwn("svg-onload")}"><script>{pwn("svg-script")}</script>'
    f'<a href="javascript:{pwn("svg-link")}"><circle r="5" fill="red"/></a></svg>'
)
MARKDOWN_ATTACK = (
    "# Notes\n\nPlain **markdown** first.\n\n"
    f'<script>{pwn("md-script")}</script>\n\n<img src=x onerror="{pwn("md-img")}">\n\n'
    f"[click me](javascript:{pwn('md-link')}) and [ref][r]\n\n[r]: javascript:{pwn('md-ref')}\n"
)


def attacked_notebook(valid_only=False):
    """Every route the in-process tests try, in one notebook beside an honest plain markdown cell."""
    outputs = [display({"text/html": value, "text/plain": "x"}) for value in HTML_ATTACKS.values()]
    outputs += [
        display({"application/javascript": pwn("js"), "text/plain": "js"}),
        display({"text/javascript": pwn("text-js")}),
        display({"application/x-ecmascript": pwn("ecma")}),
        display({"application/vnd.custom.javascript+json": pwn("vnd-js")}),
        display({"application/vnd.jupyter.widget-view+json": {"model_id": "x"}, "text/plain": "w"}),
        display({"image/svg+xml": SVG_ATTACK}),
        display({"text/markdown": MARKDOWN_ATTACK}),
        display({"image/png": f'x" onerror="{pwn("png-data")}'}),
        display({"image/png": PNG}, {"image/png": {"width": f"8 onload={pwn('png-width')}", "height": 8}}),
        display({"image/png": PNG}, {"filenames": {"image/png": f"x onerror={pwn('png-file')}"}}),
        display({"text/html": f"<img src=x onerror={pwn('result')}>"}, kind="execute_result"),
    ]
    if not valid_only:  # what nbformat's schema forbids (nbconvert then refuses the whole notebook)
        invalid = [
            {
                "output_type": "display_data",
                "metadata": {},
                "data": {"text/html": {"nested": [script_tag("not-text")]}},
            },
            {"output_type": "stream", "name": img_onerror("stream"), "text": "hello\n"},
            {"output_type": script_tag("type"), "data": {}},
        ]
        outputs += [nbformat.from_dict(output) for output in invalid]
    outputs += [display({"text/html": value}) for value in MATHML_ATTACKS.values()]
    outputs += [display({"text/html": value}) for value in MXSS_ATTACKS.values()]
    count = 5 if valid_only else f"<img src=x onerror={pwn('count')}>"
    code = new_code_cell("print('hi')")
    code.outputs, code.execution_count = outputs, count  # assigned: nbformat validates what it builds
    forged = new_markdown_cell(img_onerror("forged-lock"))
    forged.metadata["nbgrader"] = {"grade_id": "not_in_gradebook", "locked": True, "schema_version": 3}
    bad_id = new_code_cell("1")
    bad_id.metadata["nbgrader"] = {
        "grade_id": f'"><img src=x onerror={pwn("grade-id")}>',
        "solution": True,
        "grade": True,
        "points": 1,
        "locked": False,
        "schema_version": 3,
    }
    attached = new_markdown_cell("![plot](attachment:plot.png) ![bad](attachment:bad.svg)")
    attached["attachments"] = {
        "plot.png": {"image/png": PNG},
        "bad.svg": {"image/svg+xml": base64.b64encode(SVG_ATTACK.encode()).decode()},
    }
    nb = nbformat.v4.new_notebook()
    honest = new_markdown_cell("## Honest\n\nText with `code` and $x^2$.")
    nb.cells = [honest, code, new_markdown_cell(MARKDOWN_ATTACK), forged, bad_id, attached]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}}
    return nb


def test_the_attacks_run_script_in_nbconverts_page_without_the_step():
    """The premise: nbconvert's HTML of the unsanitised notebook does run the payloads."""
    sites = [urllib.parse.unquote(site) for site in script_sites(rendered(attacked_notebook(valid_only=True)))]
    named = ("'script'", "'img-onerror'", "'js'", "'md-script'", "'md-img'", "'md-link'", "'png-width'", "'mtext-link'")
    for name in (*named, "'maction'", "'math-href'", "'mi-href'", "'annotation'"):
        assert any(name in site for site in sites), f"payload {name} does not reach a script site:\n{sites}"


@pytest.mark.parametrize("template", ["classic", "lab"])
def test_after_the_step_nbconverts_page_runs_none_of_them(template):
    nb = sanitize_notebook(attacked_notebook())
    body = rendered(nb, template)
    assert script_sites(body) == []
    assert "Plain <strong>markdown</strong> first." in body  # what was safe is still shown
    assert f'src="data:image/png;base64,{PNG}"' in body
    assert "<h2 id=" in body and "<code>code</code>" in body


def test_script_mime_types_are_dropped_and_named_in_a_note():
    outputs = sanitize_notebook(attacked_notebook()).cells[1].outputs
    for output in outputs:
        mimes = {mime.lower() for mime in output.get("data", {})}
        assert not [m for m in mimes if "javascript" in m or "ecmascript" in m or "widget" in m], mimes
    notes = [
        o.data["text/plain"] for o in outputs if "removed by the course kit" in o.get("data", {}).get("text/plain", "")
    ]
    assert sum("script is not run for people" in note for note in notes) == 5


def test_html_svg_and_markdown_outputs_keep_their_plain_content():
    nb = nbformat.v4.new_notebook()
    table = "<table><thead><tr><th>a</th></tr></thead><tbody><tr><td><b>1</b> <i>x</i></td></tr></tbody></table>"
    svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4"><circle cx="2" cy="2" r="1" fill="red"></circle></svg>'
    outputs = [display({"text/html": table}), display({"image/svg+xml": svg}), display({"text/markdown": "**hi**"})]
    nb.cells = [new_code_cell("x", outputs=outputs)]
    cleaned = sanitize_notebook(nb).cells[0].outputs
    assert cleaned[0].data["text/html"] == table
    assert cleaned[1].data["image/svg+xml"] == svg
    assert cleaned[2].data["text/markdown"] == "**hi**"


@pytest.mark.parametrize("name", list(MATHML_ATTACKS))
def test_mathml_payloads_are_stopped_by_the_html_and_the_mathml_policies(name):
    payload = MATHML_ATTACKS[name]
    assert script_sites(allowlists.permissive_html(payload)), "the premise: kept as it is, the payload runs"
    for policy in (allowlists.strict_html, allowlists.strict_mathml):
        cleaned = policy(payload)
        assert script_sites(cleaned) == [] and script_sites(rendered(markdown_notebook(cleaned))) == [], cleaned
        assert not re.search(r"<(a|img|style|script|mglyph|maction|annotation)\b|href=|onclick", cleaned), cleaned
    assert "<math" not in allowlists.strict_html(payload), "HTML keeps no MathML: only the kit's formulas are MathML"


def markdown_notebook(text):
    return nbformat.v4.new_notebook(cells=[new_markdown_cell(text)])


def test_sanitised_svg_keeps_its_shapes_and_loses_its_script():
    svg = sanitize.clean_value("image/svg+xml", SVG_ATTACK, sanitize.Budget())
    assert "<circle" in svg and PWNED_MARKER not in svg and "onload" not in svg


def test_the_release_notebooks_cells_stay_byte_identical():
    """Honest markdown (headings, code, math, lists, expected outputs) and honest outputs are not touched.

    The release's read-only cells (its pictures among them) are the instructor's, as the gradebook holds them.
    """
    nb = samples.release_notebook()
    gradebook = {notebook.grade_id(cell): (cell.cell_type, cell.source) for cell in nb.cells if utils.is_locked(cell)}
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                new_output("stream", name="stdout", text="x.shape = (4, 3, 3, 2)\n"),
                display({"image/png": PNG, "text/plain": "<Figure>"}, {"image/png": {"width": 300, "height": 200}}),
                new_output("error", ename="ValueError", evalue="<bad>", traceback=["\x1b[31mValueError\x1b[0m: <bad>"]),
            ]
            cell.execution_count = 7
    before = nbformat.writes(nb)
    assert nbformat.writes(sanitize_notebook(nb, gradebook)) == before


def test_markdown_cells_the_student_could_edit_are_sanitised_and_plain_ones_kept():
    cells = sanitize_notebook(attacked_notebook()).cells
    assert cells[0].source == "## Honest\n\nText with `code` and $x^2$."
    attacked = cells[2].source
    assert PWNED_MARKER not in attacked and "javascript" not in attacked
    assert "<strong>markdown</strong>" in attacked and ">click me</a>" in attacked
    forged = cells[3].source
    assert forged.startswith("<div>") and script_sites(sanitize.render_markdown(forged)) == [], (
        "a cell claiming to be locked is not the gradebook's"
    )


def test_attachments_keep_raster_images_only():
    cell = sanitize_notebook(attacked_notebook()).cells[5]
    assert set(cell.attachments) == {"plot.png"}
    assert "removed by the course kit" in cell.source  # the svg it still names cannot be rendered


SVG_BASE64 = base64.b64encode(SVG_ATTACK.encode()).decode()
JPEG_BASE64 = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\0" * 16).decode()


def test_attachments_are_png_images_only_in_every_markdown_cell(released_course):
    """PNG, checked by its signature, whatever the bundle says; in the instructor's cells too (the gradebook
    holds a cell's source, not its attachments, so a submission can swap a figure's bytes)."""
    attachments = {
        "figure.png": {"image/png": PNG, "image/svg+xml": SVG_BASE64},  # a PNG, and an SVG the renderer prefers
        "svg-as.png": {"image/png": SVG_BASE64},
        "photo.jpg": {"image/jpeg": JPEG_BASE64},
        "text.png": {"image/png": "bm90IGFuIGltYWdl"},
    }
    source = "".join(f"![{name}](attachment:{name})" for name in attachments)
    cells = []
    for locked in (False, True):
        cell = new_markdown_cell(source, attachments=copy.deepcopy(attachments))
        cell.metadata["nbgrader"] = {"grade_id": "figure", "locked": locked, "solution": False, "grade": False}
        cells.append(cell)
    intact = new_markdown_cell("![figure](attachment:figure.png)", attachments={"figure.png": {"image/png": PNG}})
    intact.metadata["nbgrader"] = {"grade_id": "intact", "locked": True, "solution": False, "grade": False}
    locked_cells = {"figure": ("markdown", source), "intact": ("markdown", intact.source)}  # as the gradebook says
    expected = copy.deepcopy(intact)
    cleaned = sanitize_notebook(nbformat.v4.new_notebook(cells=[*cells, intact]), locked_cells)
    for cell in cleaned.cells:
        assert cell.attachments == {"figure.png": {"image/png": PNG}}
    # A figure cell whose images were swapped is no longer the instructor's as it is: it is checked like any
    # other (it names images it has lost, so its text becomes a note) and the page still renders.
    assert "removed by the course kit" in cleaned.cells[1].source
    page = rendered(cleaned)
    assert script_sites(page) == [] and page.count(f'src="data:image/png;base64,{PNG}"') == 1
    assert cleaned.cells[2] == expected, "an intact figure of the instructor's is kept byte for byte"


def test_metadata_that_reaches_the_html_is_checked():
    nb = sanitize_notebook(attacked_notebook())
    code = nb.cells[1]
    assert code.execution_count is None
    sized = next(o for o in code.outputs if o.get("metadata", {}).get("image/png", {}).get("height") == 8)
    assert "width" not in sized.metadata["image/png"]
    assert not any("filenames" in o.get("metadata", {}) for o in code.outputs)
    assert next(o for o in code.outputs if o.output_type == "execute_result").execution_count == 3
    assert next(o for o in code.outputs if o.output_type == "stream").name == "stdout"
    assert "nbgrader" not in nb.cells[4].metadata, "an unsafe grade_id is pasted raw by nbgrader's templates"
    assert "widgets" not in nb.metadata


def test_locked_instructor_cells_stay_byte_identical(released_course, tmp_path):
    """A locked cell that is exactly the gradebook's keeps even raw HTML; its outputs are still sanitised."""
    instructor_md = "<b>Read this</b> <img src='figure.png'> [notes](notes.html)"
    check_source = "check('zero_pad', zero_pad)"
    root = clone_course(released_course, tmp_path / "course")
    with Gradebook(db_url(root)) as gradebook:
        where = (course.ASSIGNMENT, course.ASSIGNMENT)  # notebook, assignment
        gradebook.add_source_cell("intro", *where, cell_type="markdown", locked=True, source=instructor_md)
        gradebook.add_source_cell("test_x", *where, cell_type="code", locked=True, source=check_source)
    intro = new_markdown_cell(instructor_md)
    intro.metadata["nbgrader"] = {"grade_id": "intro", "locked": True, "solution": False, "grade": False}
    check = new_code_cell(check_source, outputs=[display({"text/html": f"<script>{pwn('check')}</script>"})])
    check.metadata["nbgrader"] = {"grade_id": "test_x", "locked": True, "solution": False, "grade": True}
    edited = new_markdown_cell(instructor_md + img_onerror("edited"))
    edited.metadata["nbgrader"] = {"grade_id": "intro", "locked": True, "solution": False, "grade": False}
    nb = nbformat.v4.new_notebook(cells=[intro, check, edited])
    resources = {"nbgrader": {"db_url": db_url(root), "assignment": course.ASSIGNMENT, "notebook": course.ASSIGNMENT}}
    before = copy.deepcopy(nb)

    nb, _ = SanitizeForPeople().preprocess(nb, resources)

    assert nb.cells[0] == before.cells[0]
    assert nb.cells[1].source == check_source and PWNED_MARKER not in str(nb.cells[1].outputs)
    assert nb.cells[2].source.startswith("<div>") and script_sites(sanitize.render_markdown(nb.cells[2].source)) == []


# ---------------------------------------------------------------- bounded work


def test_hostile_sizes_and_nesting_cost_their_output_only():
    deep = "<div>" * 200_000 + "x"
    outputs = [
        display({"text/html": deep}),
        display({"text/html": "<b>big</b>" * 200_000}),
        display({"text/markdown": "_*" * 30_000}),
        display({"image/svg+xml": "<svg>" + "<g>" * 100_000 + "</svg>"}),
        display({"text/plain": "kept", "text/html": "<p>ok</p>"}),
    ]
    nb = nbformat.v4.new_notebook(cells=[new_code_cell("x", outputs=outputs), new_markdown_cell("[" * 50_000)])
    nb.cells.append(nbformat.from_dict({"cell_type": "code", "metadata": {}, "source": "x", "outputs": 5}))
    started = time.perf_counter()
    cleaned = sanitize_notebook(nb)
    assert time.perf_counter() - started < 10
    texts = [o.data.get("text/plain", "") for o in cleaned.cells[0].outputs]
    assert all("removed by the course kit" in text for text in texts[:4]), texts
    assert cleaned.cells[0].outputs[4].data == {"text/plain": "kept", "text/html": "<p>ok</p>"}
    assert cleaned.cells[1].source.startswith("[removed by the course kit: the text of this markdown cell")
    assert cleaned.cells[2].cell_type == "markdown" and "removed by the course kit: a cell" in cleaned.cells[2].source


def test_a_notebook_of_many_large_outputs_is_bounded_in_all():
    outputs = [display({"text/html": "<p>" + "a" * 900_000 + "</p>"}) for _ in range(40)]
    nb = nbformat.v4.new_notebook(cells=[new_code_cell("x", outputs=outputs)])
    started = time.perf_counter()
    cleaned = sanitize_notebook(nb).cells[0].outputs
    assert time.perf_counter() - started < 20
    assert "too large in all" in cleaned[-1].data["text/plain"]
    assert cleaned[0].data["text/html"].startswith("<p>aaa")


# ---------------------------------------------------------------- the instructor report


HOSTILE = f"<script>{pwn('report')}</script><img src=x onerror={pwn('report-img')}>\"'"


def test_the_report_page_escapes_everything_from_submissions():
    record = {
        "function": "zero_pad",
        "passed": 0,
        "total": 1,
        "score": 0.0,
        "points": 10.0,
        "failures": [
            {
                "case": HOSTILE,
                "description": HOSTILE,
                "visibility": HOSTILE,
                "kind": "raised",
                "detail": HOSTILE,
                "mistakes": [{"key": HOSTILE, "what": HOSTILE}],
                "message": HOSTILE,
            }
        ],
    }
    student = read.Submission(HOSTILE, graded=True, flags=[{"reason": HOSTILE, HOSTILE: HOSTILE}])
    student.verdicts = {"zero_pad": record}
    student.problems = [read.Problem(HOSTILE, "crash", HOSTILE, HOSTILE)]
    klass = [student]
    tables = {
        "assignment": HOSTILE,
        "students": aggregate.student_rows(klass, {}),
        "functions": aggregate.function_rows(klass, {"test_zero_pad": 10.0}),
        "cases": aggregate.case_rows(klass, {"zero_pad": [(HOSTILE, HOSTILE)]}),
        "mistakes": aggregate.mistake_rows(klass),
        "problems": aggregate.problem_rows(klass),
        "integrity": aggregate.integrity_rows(klass),
    }
    body = page.render_page(HOSTILE, tables, klass, {"core": 40.0, "optional": 60.0})
    assert script_sites(body) == []
    assert "<script" not in body.lower() and "<img src=x" not in body
    assert body.count(html.escape(HOSTILE)) >= 6  # every table shows it, as text


# ---------------------------------------------------------------- one real run: attacker beside an honest student


ATTACK_CODE = {  # Python appended to each solution cell (string literals written with repr)
    "zero_pad": f"display(HTML({script_tag('html-script')!r}))",
    "conv_single_step": f"display(HTML({img_onerror('html-img')!r}))",
    "conv_forward": f"display(Javascript({pwn('javascript')!r}))",
    "pool_forward": f"display(SVG({SVG_ATTACK!r}))",
    "conv_backward": f"display(Markdown({img_onerror('markdown-output')!r}))",
    "create_mask_from_window": (
        f"display({{'image/png': {PNG!r}, 'text/plain': 'png'}}, raw=True, "
        f"metadata={{'image/png': {{'width': {'8 onload=' + pwn('png-width')!r}}}}})"
    ),
    # Inside the function: the check cell (a locked cell) shows it when the check calls pool_backward.
    "pool_backward": (
        "_pool_backward = pool_backward\n"
        "def pool_backward(dA, cache, mode='max'):\n"
        "    if not globals().get('_shown'):\n"
        "        globals()['_shown'] = True\n"
        f"        display(HTML({img_onerror('check-cell')!r}))\n"
        "    return _pool_backward(dA, cache, mode)"
    ),
}
IMPORTS = "from IPython.display import HTML, SVG, Javascript, Markdown, display\n"
ADDED_MARKDOWN = (
    "My notes.\n\n"
    f'<script>{pwn("added-markdown")}</script>\n\n<img src=x onerror="{pwn("added-markdown-img")}">\n\n'
    f"[see this](javascript:{pwn('added-markdown-link')})\n"
)


def attacker_notebook():
    """The master's solutions, each followed by one payload; a markdown cell of raw HTML added after the first."""
    solutions = notebook.solutions()
    answers = {name: f"{solutions[name]}\n\n{IMPORTS}{code}\n" for name, code in ATTACK_CODE.items()}
    nb = notebook.fill_in(samples.release_notebook(), {**solutions, **answers})
    nb.cells.insert(1, new_markdown_cell(ADDED_MARKDOWN))
    return nb


def build_attacked_course(released_course, root):
    """A clone of the released course with the attacker and the honest student autograded and fed back.

    A third submission (the untouched release) has payloads put into its autograded notebook after
    autograde, as a notebook autograded without SanitizeForPeople would hold them: generate_feedback
    sanitises again.
    """
    clone_course(released_course, root)
    samples.write_submission(root, ATTACKER, attacker_notebook())
    samples.write_submission(root, HONEST, notebook.fill_in(samples.release_notebook(), notebook.solutions()))
    samples.write_submission(root, LEGACY, samples.release_notebook())
    run_nbgrader(root, "autograde", course.ASSIGNMENT)
    plant_unsanitised_outputs(notebook_of(root, "autograded", LEGACY))
    run_nbgrader(root, "generate_feedback", course.ASSIGNMENT)
    return root


def plant_unsanitised_outputs(path):
    """An HTML and a JavaScript output, and a markdown cell of raw HTML, written into a notebook as they are."""
    nb = nbformat.read(path, as_version=4)
    code = next(cell for cell in nb.cells if cell.cell_type == "code")
    code.outputs += [
        display({"text/html": script_tag("legacy-html")}),
        display({"application/javascript": pwn("legacy-js")}),
    ]
    nb.cells.insert(0, new_markdown_cell("Legacy notes. " + img_onerror("legacy-markdown")))
    nbformat.write(nb, path)


def notebook_of(root, folder, student):
    return root / folder / student / course.ASSIGNMENT / f"{course.ASSIGNMENT}.ipynb"


def feedback_of(root, student):
    return root / "feedback" / student / course.ASSIGNMENT / f"{course.ASSIGNMENT}.html"


@pytest.fixture(scope="module")
def attacked(released_course, tmp_path_factory):
    return build_attacked_course(released_course, tmp_path_factory.mktemp("sanitize") / "course")


def test_both_students_keep_their_full_marks(attacked):
    assert scores.cell_scores(db_url(attacked), HONEST) == FULL
    assert scores.cell_scores(db_url(attacked), ATTACKER) == FULL, "sanitising what is shown changes no score"


def test_the_attackers_feedback_runs_no_script(attacked):
    body = feedback_of(attacked, ATTACKER).read_text()
    assert script_sites(body) == []
    assert "My notes." in body  # the added markdown is there, made inert
    # The script outputs were there and were dropped (feedback withholds most later outputs anyway: scrub.py).
    assert "removed by the course kit" in notebook_of(attacked, "autograded", ATTACKER).read_text()
    assert script_sites(feedback_of(attacked, HONEST).read_text()) == []


def test_feedback_sanitises_again_what_autograde_left(attacked):
    body = feedback_of(attacked, LEGACY).read_text()
    assert "Legacy notes." in body and script_sites(body) == []


def test_the_attackers_autograded_notebook_is_clean_for_the_formgrader(attacked):
    nb = nbformat.read(notebook_of(attacked, "autograded", ATTACKER), as_version=4)
    assert script_sites(rendered(nb)) == []
    mimes = {mime for cell in nb.cells for output in cell.get("outputs", []) for mime in output.get("data", {})}
    assert "application/javascript" not in mimes and "text/html" in mimes
    assert nb.cells[1].cell_type == "markdown" and "My notes." in nb.cells[1].source


def test_the_honest_students_autograded_notebook_keeps_its_markdown(attacked):
    nb = nbformat.read(notebook_of(attacked, "autograded", HONEST), as_version=4)
    release = samples.release_notebook()
    markdown = [cell.source for cell in nb.cells if cell.cell_type == "markdown"]
    assert markdown == [cell.source for cell in release.cells if cell.cell_type == "markdown"]
