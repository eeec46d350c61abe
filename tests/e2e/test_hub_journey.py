"""The course on a real JupyterHub, in real Chromium: a student's and an instructor's day (issues 13 and 19,
docs/hub.md).

One hub for the module (cnnkit.hub's own `make hub` code, in a temporary root, on free loopback ports)
with throwaway Unix accounts: an instructor and three students, removed afterwards even when a test fails.
The course's policy is set to one graded attempt, so the third student's second submission is past it.
- student1 lands on the assignment list, fetches, types the solutions, validates and submits;
- student2 makes the pool stride slip, which Validate must catch before submitting; then submits a conv_forward
  slip that the feedback names;
- student3 works from the grading panel (labextension/): warned before the last graded attempt, then
  "Being graded" and the score appear without reloading, the feedback page opens from the panel with the score
  and every function; warned again (no attempt left, deadline passed), then "Not graded" and its feedback;
- the instructor sees which score is official in the formgrader, the grading service's class view (and its
  CSV), and exports grades from a terminal: the file lands in the course directory. Graders get no panel.
Run All keeping the pictures is tests/e2e/test_browser.py's. Screenshots (numbered in the order of the day)
and the hub's and service's logs go to test-artifacts/hub/. Runs as root (CI does); skipped otherwise.
"""

import csv
import os
import re

import nbformat
import pytest

from cnnkit import course
from cnnkit.spec import notebook
from tests.e2e import hub_support as hub_ui
from tests.e2e.hub_support import expect, screenshot

# About ten minutes: handed to a worker early (tests/conftest.py), not left for the end of the run.
pytestmark = pytest.mark.slow(160)
VIEWPORT = {"width": 1400, "height": 900}
PEOPLE = {
    "instructor": ("Irene", "Instructor", "grader"),
    "student1": ("Ada", "Lovelace", "student"),
    "student2": ("Alan", "Turing", "student"),
    "student3": ("Grace", "Hopper", "student"),
}
# The deadline is far off: every submission is on time; the panel's warning of a deadline passed is seen by
# setting the browser's clock past it (the panel compares the service's deadline with the student's clock).
DEADLINE = "2099-12-31 23:59 UTC"
POLICY = ["c.SubmitPolicy.max_graded_attempts = 1", f'c.SubmitPolicy.deadline = "{DEADLINE}"']
MAX_SCORE = sum(notebook.points().values())
# The slip student2 makes in conv_forward, and the hint the feedback must name it with (cnnkit/spec/table.py).
SLIPS = [("vert_start = h * stride", "vert_start = h"), ("horiz_start = w * stride", "horiz_start = w")]
SLIP_NAMED = "the windows move by 1 instead of by stride"
# The functions the feedback's summary must name (one row each), from the notebook's graded check cells.
FUNCTIONS = [grade_id.removeprefix("test_") for grade_id in notebook.points()]
FULL_MARKS = re.compile(rf"\b{MAX_SCORE:g}\s*(of|/)\s*{MAX_SCORE:g}\b")


@pytest.fixture(scope="module")
def hub(playwright_api):
    hub_ui.require_root_and_environment()
    running = hub_ui.start_course_hub(PEOPLE, POLICY)
    try:
        yield running
    finally:
        hub_ui.stop_course_hub(running)


@pytest.fixture
def page(browser, hub, request):
    """A fresh browser context per test (no hub cookie); a screenshot is kept when the test failed."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(hub_ui.LAB_TIMEOUT_MS)
    page = context.new_page()
    failures_before = request.session.testsfailed
    yield page
    if request.session.testsfailed > failures_before:
        try:
            screenshot(page, f"FAILED-{request.node.name}")
        except Exception as error:  # a dead page must not hide the test's own failure
            print(f"no failure screenshot: {error}")
    context.close()


def write_fetched_notebook(hub, who, answers):
    """Put answers into the student's fetched notebook on disk (their file, still owned by them)."""
    path = hub.home(who) / course.ASSIGNMENT / hub_ui.NOTEBOOK
    owner = path.stat()
    nbformat.write(notebook.fill_in(notebook.read(path), answers), str(path))
    os.chown(path, owner.st_uid, owner.st_gid)


