"""Playwright driving Debian's chromium against pytest-django's live server."""

import os

import pytest

from tests.support.tools import require_tool

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def _playwright_browser():
    chromium = require_tool(
        "chromium", "apt-get install chromium", paths=[os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium"]
    )
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(_playwright_browser, live_server):
    """A fresh browser context (phone-sized) whose base URL is the live server."""
    context = _playwright_browser.new_context(
        base_url=live_server.url, viewport={"width": 412, "height": 860}, locale="kk-KZ"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()
