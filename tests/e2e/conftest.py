"""Fixtures of the browser tests: Playwright and Debian's Chromium, once per module."""

import pytest

from tests.e2e import browser_support as support


@pytest.fixture(scope="module")
def playwright_api():
    """Playwright's sync entry point and Chromium's path; checked first so a missing tool fails in seconds."""
    return support.require_playwright(), support.require_chromium()


@pytest.fixture(scope="module")
def browser(playwright_api):
    """Debian's headless Chromium, launched once for the module through Playwright."""
    sync_playwright, chromium_path = playwright_api
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=support.CHROMIUM_ARGS)
        yield browser
        browser.close()
    finally:
        playwright.stop()
