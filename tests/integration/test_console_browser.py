"""An agent takes over a web chat in the console and hands it back, in a real browser.

Two browser contexts: the customer on the chat page, the agent on the console.
"""

from __future__ import annotations

import re

import pytest

from hotline.db.seed import DEMO_AGENT
from tests.integration.browser_helpers import browser_page, send, wait_for_count

pytestmark = [pytest.mark.servers, pytest.mark.timeout(1200)]
SLOW_MS = 240_000  # the gateway builds the knowledge pipeline on the first handoff; the worker summarises


@pytest.fixture
def customer(browser, web_url):
    with browser_page(browser, 390, 740, web_url) as page:
        yield page


@pytest.fixture
def agent(browser):
    with browser_page(browser, 1280, 900) as page:
        yield page


def sign_in(agent, base: str) -> None:
    agent.goto(base + "console")
    assert agent.url.endswith("/console/login")  # no session: sent to sign in
    agent.get_by_test_id("username").fill(DEMO_AGENT[0])
    agent.get_by_test_id("password").fill(DEMO_AGENT[2])
    agent.get_by_test_id("sign-in").click()
    agent.wait_for_url(base + "console")


def test_take_over_answer_with_the_suggestion_and_hand_back(customer, agent, web_url, worker):
    send(customer, "can I talk to a human please", 1)
    send(customer, "how do I set up wifi calling on my phone", 2)
    customer.get_by_test_id("handoff-notice").wait_for(state="visible")

    sign_in(agent, web_url)
    agent.get_by_test_id("waiting-item").filter(has_text="wifi calling").first.get_by_role("link").click()
    agent.get_by_test_id("status").filter(has_text="waiting").wait_for()
    assert "wifi calling" in agent.get_by_test_id("reason").inner_text()
    assert "Not verified" in agent.get_by_test_id("customer").inner_text()
    assert "wifi calling" in agent.get_by_test_id("question").inner_text()

    # The suggested reply and its sources come from the same retrieval and model as the assistant.
    agent.get_by_test_id("suggestion-sources").get_by_role("link").first.wait_for(timeout=SLOW_MS)
    source = agent.get_by_test_id("suggestion-sources").get_by_role("link").first
    assert source.get_attribute("href").startswith("https://help.brightwave.example/")
    suggestion = agent.get_by_test_id("suggestion-text").inner_text()
    assert "Wi-Fi Calling" in suggestion or "wifi" in suggestion.lower()
    agent.get_by_test_id("summary").filter(has_text=re.compile(r"customer", re.I)).wait_for(timeout=SLOW_MS)

    agent.get_by_test_id("takeover").click()
    agent.get_by_test_id("status").filter(has_text="with agent").wait_for()
    wait_for_count(customer, "msg-agent", 1)
    assert "Sam" in customer.get_by_test_id("msg-agent").first.inner_text()
    assert "chatting with Sam" in customer.get_by_test_id("handoff-notice").inner_text()

    agent.get_by_test_id("use-suggestion").click()
    assert agent.get_by_test_id("agent-input").input_value() == suggestion
    agent.get_by_test_id("agent-send").click()
    wait_for_count(customer, "msg-agent", 2)
    assert customer.get_by_test_id("msg-agent").nth(1).get_by_test_id("citation").count() >= 1

    # While the agent holds the chat the assistant stays quiet; the agent sees the customer live.
    bots_before = customer.get_by_test_id("msg-bot").count()
    customer.get_by_test_id("input").fill("thanks, and does it cost extra?")
    customer.get_by_test_id("send").click()
    agent.get_by_test_id("turn-user").filter(has_text="does it cost extra").wait_for()
    agent.get_by_test_id("agent-input").fill("No, Wi-Fi Calling is free on every plan.")
    agent.get_by_test_id("agent-send").click()
    wait_for_count(customer, "msg-agent", 3)
    assert customer.get_by_test_id("msg-bot").count() == bots_before

    agent.get_by_test_id("handback").click()
    agent.get_by_test_id("status").filter(has_text="with the assistant").wait_for()
    wait_for_count(customer, "msg-bot", bots_before + 1)
    assert "back with the Brightwave virtual assistant" in customer.get_by_test_id("msg-bot").last.inner_text()
    customer.get_by_test_id("handoff-notice").wait_for(state="hidden")
    send(customer, "how do I check my voicemail", bots_before + 2)

    customer.get_by_test_id("end-chat").click()
    customer.get_by_test_id("notice").filter(has_text="This chat has ended").wait_for()
    assert customer.get_by_test_id("input").is_disabled()

    # The finished chat's summary is in the console, and in the analytics.
    agent.get_by_test_id("status").filter(has_text="ended").wait_for()
    agent.get_by_test_id("turn-agent").filter(has_text="free on every plan").wait_for(timeout=SLOW_MS)
    assert "does it cost extra" in agent.get_by_test_id("transcript").inner_text()
    # Exactly the "resolved" chip: the worker judged it resolved ("not resolved" must not match).
    agent.get_by_test_id("labels").get_by_text("resolved", exact=True).wait_for(timeout=SLOW_MS)
    assert len(agent.get_by_test_id("summary").inner_text().split(". ")) >= 2
    agent.goto(web_url + "console")
    agent.get_by_test_id("recent-item").filter(has_text="yes").first.wait_for()  # handed to a human: yes
    agent.goto(web_url + "console/analytics")
    agent.get_by_test_id("kpi-conversations").filter(has_text=re.compile(r"^[1-9]")).wait_for()
    assert agent.get_by_test_id("kpi-escalation").inner_text() != "–"
    agent.get_by_test_id("chart-volume").wait_for(state="visible")
