"""A submission's script does not run in a person's browser: its feedback file and its formgrader page.

The attacker of tests/grading/test_sanitize.py (payloads in HTML, Javascript, SVG, Markdown and image
outputs, in a check cell's output and in an added markdown cell), autograded for real beside an honest
student (and a third submission whose autograded notebook had payloads put in after autograde, for
generate_feedback's own pass), is opened in headless Chromium: the feedback file from disk, and the formgrader's page for the
submission on a real `jupyter lab` server logged in as the instructor. Every payload would record its name
in window.__pwned, retitle the page "PWNED" and call alert(); none may.

Needs Debian's `chromium` and the `playwright` Python package (docs/browser.md).
"""

import shutil

import pytest
from nbgrader.api import Gradebook

from cnnkit import course
from tests.e2e import browser_support as support
from tests.grading.test_sanitize import ATTACKER, HONEST, LEGACY, build_attacked_course, feedback_of
from tests.support import db_url

# Long enough for a CI machine; the pages are static apart from the formgrader's own scripts.
PAGE_TIMEOUT_MS = 60_000
SETTLE_MS = 1_500  # img onerror/onload and SVG onload fire after the load event


@pytest.fixture(scope="module")
def attacked_course(playwright_api, released_course, tmp_path_factory):
    return build_attacked_course(released_course, tmp_path_factory.mktemp("browser-sanitize") / "course")


@pytest.fixture(scope="module")
def lab_server(attacked_course, tmp_path_factory):
    server = support.LabServer(root=attacked_course, home=tmp_path_factory.mktemp("jupyter-home-sanitize"))
    try:
        server.start()
        yield server
    finally:
        if server.log_path.exists():
            support.ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(server.log_path, support.ARTIFACTS / "jupyter-server-sanitize.log")
        server.stop()


def open_and_watch(browser, url, name):
    """Open url in a fresh context; (dialogs shown, window.__pwned, title, page text) once it settled."""
    context = browser.new_context()
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        page.goto(url, wait_until="load")
        page.wait_for_timeout(SETTLE_MS)
        support.screenshot(page, name)
        return dialogs, page.evaluate("window.__pwned || null"), page.title(), page.inner_text("body")
    finally:
        context.close()


def submission_id(root, student):
    """The gradebook's id of the student's submitted notebook: the formgrader's URL for it."""
    with Gradebook(db_url(root)) as gradebook:
        return gradebook.find_submission_notebook(course.ASSIGNMENT, course.ASSIGNMENT, student).id


def assert_no_script_ran(dialogs, pwned, title):
    assert not dialogs, f"the submission's script opened dialogs: {dialogs}"
    assert pwned is None, f"the submission's script ran: {pwned}"
    assert title != "PWNED", "the submission's script retitled the page"


def test_the_attackers_feedback_file_runs_no_script(browser, attacked_course):
    url = feedback_of(attacked_course, ATTACKER).as_uri()
    dialogs, pwned, title, text = open_and_watch(browser, url, "sanitize-01-attacker-feedback")
    assert_no_script_ran(dialogs, pwned, title)
    assert "My notes." in text, "the attacker's feedback did not render"


def test_a_feedback_file_made_from_an_unsanitised_autograded_notebook_runs_no_script(browser, attacked_course):
    url = feedback_of(attacked_course, LEGACY).as_uri()
    dialogs, pwned, title, text = open_and_watch(browser, url, "sanitize-02-legacy-feedback")
    assert_no_script_ran(dialogs, pwned, title)
    assert "Legacy notes." in text


def test_the_formgrader_page_of_the_attackers_submission_runs_no_script(browser, lab_server):
    url = lab_server.url(f"formgrader/submissions/{submission_id(lab_server.root, ATTACKER)}/")
    dialogs, pwned, title, text = open_and_watch(browser, url, "sanitize-03-attacker-formgrader")
    assert_no_script_ran(dialogs, pwned, title)
    assert "My notes." in text and "zero_pad" in text, "the formgrader did not show the submission"


def test_the_formgrader_page_of_the_honest_submission_still_renders(browser, lab_server):
    url = lab_server.url(f"formgrader/submissions/{submission_id(lab_server.root, HONEST)}/")
    dialogs, pwned, title, text = open_and_watch(browser, url, "sanitize-04-honest-formgrader")
    assert_no_script_ran(dialogs, pwned, title)
    assert "Zero padding" in text and "Expected output" in text
