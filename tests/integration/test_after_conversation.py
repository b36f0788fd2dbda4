"""From a finished conversation to a stored transcript and summary, through the real worker process."""

from __future__ import annotations

import json
import re
import time

import pytest
from fastapi.testclient import TestClient

from channels.app import create_app
from hotline.db import session_scope
from hotline.db.models import ConversationSummary, PostConversationJob, Transcript
from hotline.insights.extraction import SUMMARY_PATTERN
from hotline.insights.taxonomy import INTENTS, TOPICS
from tests.integration.gateway_helpers import answered, gather, gateway_settings, signed_post

pytestmark = [pytest.mark.servers, pytest.mark.timeout(900)]
CALL_SID = "CA" + "5" * 32


def stored(database_url: str, conversation_id: str, timeout_s: float = 400):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with session_scope(database_url) as session:
            transcript = session.get(Transcript, conversation_id)
            summary = session.get(ConversationSummary, conversation_id)
            if transcript and summary:
                return transcript, summary
        time.sleep(2)
    pytest.fail(f"No summary for {conversation_id} within {timeout_s:.0f} s")


def job_status(database_url: str, conversation_id: str) -> str:
    with session_scope(database_url) as session:
        return session.query(PostConversationJob).filter_by(conversation_id=conversation_id).one().status


def test_finished_chat_and_call_are_summarised_even_if_the_worker_was_down(live, request):
    settings = gateway_settings(live)
    database_url = settings.database_url
    with TestClient(create_app(settings)) as client:
        chat = client.post("/api/chat/sessions").json()["session_id"]
        for text in ("why is my bill so high this month?", "ACC-1000001", "1234", "ok thanks, that's all"):
            assert client.post(f"/api/chat/sessions/{chat}/messages", json={"text": text}).status_code == 200
        assert client.post(f"/api/chat/sessions/{chat}/end").json() == {"status": "ended"}
        assert client.post(f"/api/chat/sessions/{chat}/messages", json={"text": "hello?"}).status_code == 404

        call = {"CallSid": CALL_SID, "From": "+447911123456", "To": "+441130000001"}
        signed_post(client, "/twilio/voice", call)
        for speech in ("is there an outage in Leeds", "no that's everything thanks"):
            answered(client, CALL_SID, gather(client, CALL_SID, **call, SpeechResult=speech, Confidence="0.9"))
        assert signed_post(client, "/twilio/voice/status", {**call, "CallStatus": "completed"}).status_code == 204

    # Nothing processed them yet: the work waits in the database for a worker to start.
    assert job_status(database_url, chat) == job_status(database_url, CALL_SID) == "pending"
    request.getfixturevalue("worker")

    transcript, summary = stored(database_url, chat)
    assert (transcript.channel, transcript.turn_count, transcript.verified, transcript.handoff) == ("web", 4, True, False)
    saved = json.dumps(transcript.turns)
    for personal in ("ACC-1000001", '"1234"', "Alice", "Morgan"):
        assert personal not in saved
    assert [turn["role"] for turn in transcript.turns[:2]] == ["user", "bot"]
    assert summary.status == "ok", summary.error
    assert re.fullmatch(SUMMARY_PATTERN, summary.summary) and "Alice" not in summary.summary
    assert summary.primary_intent in INTENTS and set(summary.topics) <= set(TOPICS)
    assert summary.primary_intent in ("billing_enquiry", "balance_enquiry", "bill_payment")
    assert job_status(database_url, chat) == "done"

    transcript, summary = stored(database_url, CALL_SID)
    assert (transcript.channel, transcript.turn_count) == ("voice", 2)
    assert "Leeds" in transcript.turns[0]["text"]  # places are not personal data: analytics need them
    assert summary.status == "ok", summary.error
    assert summary.primary_intent in INTENTS
