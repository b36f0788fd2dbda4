"""The web chat in a real headless Chromium, against the real gateway, Rasa and actions."""

from __future__ import annotations

import pytest

from tests.integration.browser_helpers import browser_page, send, wait_for_count

pytestmark = [pytest.mark.servers, pytest.mark.timeout(900)]


@pytest.fixture
def page(browser, web_url):
    with browser_page(browser, 390, 740, web_url) as page:
        yield page


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
