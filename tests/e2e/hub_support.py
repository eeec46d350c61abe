"""Helpers of the hub's browser test: a real course hub on loopback with throwaway Unix accounts, and the
student's and instructor's steps in JupyterLab.

Everything is real: `make hub`'s own code (cnnkit.hub.deploy, launch, accounts) sets the hub up in a
temporary root with its own groups, service account and ports, so it never touches /srv/nbgrader or an
existing account. Root is needed (accounts, servers run as them); CI runs as root.
"""

import os
import re
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from cnnkit import course
from cnnkit.hub import accounts, deploy, launch, unix
from cnnkit.hub.layout import HubLayout
from cnnkit.spec import notebook
from tests.e2e.browser_support import free_port

ARTIFACTS = course.ROOT / "test-artifacts" / "hub"
NOTEBOOK = f"{course.ASSIGNMENT}.ipynb"
LAB_TIMEOUT_MS = 60_000
SPAWN_TIMEOUT_MS = 240_000  # login -> a new single-user server -> JupyterLab rendered, on a busy 2-core machine
GRADING_TIMEOUT_S = 420  # submit -> the service has graded and released feedback


def require_root_and_environment():
    """Skip without root (the test creates Unix accounts); fail if the hub's environment was not built."""
    if os.geteuid() != 0:
        pytest.skip("the hub's browser test creates Unix accounts: it runs as root (CI does)")
    env = HubLayout().env
    if not (env / "bin" / "jupyterhub").exists():
        pytest.fail(
            f"no hub environment at {env}: `make hub-env` (a prerequisite of make test) builds it", pytrace=False
        )
    if not (env / deploy.GRADING_PANEL).exists():
        pytest.fail(
            f"the grading panel is not installed in {env}: `make hub-env` (make test runs it) does", pytrace=False
        )
    if not HubLayout().proxy_command.exists():
        pytest.fail("configurable-http-proxy is not installed: `npm ci` (make test runs it)", pytrace=False)


def throwaway_layout():
    """A HubLayout in a fresh world-readable folder, with names and ports no one else uses."""
    tag = "hj" + secrets.token_hex(3)
    root = Path(tempfile.mkdtemp(prefix=f"cnnkit-{tag}-", dir="/tmp"))
    root.chmod(0o755)  # mkdtemp makes it 0700: users' servers must reach the exchange below it
    return HubLayout(
        root=root,
        graders_group=f"{tag}-graders",
        students_group=f"{tag}-students",
        grader_user=f"{tag}-grader",
        port=free_port(),
        hub_port=free_port(),
        proxy_api_port=free_port(),
        service_port=free_port(),
    )


@dataclass
class CourseHub:
    """A prepared and running course hub, and the passwords of the accounts made for it."""

    layout: HubLayout
    people: dict = field(default_factory=dict)  # role name in the test ("student1") -> Account
    passwords: dict = field(default_factory=dict)  # login name -> password
    running: launch.RunningHub | None = None
    log_dir: Path = ARTIFACTS  # the hub's, proxy's and service's logs

    def name(self, who):
        return self.people[who].name

    def url(self, path=""):
        return f"{self.layout.public_url}/{path.lstrip('/')}"

    def home(self, who):
        return Path(os.path.expanduser(f"~{self.name(who)}"))

    def course_file(self, *parts):
        return self.layout.course_dir.joinpath(*parts)


