"""Analytics figures from conversations with known outcomes; the console and analytics need a signed-in agent."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from channels.app import create_app
from hotline.agents import save_agent, sign_in, signed_in_agent
from hotline.db import session_scope
from hotline.db.models import Conversation, ConversationSummary, Transcript
from hotline.db.seed import DEMO_AGENT
from hotline.insights.analytics import build_report, load_facts
from hotline.settings import get_settings
from tests.conftest import on_awkward_days


def add(session, conversation_id, channel, day, minutes, turns, handoff, summary=None):
    started = datetime.combine(day, datetime.min.time()) + timedelta(hours=10)
    ended = started + timedelta(minutes=minutes)
    session.add(Conversation(id=conversation_id, channel=channel, started_at=started, last_activity_at=ended,
                             ended_at=ended, handoff=handoff))
    session.add(Transcript(conversation_id=conversation_id, channel=channel, started_at=started, ended_at=ended,
                           turn_count=turns, handoff=handoff, verified=True,
                           turns=[{"role": "user", "text": "my bill, account <ACCOUNT_NUMBER>"}]))
    if summary:
        status, intent, topics, start, end, resolved = summary
        session.add(ConversationSummary(
            conversation_id=conversation_id, status=status, summary="The customer asked. The assistant answered.",
            primary_intent=intent, secondary_intents=[], topics=topics, sentiment_start=start, sentiment_end=end,
            resolved=resolved, follow_up_actions=[], attempts=1, seconds=12.0, created_at=ended))


@pytest.fixture
def known_outcomes(database_url, today):
    """Conversations yesterday and today (and one outside the week), with known figures."""
    yesterday = today - timedelta(days=1)
    with session_scope(database_url) as session:
        add(session, "a", "web", yesterday, 10, 5, False,
            ("ok", "billing_enquiry", ["bill amount"], "neutral", "positive", True))
        add(session, "b", "voice", yesterday, 4, 3, True,
            ("ok", "complaint", ["complaint", "bill amount"], "negative", "negative", False))
        add(session, "c", "web", today, 2, 2, False,
            ("ok", "roaming", ["roaming charges"], "neutral", "neutral", False))
        add(session, "d", "sms", today, 6, 1, False, ("failed", None, [], None, None, None))
        add(session, "e", "web", today, 1, 0, False)  # a page opened and left: not a conversation
        add(session, "f", "web", today - timedelta(days=20), 3, 4, False,
            ("ok", "roaming", ["europe roaming"], "neutral", "neutral", True))  # outside the period
    return database_url


EXPECTED_TOTALS = {"conversations": 4, "by_channel": {"web": 2, "voice": 1, "sms": 1}, "contained": 1,
                   "escalated": 1, "containment_rate": 0.25, "escalation_rate": 0.25, "resolution_rate": 0.333,
                   "average_handling_seconds": 330.0, "summaries_missing": 1}


@on_awkward_days
def test_figures_match_the_known_outcomes(known_outcomes, today):
    since = today - timedelta(days=6)
    with session_scope(known_outcomes) as session:
        report = build_report(load_facts(session, since, today), since, today)
    assert report["days"][-1] == today.isoformat() and report["days"][0] == since.isoformat()
    assert report["totals"] == EXPECTED_TOTALS
    assert report["per_day"]["web"][-2:] == [1, 1] and report["per_day"]["voice"][-2:] == [1, 0]
    assert sum(report["per_day"]["web"]) == 2 and len(report["days"]) == 7
    assert report["top_intents"][0]["count"] == 1 and {i["intent"] for i in report["top_intents"]} == {
        "billing_enquiry", "complaint", "roaming"}
    assert report["top_topics"][0] == {"topic": "bill amount", "count": 2}
    assert report["topics_per_day"]["bill amount"][-2:] == [2, 0]
    assert report["sentiment_per_day"]["start"][-2:] == [-0.5, 0.0]
    assert report["sentiment_per_day"]["end"][-2:] == [0.0, 0.0]
    assert report["sentiment_per_day"]["end"][0] is None  # no conversations that day
    assert report["handling_seconds_per_day"][-2:] == [420.0, 240.0]


@pytest.fixture
def client(database_url):
    with TestClient(create_app(get_settings())) as client:
        yield client


def sign_in_demo(client) -> None:
    response = client.post("/console/login", data={"username": DEMO_AGENT[0], "password": DEMO_AGENT[2]},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/console"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


@on_awkward_days
def test_api_and_csv_give_the_same_figures(known_outcomes, client, today):
    sign_in_demo(client)
    report = client.get("/api/analytics", params={"days": 7}).json()
    assert report["totals"] == EXPECTED_TOTALS
    response = client.get("/api/analytics/conversations.csv", params={"from": (today - timedelta(days=6)).isoformat()})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["id"] for row in rows] == ["a", "b", "c", "d"]
    assert rows[1]["handoff"] == "True" and rows[0]["contained"] == "True" and rows[0]["handling_seconds"] == "600"
    assert "<ACCOUNT_NUMBER>" not in response.text and "my bill" not in response.text  # labels, not text
    assert client.get("/api/analytics", params={"from": today.isoformat(),
                                                    "to": (today - timedelta(days=1)).isoformat()}).status_code == 422
    assert client.get("/api/analytics", params={"days": 0}).status_code == 422
    assert client.get("/console/analytics").status_code == 200
    recent = client.get("/api/console/queue").json()["recent"]
    assert [r["id"] for r in recent] == ["d", "c", "a", "b", "f"]  # latest first; the empty one is not listed
    assert recent[1] | {"ended_at": None} == {"id": "c", "channel": "web", "ended_at": None, "handoff": False, "turns": 2,
                                              "summary_status": "ok", "primary_intent": "roaming", "resolved": False}


PAGES = ["/console", "/console/analytics", "/console/conversations/abc"]
APIS = [("get", "/api/console/me"), ("get", "/api/console/queue"), ("get", "/api/console/conversations/abc"),
        ("post", "/api/console/conversations/abc/takeover"), ("post", "/api/console/conversations/abc/messages"),
        ("post", "/api/console/conversations/abc/handback"), ("post", "/api/console/conversations/abc/end"),
        ("get", "/api/analytics"), ("get", "/api/analytics/conversations.csv")]


def refused_everywhere(client) -> None:
    for path in PAGES:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/console/login", path
    for method, path in APIS:
        response = getattr(client, method)(path)
        assert response.status_code == 401, path
        assert response.json() == {"detail": "Sign in to the agent console first."}


def test_unauthenticated_and_forged_sessions_are_refused(client):
    refused_everywhere(client)
    client.cookies.set("hotline_agent", "forged-token")
    refused_everywhere(client)


def test_wrong_password_then_sign_in_and_out(client):
    client.cookies.clear()
    response = client.post("/console/login", data={"username": "agent", "password": "guess"})
    assert response.status_code == 401 and "Wrong username or password" in response.text
    assert client.post("/console/login", data={"username": "nobody", "password": "guess"}).status_code == 401
    sign_in_demo(client)
    assert client.get("/api/console/me").json() == {"username": "agent", "name": "Sam"}
    assert client.get("/api/console/queue").json() == {"waiting": [], "recent": []}
    client.post("/console/logout")
    client.cookies.clear()
    refused_everywhere(client)


def test_agents_and_sessions(database_url):
    with pytest.raises(ValueError):
        save_agent(database_url, "kim", "Kim", "short")
    save_agent(database_url, "kim", "Kim", "a long passphrase")
    assert sign_in(database_url, "kim", "wrong passphrase", hours=1, client="test") is None
    token = sign_in(database_url, "kim", "a long passphrase", hours=1, client="test")
    assert signed_in_agent(database_url, token).display_name == "Kim"
    expired = sign_in(database_url, "kim", "a long passphrase", hours=-1, client="test")
    assert signed_in_agent(database_url, expired) is None


def test_password_guessing_is_slowed_down(client):
    codes = [client.post("/console/login", data={"username": "agent", "password": f"guess {n}"}).status_code
             for n in range(6)]
    assert codes == [401] * 5 + [429]
