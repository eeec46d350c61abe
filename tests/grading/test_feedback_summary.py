"""The feedback page's summary, read as a student reads it: one row per function, the grade as the policy counts it.

In-process: the samples (cnnkit/spec/samples.py) judged by the kit's own VerifyResults (cnnkit.grading.offline),
made into pages by GenerateFeedback's exporter and steps with the course's configuration (feedback_pages.py).
The same page in Chromium (what shows, what wraps): tests/grading/test_feedback_in_browser.py.
"""

import copy
import html

import pytest
from bs4 import BeautifulSoup

from cnnkit.grading import feedback_summary
from cnnkit.grading.feedback_summary import FeedbackSummary
from cnnkit.grading.part_policy import PartBVerdicts, verdict_of
from cnnkit.hub.feedback import add_header
from cnnkit.records.verdict import VERDICT_MIME
from cnnkit.spec import notebook, samples
from cnnkit.spec.parts import CORE, OPTIONAL
from cnnkit.spec.table import MISTAKE_WORDS
from tests.grading.feedback_pages import course_config, feedback_page, judged
from tests.grading.test_sanitize import PWNED_MARKER, pwn, script_sites

FUNCTIONS = [*CORE, *OPTIONAL]  # notebook order


@pytest.fixture(scope="module")
def sample_notebooks():
    """sample name -> its notebook, judged."""
    answers = notebook.solutions()
    return {name: judged(make(answers)) for name, (make, _) in samples.SAMPLES.items()}


@pytest.fixture(scope="module")
def pages(sample_notebooks):
    """sample name -> (page, resources) with the course's configuration."""
    config = course_config()
    return {name: feedback_page(nb, config) for name, nb in sample_notebooks.items()}


def summary_rows(summary_html):
    """function -> (css classes of its row, its text) of a summary."""
    soup = BeautifulSoup(summary_html, features="html.parser")
    return {
        row.select_one("td.cnnkit-function code").get_text(): (row["class"], " ".join(row.get_text(" ").split()))
        for row in soup.select("tr.cnnkit-row")
    }


def summary_of(pages, sample):
    return pages[sample][1][feedback_summary.RESOURCE]["summary"]


def records(nb):
    """function -> its verdict record, in notebook order."""
    found = {}
    for cell in nb.cells:
        _, record = verdict_of(cell)
        if record is not None:
            found[record["function"]] = record
    return found


# ---------------------------------------------------------------- the samples


def test_a_complete_submission_reads_all_passed_row_by_row(pages):
    rows = summary_rows(summary_of(pages, "sample-complete"))
    assert list(rows) == FUNCTIONS
    for name, (classes, text) in rows.items():
        assert "cnnkit-passed" in classes and "cases passed" in text and "failed" not in text, (name, text)
    assert "This submission: 150 of 150" in summary_of(pages, "sample-complete")


def test_each_planted_mistake_is_named_in_its_row(pages, sample_notebooks):
    rows = summary_rows(summary_of(pages, "sample-partial"))
    named = 0
    for name, record in records(sample_notebooks["sample-partial"]).items():
        classes, text = rows[name]
        if not record["failures"]:
            assert text.endswith(f"all {record['total']} cases passed"), text
            continue
        first = record["failures"][0]
        if first["kind"] == "not_implemented":
            assert "not implemented" in text
            continue
        assert f"{len(record['failures'])} of {record['total']} cases failed" in text
        assert f"case {first['case']} ({first['description']}" in text
        assert first["message"].splitlines()[0].strip() in text
        keys = [m["key"] for failure in record["failures"] for m in failure["mistakes"]]
        if keys:
            named += 1
            what = MISTAKE_WORDS[keys[0]].what
            assert f"Looks like {what}" in text, text
    assert named >= 1, "the partial sample plants a known mistake (the forgotten bias): its row must name it"
    assert "Looks like the bias b was not added" in rows["conv_single_step"][1]