def with_slips(answers, function):
    """answers with the windows of `function` moving by 1 instead of by stride (SLIPS)."""
    slipped = dict(answers)
    for old, new in SLIPS:
        slipped[function] = notebook.edit(slipped[function], old, new)
    return slipped


def status_page_text(page, hub):
    page.goto(hub.url("services/grader/"))
    body = page.locator("body")
    expect(body).to_contain_text("Official score")
    return body.inner_text()


def test_student_lands_on_the_assignment_list_fetches_types_validates_submits_and_gets_the_official_score(page, hub):
    hub_ui.log_in(page, hub, "student1")
    panel = hub_ui.grading_panel(page)
    expect(panel, "the grading panel is not open at the student's first start").to_be_visible()
    expect(hub_ui.panel_headline(page)).to_have_text("Not submitted yet")
    expect(hub_ui.panel_button(page, "get")).to_be_visible()
    # Issue 19, item 9: no empty Launcher at the first login, but nbgrader's assignment list with the assignment.
    expect(
        page.locator("#released_assignments_list"), "the student did not land on the assignment list"
    ).to_be_visible()
    expect(hub_ui.assignment_row(page, "released")).to_contain_text("Fetch")
    expect(page.locator("#jupyterlab-splash")).to_have_count(0)
    screenshot(page, "01-student1-lands-on-the-assignment-list")
    hub_ui.fetch_assignment(page)
    screenshot(page, "02-student1-fetched")

    panel = hub_ui.open_fetched_notebook(page, hub, "student1")
    solutions = notebook.solutions()
    hub_ui.type_answers(page, panel, solutions)
    saved = hub_ui.wait_for_saved_answers(hub, "student1", solutions)
    assert saved == solutions, "what was typed is not what the notebook saved"
    text, ok = hub_ui.validate(page, panel)
    screenshot(page, "03-student1-validated")
    assert ok, f"Validate failed on the typed solutions:\n{text}"
    hub_ui.close_dialog(page)

    hub_ui.open_assignments_tab(page)
    hub_ui.submit_assignment(page)
    hub_ui.wait_for_feedback(page)
    feedback = hub_ui.fetch_feedback(page)
    screenshot(page, "04-student1-feedback")
    assert f"This submission (attempt 1): {MAX_SCORE:g} of {MAX_SCORE:g}" in feedback, feedback[:2000]

    status = status_page_text(page, hub)
    screenshot(page, "05-student1-status-page")
    assert f"{MAX_SCORE:g} of {MAX_SCORE:g} (attempt 1)" in status, status
    assert "attempts left: 0" in status, status


def test_validate_catches_the_pool_stride_slip_before_submitting(page, hub):
    """A pool_forward whose windows start at (h, w) (issue 19, item 4): Validate, before any submission, fails it."""
    hub_ui.log_in(page, hub, "student2")
    hub_ui.open_assignments_tab(page)
    hub_ui.fetch_assignment(page)
    write_fetched_notebook(hub, "student2", with_slips(notebook.solutions(), "pool_forward"))
    panel = hub_ui.open_fetched_notebook(page, hub, "student2")
    text, ok = hub_ui.validate(page, panel)
    screenshot(page, "06-student2-validate-on-the-pool-stride-slip")
    hub_ui.close_dialog(page)
    hub_ui.close_all_tabs(page)  # the next test writes this notebook's file behind JupyterLab's back
    assert not ok, f"Validate passed a pool_forward that ignores the stride:\n{text}"
    assert "pool_forward" in text, text