def start_course_hub(people, policy_lines=(), log_dir=ARTIFACTS, course_files=None):
    """Prepare a hub as `make hub` does, add policy_lines to its course's config, create accounts, start it.

    people: test role -> (first name, last name, "student" or "grader"); course_files: {name: text(tag)} put in
    the course directory (tag: the accounts' prefix, "<tag>-<role>" being each login name). The caller must call
    stop_course_hub, which removes everything this made, even when this fails halfway.
    """
    shutil.rmtree(log_dir, ignore_errors=True)
    layout = throwaway_layout()
    hub = CourseHub(layout, log_dir=log_dir)
    tag = layout.graders_group.split("-")[0]
    hub.people = {
        who: accounts.Account(f"{tag}-{who}", first, last, role) for who, (first, last, role) in people.items()
    }
    hub.passwords = {account.name: secrets.token_urlsafe(12) for account in hub.people.values()}
    try:
        deploy.prepare(layout)
        config = layout.course_dir / "nbgrader_config.py"
        config.write_text(config.read_text() + "\n# The hub test's policy\n" + "\n".join(policy_lines) + "\n")
        for name, text in (course_files or {}).items():
            (layout.course_dir / name).write_text(text(tag))
        unix.chown_tree(layout.course_dir, layout.grader_user, layout.graders_group)
        unix.share_with_group(layout.course_dir)
        accounts.create(layout, list(hub.people.values()), hub.passwords)
        accounts.import_names(layout, list(hub.people.values()))
        for who in hub.people:
            render_every_cell(hub, who)
        hub.running = launch.start(layout, log_dir=log_dir)
    except BaseException:
        stop_course_hub(hub)
        raise
    return hub


def render_every_cell(hub, who):
    """The user's JupyterLab keeps every cell in the page (no windowing), so the test finds cell n as the n-th.

    A user setting in their own ~/.jupyter, as they could set it themselves (Settings > Notebook).
    """
    folder = hub.home(who) / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension"
    folder.mkdir(parents=True)
    (folder / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}\n')
    unix.chown_tree(hub.home(who) / ".jupyter", hub.name(who), hub.name(who))


def stop_course_hub(hub):
    """Stop the hub, then delete its accounts, groups, service account and folder; True if nothing is left."""
    hub.log_dir.mkdir(parents=True, exist_ok=True)
    if hub.running is not None:
        hub.running.stop()
    log = hub.layout.course_dir / "logs" / "submit-service.log"
    if log.exists():
        shutil.copy(log, hub.log_dir / "submit-service.log")
    accounts.remove(hub.layout, delete_homes=True)  # throwaway accounts: nothing to keep
    deploy.remove(hub.layout)
    names = [account.name for account in hub.people.values()] + [hub.layout.grader_user]
    leftovers = [name for name in names if unix.user_exists(name)]
    assert not leftovers, f"accounts left behind: {leftovers}"
    assert not hub.layout.root.exists(), f"{hub.layout.root} left behind"


# ---------------------------------------------------------------- in the browser


def expect(*args, **kwargs):
    """Playwright's auto-waiting assertions with a 60 s ceiling (imported late: collection needs no Playwright)."""
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=LAB_TIMEOUT_MS)
    return playwright_expect(*args, **kwargs)


def screenshot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def log_in(page, hub, who):
    """The hub's login form with the account's password; returns once JupyterLab has rendered."""
    page.goto(hub.url("hub/login"))
    page.fill("#username_input", hub.name(who))
    page.fill("#password_input", hub.passwords[hub.name(who)])
    page.click("#login_submit")
    expect(page.locator("#jp-MainMenu"), f"{who}'s JupyterLab did not open").to_be_visible(timeout=SPAWN_TIMEOUT_MS)


def open_assignments_tab(page):
    """Nbgrader menu > Assignment List; waits for its three lists."""
    page.locator("#jp-MainMenu").get_by_text("Nbgrader", exact=True).click()
    page.locator('li[data-command="nbgrader:open-assignment-list"]').click()
    for name in ("released", "fetched", "submitted"):
        expect(page.locator(f"#{name}_assignments_list")).to_be_attached()


def assignment_row(page, listing):
    return page.locator(f"#{listing}_assignments_list > .list_item", has_text=course.ASSIGNMENT).first


def fetch_assignment(page):
    page.locator("#refresh_assignments_list").click()
    assignment_row(page, "released").locator(".item_status button", has_text="Fetch").click()
    expect(assignment_row(page, "fetched"), "the fetched assignment is not listed").to_be_visible()


def submit_assignment(page):
    assignment_row(page, "fetched").locator(".item_status button", has_text="Submit").click()
    expect(assignment_row(page, "submitted"), "the submission is not listed").to_be_visible()


def submissions_text(page):
    return page.locator("#submitted_assignments_list").inner_text()