def test_an_unimplemented_function_says_so_once(pages):
    page, resources = pages["sample-untouched"]
    rows = summary_rows(resources[feedback_summary.RESOURCE]["summary"])
    for name, (classes, text) in rows.items():
        assert "cnnkit-missing" in classes and text.count("not implemented") == 1, (name, text)
    # In the details too: each check's verdict once (nbgrader's error output repeated it), its score not again.
    text = BeautifulSoup(page, features="html.parser").get_text()
    for name in FUNCTIONS:
        assert text.count(f"{name} is not implemented yet") == 1, name


@pytest.mark.parametrize("mode", ["extra_credit", "not_graded"])
def test_part_b_left_out_reads_not_attempted_under_an_optional_policy(sample_notebooks, mode):
    config = course_config(PartBPolicy={"mode": mode})
    nb = copy.deepcopy(sample_notebooks["sample-untouched"])
    nb, _ = PartBVerdicts(config=config).preprocess(nb, {})
    _, resources = FeedbackSummary(config=config).preprocess(nb, {})
    rows = summary_rows(resources[feedback_summary.RESOURCE]["summary"])
    for name in OPTIONAL:
        assert "not attempted (optional)" in rows[name][1] and "not implemented" not in rows[name][1]
    for name in CORE:
        assert "not implemented" in rows[name][1]


@pytest.mark.parametrize(
    ("mode", "says"),
    [
        ("required", "This submission: 100 of 150 (Part A 100 of 100, Part B 0 of 50; Part B is required"),
        ("extra_credit", "This submission: 100 of 100 (Part A 100 of 100, plus 0 extra-credit points from Part B"),
        ("not_graded", "This submission: 100 of 100 (Part A 100 of 100; Part B is not graded in this course"),
    ],
)
def test_the_grade_is_the_policys_with_core_and_optional_apart(sample_notebooks, mode, says):
    answers = {name: source for name, source in notebook.solutions().items() if name in CORE}
    nb = judged(answers)
    _, resources = FeedbackSummary(config=course_config(PartBPolicy={"mode": mode})).preprocess(nb, {})
    summary = BeautifulSoup(resources[feedback_summary.RESOURCE]["summary"], features="html.parser")
    assert " ".join(summary.select_one(".cnnkit-grade").get_text().split()).startswith(says)
    parts = [th.get_text() for th in summary.select("tr.cnnkit-part th")]
    part_b = {"required": "required", "extra_credit": "extra credit", "not_graded": "not graded"}[mode]
    assert parts == ["Part A (core): 100 of 100", f"Part B ({part_b}): 0 of 50"]  # the policy's words, never both


def test_a_late_penalty_is_taken_off_and_said(sample_notebooks):
    nb = sample_notebooks["sample-complete"]
    _, resources = FeedbackSummary(config=course_config()).preprocess(
        copy.deepcopy(nb), {"nbgrader": {"late_penalty": 15}}
    )
    summary = resources[feedback_summary.RESOURCE]["summary"]
    assert "This submission: 135 of 150" in summary
    assert "Late penalty: 15 points taken off (150 earned before the penalty)" in summary
    _, resources = FeedbackSummary(config=course_config()).preprocess(
        copy.deepcopy(nb), {"nbgrader": {"late_penalty": 0}}
    )
    assert "Late penalty" not in resources[feedback_summary.RESOURCE]["summary"]


def test_rows_link_to_their_checks(pages):
    page, resources = pages["sample-partial"]
    soup = BeautifulSoup(page, features="html.parser")
    links = [a["href"] for a in BeautifulSoup(summary_of(pages, "sample-partial"), "html.parser").select("td a")]
    assert links == [f"#test_{name}" for name in FUNCTIONS]
    for link in links:
        assert soup.select(f'a[name="{link[1:]}"]'), f"{link} leads nowhere"


# ---------------------------------------------------------------- what did not run


def failing(record, **failure):
    """record with every case failing as failure says."""
    record = copy.deepcopy(record)
    record["passed"], record["score"] = 0, 0.0
    record["failures"] = [
        {"case": i + 1, "description": f"case {i + 1}'s shapes", "visibility": "public", "mistakes": [], **failure}
        for i in range(record["total"])
    ]
    return record