def test_a_mistake_is_named_in_the_feedback(page, hub):
    hub_ui.log_in(page, hub, "student2")
    hub_ui.open_assignments_tab(page)
    if not (hub.home("student2") / course.ASSIGNMENT).exists():  # the Validate test fetched it already
        hub_ui.fetch_assignment(page)
    write_fetched_notebook(hub, "student2", with_slips(notebook.solutions(), "conv_forward"))
    hub_ui.submit_assignment(page)
    hub_ui.wait_for_feedback(page)
    feedback = hub_ui.fetch_feedback(page)
    page.frame_locator(".jp-HTMLViewer iframe").get_by_text(SLIP_NAMED).first.scroll_into_view_if_needed()
    screenshot(page, "07-student2-mistake-named")
    assert SLIP_NAMED in feedback, feedback[:3000]
    assert "This submission (attempt 1)" in feedback and f"of {MAX_SCORE:g}" in feedback
    assert f"{MAX_SCORE:g} of {MAX_SCORE:g}" not in feedback, "a submission with a mistake got full marks"


def feedback_text_from_panel(page, screenshot_name, *expected):
    """The panel's "Open feedback" (a new tab: the service's page of the latest submission) once it shows
    expected; its text."""
    tab = hub_ui.open_feedback_from_panel(page, *expected)
    text = tab.locator("body").inner_text()
    screenshot(tab, screenshot_name)
    tab.close()
    return text


def test_from_the_grading_panel_a_student_is_warned_sees_being_graded_then_the_score_and_past_the_limit_not_graded(
    page, hub
):
    hub_ui.log_in(page, hub, "student3")
    panel = hub_ui.grading_panel(page)
    expect(panel, "the grading panel is not open at the student's first start").to_be_visible()
    expect(panel).to_have_attribute("data-phase", "not-submitted")
    hub_ui.get_assignment_from_panel(page)
    write_fetched_notebook(hub, "student3", notebook.solutions())

    warning = hub_ui.submit_from_panel(page, "08-student3-last-attempt-warning")
    assert "This is your last graded attempt" in warning, warning
    expect(hub_ui.panel_headline(page)).to_have_text("Being graded")
    expect(page.locator(".cnnkit-GradingStatus")).to_have_text("Being graded…")
    screenshot(page, "09-student3-being-graded")
    hub_ui.wait_for_panel_phase(page, "graded")
    expect(hub_ui.panel_headline(page)).to_have_text(f"Graded: {MAX_SCORE:g} of {MAX_SCORE:g}")
    expect(hub_ui.panel_fact(page, "official")).to_contain_text(f"{MAX_SCORE:g} of {MAX_SCORE:g} (attempt 1")
    expect(hub_ui.panel_fact(page, "attempts-left")).to_have_text("0")
    expect(page.locator(".cnnkit-GradingStatus")).to_have_text(f"Graded: {MAX_SCORE:g} of {MAX_SCORE:g}")
    screenshot(page, "10-student3-graded-in-the-panel")
    # The summary: the score and one line per function (whatever the page's layout, which is feedback_page's).
    feedback_text_from_panel(page, "11-student3-feedback-from-the-panel", FULL_MARKS, *FUNCTIONS)

    page.clock.set_fixed_time("2100-01-02T00:00:00Z")  # the student's clock, past the deadline
    warning = hub_ui.submit_from_panel(page, "12-student3-no-attempt-left-warning")
    assert "no graded attempts left: this submission will not be graded" in warning, warning
    assert "has passed: this submission is late" in warning, warning
    hub_ui.wait_for_panel_phase(page, "not-graded")
    expect(panel.locator(".cnnkit-GradingPanel-detail")).to_contain_text("attempt limit reached")
    screenshot(page, "13-student3-not-graded-in-the-panel")
    feedback_text_from_panel(
        page, "14-student3-not-graded-feedback", "This submission was not graded: attempt limit reached"
    )

    status = status_page_text(page, hub)
    screenshot(page, "15-student3-status-page")
    assert "attempts left: 0" in status and "not graded" in status, status
    assert f"{MAX_SCORE:g} of {MAX_SCORE:g} (attempt 1)" in status, "the first, graded attempt should still count"