def wait_for_feedback(page, count=1):
    """Refresh the Assignments tab until `count` submissions have feedback to fetch (the service's work)."""
    deadline = time.monotonic() + GRADING_TIMEOUT_S
    while time.monotonic() < deadline:
        page.locator("#refresh_assignments_list").click()
        page.wait_for_timeout(3000)
        if submissions_text(page).count("feedback available to fetch") >= count:
            return
    raise AssertionError(f"no feedback after {GRADING_TIMEOUT_S}s; the tab says:\n{submissions_text(page)}")


def fetch_feedback(page):
    """Fetch Feedback, then open the newest feedback page in JupyterLab's HTML viewer; returns its text."""
    page.locator("#submitted_assignments_list button", has_text="Fetch Feedback").first.click()
    link = page.locator("#submitted_assignments_list a", has_text="view feedback").last
    expect(link, "no 'view feedback' link after fetching").to_be_visible()
    link.click()  # the file browser goes to the feedback folder
    item = page.locator(".jp-DirListing-item", has_text=f"{course.ASSIGNMENT}.html")
    expect(item).to_be_visible()
    item.dblclick()
    viewer = page.frame_locator(".jp-HTMLViewer iframe").locator("body")
    expect(viewer).to_contain_text(course.ASSIGNMENT)
    return viewer.inner_text()


def open_fetched_notebook(page, hub, who):
    page.goto(hub.url(f"user/{hub.name(who)}/lab/tree/{course.ASSIGNMENT}/{NOTEBOOK}"))
    panel = page.locator(".jp-NotebookPanel", has=page.locator(".jp-Notebook")).first
    expect(panel, "the fetched notebook did not open").to_be_visible(timeout=SPAWN_TIMEOUT_MS)
    status = panel.locator(".jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator")
    expect(status, "the kernel never became idle").to_have_attribute("data-status", "idle")
    return panel


def type_answers(page, panel, answers):
    """Replace each solution cell's code with answers[grade_id], typed into the cell's editor; then save."""
    cells = notebook.read(course.RELEASE / NOTEBOOK).cells
    for index, cell in enumerate(cells):
        if notebook.is_solution(cell) and notebook.grade_id(cell) in answers:
            editor = panel.locator(".jp-Notebook .jp-Cell").nth(index).locator(".cm-content")
            editor.scroll_into_view_if_needed()
            editor.click()
            page.keyboard.press("Control+a")
            page.keyboard.insert_text(answers[notebook.grade_id(cell)])
    page.keyboard.press("Escape")
    page.keyboard.press("Control+s")


def saved_answers(hub, who):
    """grade_id -> code of the solution cells in the student's saved notebook (read from their home).

    None while the file is being written: the server truncates it first, and a read between the two
    sees an empty file (it happened in a clean-clone run).
    """
    try:
        saved = notebook.read(hub.home(who) / course.ASSIGNMENT / NOTEBOOK)
    except nbformat.reader.NotJSONError:
        return None
    return {notebook.grade_id(cell): cell.source for cell in saved.cells if notebook.is_solution(cell)}


def wait_for_saved_answers(hub, who, expected, timeout=60):
    """The saved solution cells once they equal expected (saving is asynchronous), or the last ones read."""
    deadline = time.monotonic() + timeout
    saved = saved_answers(hub, who)
    while saved != expected and time.monotonic() < deadline:
        time.sleep(1)
        saved = saved_answers(hub, who)
    return saved


def wait_for_file(path, timeout=180):
    """path once it exists and has stopped growing (a command in the browser's terminal writes it)."""
    deadline = time.monotonic() + timeout
    size = -1
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size == size > 0:
            return path
        size = path.stat().st_size if path.exists() else -1
        time.sleep(1)
    raise AssertionError(f"{path} was not written within {timeout}s")


def validate(page, panel):
    """Press nbgrader's Validate; returns the result dialog's text and whether it says success."""
    panel.locator(".jp-NotebookPanel-toolbar .validate-button").click()
    dialog = page.locator(".nbgrader-SuccessDialog, .nbgrader-ErrorDialog")
    expect(dialog, "Validate showed no result").to_be_visible(timeout=180_000)
    text, ok = dialog.inner_text(), "nbgrader-SuccessDialog" in (dialog.get_attribute("class") or "")
    return text, ok


