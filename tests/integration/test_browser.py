"""The web chat in a real headless Chromium, against the real gateway, Rasa and actions."""

from __future__ import annotations

import shutil

import pytest

from hotline.stack import start_gateway
from tests.integration.gateway_helpers import gateway_settings

pytestmark = [pytest.mark.servers, pytest.mark.timeout(900)]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def web_url(live):
    settings = gateway_settings(live)
    gateway = start_gateway(settings, live["token"])
    yield settings.gateway_url + "/"
    gateway.stop()


@pytest.fixture
def page(web_url):
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM):
        pytest.fail("Chromium is not installed: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 390, "height": 740})
        page.set_default_timeout(90_000)
        page.goto(web_url)
        yield page
        browser.close()


def wait_for_count(page, test_id: str, count: int) -> None:
    """Wait until at least `count` elements with this test id are on the page (no eval: the CSP forbids it)."""
    page.get_by_test_id(test_id).nth(count - 1).wait_for(state="attached")


def send(page, text: str, expect_bot_messages: int) -> None:
    page.get_by_test_id("input").fill(text)
    page.get_by_test_id("send").click()
    wait_for_count(page, "msg-bot", expect_bot_messages)
    page.get_by_test_id("typing").wait_for(state="hidden")


def test_verify_ask_a_question_follow_citations_and_reload(page):
    bots = page.get_by_test_id("msg-bot")
    send(page, "what's my bill?", 1)
    assert "account number" in bots.last.inner_text()
    send(page, "ACC-1000001", 2)
    send(page, "1234", 4)
    assert "Your latest bill" in page.get_by_test_id("chat-log").inner_text()
    chips = page.get_by_test_id("chip")
    assert "Explain my bill" in chips.all_inner_texts()
    page.get_by_test_id("chip").filter(has_text="Explain my bill").click()
    wait_for_count(page, "msg-bot", 5)
    assert "bill comes to" in bots.last.inner_text()

    count = bots.count()
    send(page, "what are the APN settings for picture messages?", count + 1)
    links = page.get_by_test_id("citation")
    assert links.count() >= 1
    assert links.first.get_attribute("href").startswith("https://help.brightwave.example/")

    before = page.get_by_test_id("chat-log").inner_text()
    page.reload()
    wait_for_count(page, "msg-user", 5)
    after = page.get_by_test_id("chat-log").inner_text()
    assert "Your latest bill" in after and "ACC-1000001" in after and "APN" in after
    assert len(after) >= len(before) * 0.8


def test_handoff_notice_and_input_limits(page):
    send(page, "can I talk to a human please", 1)
    send(page, "my bill is wrong", 2)
    page.get_by_test_id("handoff-notice").wait_for(state="visible")
    assert page.get_by_test_id("input").get_attribute("maxlength") == "1000"
