"""What students and instructors see: the course in JupyterLab 4 with nbgrader, driven by headless Chromium.

One `jupyter lab` server (127.0.0.1, random port, token auth) serves a copy of the session's graded course
(tests/conftest.py, graded_course) for the whole module; every test opens its own browser context on it.
Screenshots of each step go to test-artifacts/browser/ (with the server log), so a CI run can be checked by eye.

Needs Debian's `chromium` and the `playwright` Python package (docs/browser.md): without them every test
fails at its setup (never skips) with the commands that install them.
"""

import shutil

import pytest

from cnnkit import course
from cnnkit.results import scores
from cnnkit.spec import notebook, samples
from tests.e2e import browser_support as support

# Generous bounds for a 2-core CI machine: the first Lab load compiles nothing but fetches ~10 MB of JS,
# and Validate runs the whole notebook in a fresh kernel. Playwright polls; these are only ceilings.
LAB_TIMEOUT_MS = 60_000
VALIDATE_TIMEOUT_MS = 150_000
VIEWPORT = {"width": 1400, "height": 900}

CHECKED_FUNCTIONS = [grade_id.removeprefix("test_") for grade_id in samples.FULL]
MAX_SCORE = sum(samples.FULL.values())


@pytest.fixture(scope="module")
def lab_server(playwright_api, graded_course, tmp_path_factory):
    """A copy of the session's graded course served by a real `jupyter lab`; stopped (and checked gone) after."""
    root = support.prepare_course(graded_course, tmp_path_factory.mktemp("browser") / "course")
    server = support.LabServer(root=root, home=tmp_path_factory.mktemp("jupyter-home"))
    try:
        server.start()
        yield server
    finally:
        _keep_server_log(server)
        server.stop()


def _keep_server_log(server):
    """Copy the server's log next to the screenshots: the first thing to read when a CI run fails."""
    if server.log_path.exists():
        support.ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(server.log_path, support.ARTIFACTS / "jupyter-server.log")


@pytest.fixture
def page(browser, lab_server, request):
    """A fresh browser context (no cookies) per test; a screenshot is kept when the test failed."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(LAB_TIMEOUT_MS)
    page = context.new_page()
    failures_before = request.session.testsfailed
    yield page
    # The call phase is reported before fixtures are torn down, so a failed test has already been counted.
    if request.session.testsfailed > failures_before:
        try:
            support.screenshot(page, f"FAILED-{request.node.name}")
        except Exception as error:  # a dead page must not hide the test's own failure
            print(f"no failure screenshot: {error}")
    context.close()


def expect(*args, **kwargs):
    """Playwright's auto-waiting assertions (imported late: the module must import without Playwright).

    They wait up to LAB_TIMEOUT_MS, not Playwright's 5 s: on a busy 2-core machine JupyterLab can take
    longer than that to render a notebook, and a test must not fail for the machine's load.
    """
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=LAB_TIMEOUT_MS)
    return playwright_expect(*args, **kwargs)


def open_notebook(page, server, path, workspace):
    """Open a notebook in JupyterLab and wait until it is rendered and its kernel is idle.

    Each test uses its own Lab workspace: the server remembers the default workspace's open tabs,
    which would otherwise reopen the previous test's notebook next to this one.
    """
    page.goto(server.url(f"lab/workspaces/{workspace}/tree/{path}"))
    panel = page.locator(".jp-NotebookPanel", has=page.locator(".jp-Notebook")).first
    expect(panel, f"{path} did not open in JupyterLab").to_be_visible()
    expect(panel.locator(".jp-MarkdownOutput").first, "the notebook's cells did not render").to_be_visible()
    toolbar = panel.locator(".jp-NotebookPanel-toolbar")
    expect(toolbar.locator(".jp-Toolbar-kernelName"), "no kernel was started for the notebook").not_to_have_text(
        "No Kernel"
    )
    expect(toolbar.locator(".jp-Notebook-ExecutionIndicator"), "the kernel never became idle").to_have_attribute(
        "data-status", "idle"
    )
    return panel


def validate_button(panel):
    """nbgrader's Validate button on the notebook's own toolbar (added by the @jupyter/nbgrader lab extension)."""
    return panel.locator(".jp-NotebookPanel-toolbar .validate-button")


def click_validate(page, panel):
    """Press Validate and return nbgrader's result dialog (success or error) once the server has answered."""
    validate_button(panel).click()
    dialog = page.locator(".nbgrader-SuccessDialog, .nbgrader-ErrorDialog")
    expect(dialog, "Validate showed no result dialog").to_be_visible(timeout=VALIDATE_TIMEOUT_MS)
    return dialog


