"""Redacting a conversation's raw events: what the customer said, what was said back, the
entities and the slots that held identifiers or secrets; everything else as it was."""

from __future__ import annotations

from hotline.insights.retention import redacted_events
from hotline.ml.pii import get_pii_filter

EVENTS = [
    {"event": "action", "name": "action_listen"},
    {"event": "user", "text": "I'm Jessamy Quintrell, email jessamy.q@example.org", "metadata": {"client": "ab12"},
     "parse_data": {"text": "I'm Jessamy Quintrell, email jessamy.q@example.org", "intent": {"name": "greet"},
                    "entities": [{"entity": "email", "value": "jessamy.q@example.org"}]}},
    {"event": "slot", "name": "requested_slot", "value": "account_identifier"},
    {"event": "bot", "text": "What's your account number?"},
    {"event": "user", "text": "ACC-1000042", "parse_data": {"text": "ACC-1000042", "entities": []}},
    {"event": "slot", "name": "account_identifier", "value": "ACC-1000042"},
    {"event": "slot", "name": "requested_slot", "value": "verification_secret"},
    {"event": "user", "text": "0946", "parse_data": {"text": "0946"}},
    {"event": "slot", "name": "verification_secret", "value": "0946"},
    {"event": "slot", "name": "requested_slot", "value": None},
    {"event": "slot", "name": "customer_id", "value": 42},
    {"event": "slot", "name": "verified", "value": True},
    {"event": "slot", "name": "country", "value": "Spain"},
    {"event": "bot", "text": "Thanks Jessamy Quintrell, your card ending 4821 was charged £12.00."},
    {"event": "user", "text": "is there an outage in Leeds", "parse_data": {"text": "is there an outage in Leeds"}},
]


def test_personal_data_goes_and_the_conversation_stays_readable():
    redacted = redacted_events(EVENTS, get_pii_filter().redact)
    flat = str(redacted)
    for personal in ("Jessamy", "Quintrell", "jessamy.q@example.org", "ACC-1000042", "0946", "4821"):
        assert personal not in flat, personal
    assert [event["event"] for event in redacted] == [event["event"] for event in EVENTS]
    assert redacted[4]["text"] == "<ACCOUNT_IDENTIFIER>" and redacted[7]["text"] == "<PIN_OR_DATE_OF_BIRTH>"
    assert redacted[1]["parse_data"]["intent"] == {"name": "greet"} and redacted[1]["parse_data"]["entities"] == []
    assert redacted[1]["metadata"] == {"client": "ab12"}
    assert [redacted[i]["value"] for i in (5, 8, 10, 11, 12)] == [None, None, 42, True, "Spain"]
    assert "£12.00" in redacted[13]["text"] and redacted[14]["text"] == EVENTS[14]["text"]  # not personal
    assert EVENTS[4]["text"] == "ACC-1000042"  # the input is left alone