@pytest.mark.parametrize(
    ("failure", "status", "why"),
    [
        (
            {
                "kind": "did_not_run",
                "detail": "CellTimeoutError",
                "message": "the test did not run to this case: CellTimeoutError: cell timed out",
            },
            "timed out",
            "CellTimeoutError: cell timed out",
        ),
        (
            {"kind": "budget_spent", "detail": "", "message": "not run: zero_pad used up its 20 s time budget"},
            "timed out",
            "used up its 20 s time budget",
        ),
        (
            {
                "kind": "did_not_run",
                "detail": "KernelDied",
                "message": "the test did not run to this case: KernelDied: "
                "the kernel died while running this cell (memory limit)",
            },
            "crashed",
            "(memory limit)",
        ),
    ],
)
def test_a_check_that_did_not_run_says_why(sample_notebooks, failure, status, why):
    nb = copy.deepcopy(sample_notebooks["sample-complete"])
    cell = next(cell for cell in nb.cells if verdict_of(cell)[1] is not None)
    index, record = verdict_of(cell)
    cell.outputs[index].data[VERDICT_MIME] = failing(record, **failure)
    _, resources = FeedbackSummary(config=course_config()).preprocess(nb, {})
    classes, text = summary_rows(resources[feedback_summary.RESOURCE]["summary"])["zero_pad"]
    assert text.startswith(f"zero_pad 0 / 10 {status}") and why in text, text


# ---------------------------------------------------------------- safe


HOSTILE = f'<script>{pwn("summary")}</script><img src=x onerror="{pwn("summary-img")}">"\''


def test_every_value_of_a_verdict_is_escaped(sample_notebooks):
    """A verdict carries what the student's code raised or returned: nothing of it may become markup."""
    nb = copy.deepcopy(sample_notebooks["sample-partial"])
    for cell in nb.cells:
        index, record = verdict_of(cell)
        if record is None:
            continue
        record["failures"] = [
            {
                "case": 1,
                "description": HOSTILE,
                "visibility": HOSTILE,
                "kind": "raised",
                "detail": HOSTILE,
                "message": f"{record['function']} raised ValueError: {HOSTILE}\n    Hint: {HOSTILE}",
                "mistakes": [{"key": HOSTILE, "what": HOSTILE, "hint": HOSTILE, "line": HOSTILE}],
                "show_me": [HOSTILE],
            }
        ]
        record["passed"] = 0
        cell.outputs[index].data["text/plain"] = HOSTILE
    page, resources = feedback_page(nb)
    summary = resources[feedback_summary.RESOURCE]["summary"]
    assert script_sites(page) == [] and script_sites(summary) == []
    assert PWNED_MARKER in BeautifulSoup(summary, features="html.parser").get_text()  # shown, as text
    assert html.escape(HOSTILE, quote=True) in summary
    assert "<script" not in page.lower()


def test_the_page_has_the_summary_on_top_formulas_as_mathml_and_no_script(pages):
    page, _ = pages["sample-partial"]
    soup = BeautifulSoup(page, features="html.parser")
    summary, first_cell = soup.select_one("#cnnkit-summary"), soup.select_one("div.cell")
    assert summary is not None and summary.find_next("div", class_="cell") is first_cell
    assert "Test cell" not in soup.get_text(), "nbgrader's list of unnamed test cells is replaced by the summary"
    assert not soup.select("script"), "the page needs no script (MathJax included)"
    assert len(soup.select('math[display="block"]')) >= 5 and not soup.find(string=lambda s: "\\lfloor" in s)


def test_the_hubs_header_stays_on_top(pages):
    page, _ = pages["sample-partial"]
    header = '<div class="cnnkit-status" id="cnnkit-status"><ul><li>attempt 1</li></ul></div>'
    soup = BeautifulSoup(add_header(page, header), features="html.parser")
    assert soup.body.find(True) is soup.select_one("#cnnkit-status")
    assert soup.select_one("#cnnkit-status").find_next(id="cnnkit-summary") is not None