def open_formgrader(page, server):
    """Open the Formgrader the way an instructor does (Nbgrader menu > Formgrader); returns its frame."""
    page.goto(server.url("lab/workspaces/formgrader"))
    page.locator("#jp-MainMenu").get_by_text("Nbgrader", exact=True).click()
    page.locator('#jp-mainmenu-nbgrader li[data-command="nbgrader:open-formgrader"]').click()
    tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="Formgrader")
    expect(tab, "the Formgrader tab did not open").to_be_visible()
    # The Formgrader panel is nbgrader's own web app (/formgrader) in an iframe.
    return page.frame_locator("#jp-main-dock-panel iframe[src*='formgrader']")


def score_text(score):
    """A score as the formgrader prints it: rounded to 2 decimals, without trailing zeros (52.77, 150, 0)."""
    return f"{round(score, 2):g}"


def test_release_notebook_opens_with_nbgrader_validate_button(page, lab_server):
    panel = open_notebook(page, lab_server, support.UNTOUCHED_NB, "release")
    button = validate_button(panel)
    expect(button, "nbgrader's Validate button is missing from the notebook toolbar").to_be_visible()
    expect(button).to_have_text("Validate")
    expect(page.locator("#jp-MainMenu").get_by_text("Nbgrader", exact=True), "no Nbgrader menu").to_be_visible()
    support.screenshot(page, "01-release-notebook-open")


def test_validate_reports_success_on_completed_notebook(page, lab_server):
    panel = open_notebook(page, lab_server, support.COMPLETED_NB, "completed")
    dialog = click_validate(page, panel)
    support.screenshot(page, "02-validate-success-completed")
    text = dialog.inner_text()
    assert "nbgrader-SuccessDialog" in dialog.get_attribute("class"), f"Validate did not succeed:\n{text}"
    assert "Success! Your notebook passes all the tests." in text, text


def test_validate_names_the_failing_cells_of_the_untouched_release(page, lab_server):
    panel = open_notebook(page, lab_server, support.UNTOUCHED_NB, "untouched")
    dialog = click_validate(page, panel)
    text = dialog.inner_text()
    assert "nbgrader-ErrorDialog" in dialog.get_attribute("class"), f"expected failures, Validate said:\n{text}"
    # Bring the first "not implemented" verdict into view so the screenshot shows what the student reads.
    dialog.get_by_text("NotImplementedError").first.scroll_into_view_if_needed()
    support.screenshot(page, "03-validate-failures-untouched")

    failed_cells = text.count("The following cell failed")
    assert failed_cells == len(CHECKED_FUNCTIONS), f"{failed_cells} failed cells, expected every check cell:\n{text}"
    unnamed = [name for name in CHECKED_FUNCTIONS if f'check("{name}", {name})' not in text]
    assert not unnamed, f"the dialog does not show the failing check cell of {unnamed}:\n{text}"
    silent = [name for name in CHECKED_FUNCTIONS if f"{name} is not implemented yet" not in text]
    assert not silent, f"the dialog does not say that {silent} are not implemented:\n{text}"