def close_dialog(page):
    page.keyboard.press("Escape")
    expect(page.locator(".jp-Dialog")).to_have_count(0)


# ---------------------------------------------------------------- the grading panel (labextension/, docs/hub.md)


def grading_panel(page):
    return page.locator("#cnnkit-grading-panel")


def panel_button(page, action):
    """One of the panel's buttons: get, open, submit, feedback."""
    return grading_panel(page).locator(f"button[data-action={action}]")


def panel_fact(page, key):
    """One value of the panel's list: official, latest, penalty, attempts-left, deadline, next-allowed."""
    return grading_panel(page).locator(f'dd[data-fact="{key}"]')


def panel_headline(page):
    return grading_panel(page).locator(".cnnkit-GradingPanel-title")


def get_assignment_from_panel(page):
    """The panel's "Get the assignment": nbgrader fetches it and the notebook opens; then all tabs are closed,
    so that the test may write the notebook's file behind JupyterLab's back."""
    panel_button(page, "get").click()
    expect(panel_button(page, "submit"), "the panel did not show Submit after getting the assignment").to_be_visible()
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=NOTEBOOK)
    expect(tab, "the panel did not open the notebook it got").to_be_visible()
    close_all_tabs(page)


# Either JupyterLab closed the notebook's tab, or it asks whether to save it (its Discard button is shown).
CLOSED_OR_ASKING = """name =>
    [...document.querySelectorAll(".jp-Dialog button")].some(b => b.textContent.trim() === "Discard") ||
    ![...document.querySelectorAll(".lm-DockPanel-tabBar .lm-TabBar-tab")].some(t => t.textContent.includes(name))"""


def close_all_tabs(page):
    """File > Close All: no notebook stays open in JupyterLab (nor in the workspace the next login restores).

    The test writes the notebook's file behind JupyterLab's back next, so whatever JupyterLab holds is
    discarded if it asks (a kernel that reports its language_info after the last save marks the notebook
    changed: tests/e2e/test_browser.py checks that an untouched release opens with nothing to save)."""
    page.locator("#jp-MainMenu").get_by_text("File", exact=True).click()
    page.locator('li[data-command="application:close-all"]').click()
    tabs = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=NOTEBOOK)
    discard = page.locator(".jp-Dialog").get_by_role("button", name="Discard")
    page.wait_for_function(CLOSED_OR_ASKING, arg=NOTEBOOK)
    if discard.count():
        discard.click()
    expect(tabs).to_have_count(0)


def submit_from_panel(page, screenshot_name=None):
    """Press the panel's Submit and confirm its warning; returns the warning dialog's text.

    screenshot_name: a screenshot of the dialog, taken before it is confirmed.
    """
    panel_button(page, "submit").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog, "no warning before this submission").to_be_visible()
    text = dialog.inner_text()
    if screenshot_name:
        screenshot(page, screenshot_name)
    dialog.get_by_role("button", name="Submit anyway").click()
    expect(dialog).to_have_count(0)
    return text


def wait_for_panel_phase(page, phase):
    """The panel's phase once it is `phase`, without reloading anything (the panel polls the service)."""
    expect(grading_panel(page), f"the panel never said {phase}").to_have_attribute(
        "data-phase", phase, timeout=GRADING_TIMEOUT_S * 1000
    )


def open_feedback_from_panel(page, *expected):
    """The panel's "Open feedback": the service's page of the latest submission, in a new tab (the row's
    feedback_url, cnnkit/hub/status.py); returns that tab once its page shows every one of expected (texts
    or patterns).

    A "not graded" page is placed a moment after the service decides: until then the service's answer says
    so and reloads itself, so the tab is awaited until the page itself shows what is expected.
    """
    with page.context.expect_page() as opened:
        panel_button(page, "feedback").click()
    tab = opened.value
    expect(tab).to_have_url(re.compile(r"/feedback/[0-9a-f]{24}$"))
    body = tab.locator("body")
    for text in expected:
        expect(body, "the feedback tab never showed its page").to_contain_text(text)
    expect(tab.locator("#cnnkit-no-feedback")).to_have_count(0)
    return tab
