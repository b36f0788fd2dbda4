"""Driving Debian's Chromium with Playwright (no page.evaluate: the pages' CSP forbids eval)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def wait_for_count(page, test_id: str, count: int, timeout_ms: float = 90_000) -> None:
    """Wait until at least `count` elements with this test id are on the page."""
    page.get_by_test_id(test_id).nth(count - 1).wait_for(state="attached", timeout=timeout_ms)


def send(page, text: str, expect_bot_messages: int) -> None:
    page.get_by_test_id("input").fill(text)
    page.get_by_test_id("send").click()
    wait_for_count(page, "msg-bot", expect_bot_messages)
    page.get_by_test_id("typing").wait_for(state="hidden")


@contextmanager
def browser_page(browser, width: int, height: int, url: str | None = None) -> Iterator:
    """A page in its own browser context (its own cookies and storage), closed afterwards."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(90_000)
    if url:
        page.goto(url)
    yield page
    context.close()