def test_formgrader_lists_the_assignment_its_submissions_and_scores(page, lab_server):
    graded = {student: sum(cells.values()) for student, cells in graded_scores(lab_server.root).items()}
    assert set(samples.SAMPLES) <= set(graded)
    formgrader = open_formgrader(page, lab_server)
    row = formgrader.locator("#main-table tr", has_text=course.ASSIGNMENT)
    expect(row, f"the formgrader does not list {course.ASSIGNMENT}").to_have_count(1)
    submissions = row.locator("td.num-submissions")
    expect(submissions, "wrong number of submissions").to_have_text(str(len(graded)))
    support.screenshot(page, "04-formgrader-assignments")

    submissions.locator("a").click()
    expect(formgrader.locator(".breadcrumb"), "the submissions page did not open").to_contain_text(course.ASSIGNMENT)
    # The samples' scores are known in advance; the session's other submissions show what the gradebook holds.
    expected = {student: sum(cells.values()) for student, (_, cells) in samples.SAMPLES.items()}
    for student, score in {**graded, **expected}.items():
        student_row = formgrader.locator("#main-table tr", has=formgrader.locator("td.student-id", has_text=student))
        expect(student_row, f"no submission row for {student}").to_have_count(1)
        expect(student_row.locator("td.status"), f"{student} is not graded").to_have_text("graded")
        expect(student_row.locator("td.score"), f"{student}'s autograded score").to_have_text(
            f"{score_text(score)} / {score_text(MAX_SCORE)}"
        )
    support.screenshot(page, "05-formgrader-submissions-scores")


def graded_scores(root):
    """student -> cell scores, for every submission in the course's gradebook."""
    url = f"sqlite:///{root / 'gradebook.db'}"
    return {path.name: scores.cell_scores(url, path.name) for path in (root / "submitted").iterdir()}


def pictures(path):
    """The notebook's pictures: markdown cells with an illustration attached (cnnkit.spec.figures)."""
    return [cell for cell in notebook.read(path).cells if cell.cell_type == "markdown" and cell.get("attachments")]


def shown_pictures(panel):
    """How many of the notebook's pictures JupyterLab shows, loaded (an <img> whose PNG decoded)."""
    return panel.locator(".jp-MarkdownOutput img[alt^='Figure:']").evaluate_all(
        "images => images.filter(image => image.complete && image.naturalWidth > 0).length"
    )


def test_run_all_on_an_unfinished_notebook_keeps_every_picture(page, lab_server):
    """Run All stops at the first unfinished function and clears the outputs below it: the pictures stay."""
    folder = lab_server.root / "run-all" / course.ASSIGNMENT
    shutil.copytree(lab_server.root / "release" / course.ASSIGNMENT, folder)
    path = folder / f"{course.ASSIGNMENT}.ipynb"
    released = pictures(path)
    panel = open_notebook(page, lab_server, path.relative_to(lab_server.root).as_posix(), "run-all")
    expect(panel.locator(".jp-MarkdownOutput img[alt^='Figure:']")).to_have_count(len(released))
    page.locator("#jp-MainMenu").get_by_text("Run", exact=True).click()
    page.locator('#jp-mainmenu-run li[data-command="runmenu:run-all"]').click()
    error = panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").first
    expect(error, "Run All did not stop at the first unfinished function").to_contain_text("NotImplementedError")
    expect(panel.locator(".jp-Notebook-ExecutionIndicator")).to_have_attribute("data-status", "idle")
    assert shown_pictures(panel) == len(released) >= 8
    below = panel.locator(".jp-MarkdownOutput img[alt^='Figure: one step, in numbers']")  # below where Run All stopped
    below.scroll_into_view_if_needed()
    expect(below, "the picture below the stop did not come into view").to_be_in_viewport()
    support.screenshot(page, "06-run-all-keeps-the-pictures")
    dirty = page.locator("#jp-main-dock-panel .lm-TabBar-tab.jp-mod-dirty")
    expect(dirty, "Run All left the notebook unchanged").to_have_count(1)
    panel.locator(".jp-MarkdownCell").first.click()
    page.keyboard.press("Control+s")
    expect(dirty, "the notebook was not saved").to_have_count(0)
    assert [cell.attachments for cell in pictures(path)] == [cell.attachments for cell in released]
    assert any(
        output.output_type == "error" for cell in notebook.read(path).cells for output in cell.get("outputs", [])
    )