def test_instructor_sees_the_official_scores_the_class_view_and_exports_into_the_course_directory(page, hub):
    hub_ui.log_in(page, hub, "instructor")
    page.goto(hub.url(f"user/{hub.name('instructor')}/formgrader/manage_submissions/{course.ASSIGNMENT}"))
    students = [who for who, (_, _, role) in PEOPLE.items() if role == "student"]
    for who in students:
        first, last, _ = PEOPLE[who]
        row = page.locator("#main-table tr", has=page.locator("td", has_text=hub.name(who)))
        expect(row, f"no submission of {who} in the formgrader").to_have_count(1)
        expect(row).to_contain_text(f"{last}, {first}")
        expect(row.locator("td.status")).to_have_text("graded")
    assert "None, None" not in page.locator("#main-table").inner_text()
    note = page.locator("#cnnkit-official-scores")
    expect(note, "the formgrader does not say which score is official").to_contain_text("before the late penalty")
    screenshot(page, "16-instructor-formgrader-says-which-score-is-official")

    class_view = note.get_by_role("link").first.get_attribute("href")  # it opens in a new tab; here, this one
    assert class_view.endswith("services/grader/"), class_view
    page.goto(hub.url(class_view))
    official = page.locator("#cnnkit-class")
    expect(official, "the formgrader's note does not lead to the class view").to_be_visible()
    for who in students:
        first, last, _ = PEOPLE[who]
        expect(official.locator("tr", has_text=hub.name(who))).to_contain_text(f"{first} {last}")
    expect(official.locator("tr", has_text=hub.name("student1"))).to_contain_text(f"{MAX_SCORE:g} of {MAX_SCORE:g}")
    expect(page.locator("#cnnkit-submissions tr", has_text=hub.name("student3"))).to_contain_text(
        ["graded", "attempt limit reached"]
    )
    screenshot(page, "17-instructor-class-view")
    with page.expect_download() as download:
        page.locator("#cnnkit-class-csv").click()
    with open(download.value.path(), newline="") as handle:
        lines = list(csv.DictReader(handle))
    official_lines = {line["student_id"]: line for line in lines if line["official"] == "yes"}
    assert set(official_lines) == {hub.name(who) for who in students}, lines
    assert float(official_lines[hub.name("student1")]["score"]) == MAX_SCORE, lines
    assert any(line["student_id"] == hub.name("student3") and line["official"] != "yes" for line in lines), lines

    # A terminal in the instructor's JupyterLab starts in the course directory; an export lands there even when
    # typed in their home folder (issue 19, item 8: it used to write grades.csv into the home).
    page.goto(hub.url(f"user/{hub.name('instructor')}/lab"))
    page.locator("#jp-MainMenu").get_by_text("File", exact=True).click()
    page.locator("#jp-mainmenu-file li", has_text="New").first.hover()
    page.locator('li[data-command="terminal:create-new"]').first.click()
    terminal = page.locator(".jp-Terminal .xterm-screen").first
    expect(terminal).to_be_visible()
    # Lab is up with every plugin by now (the terminal opened): the students' grading panel is not there.
    expect(hub_ui.grading_panel(page), "graders should not get the students' grading panel").to_have_count(0)
    expect(page.locator(".cnnkit-GradingStatus")).to_have_count(0)
    terminal.click()
    page.keyboard.type("pwd > where-the-terminal-started.txt\n")  # the shell's own answer, not read off the screen
    started = hub_ui.wait_for_file(hub.course_file("where-the-terminal-started.txt"))
    assert started.read_text().strip() == str(hub.layout.course_dir), started.read_text()
    page.keyboard.type("cd ~ && nbgrader export --to grades.csv\n")
    grades = hub_ui.wait_for_file(hub.course_file("grades.csv"))
    screenshot(page, "18-instructor-export-in-the-course-directory")
    assert not (hub.home("instructor") / "grades.csv").exists(), "the export went into the instructor's home"

    with open(grades, newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    for who in students:
        first, last, _ = PEOPLE[who]
        row = rows.get(hub.name(who))
        assert row is not None, f"{who} missing from grades.csv: {sorted(rows)}"
        assert (row["first_name"], row["last_name"]) == (first, last), row
    assert float(rows[hub.name("student1")]["score"]) == MAX_SCORE
    assert float(rows[hub.name("student2")]["score"]) < MAX_SCORE
