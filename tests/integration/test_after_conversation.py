"""From a finished conversation to a stored transcript and summary, through the real worker process."""

from __future__ import annotations

import json
import re
import shutil
import time
import uuid

import pytest
from fastapi.testclient import TestClient

from channels.app import create_app
from channels.twilio_voice import APOLOGY
from hotline.db import session_scope
from hotline.db.models import ConversationSummary, PostConversationJob, Transcript
from hotline.insights.extraction import SUMMARY_PATTERN
from hotline.insights.taxonomy import INTENTS, TOPICS
from hotline.stack import start_worker
from tests.integration.gateway_helpers import answered, gather, gateway_settings, signed_post, spoken_text

pytestmark = [pytest.mark.servers, pytest.mark.timeout(900)]


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


@pytest.fixture
def own_settings(live, seeded_template, tmp_path):
    """Gateway and worker settings over a database of this test's own, so no other test's worker
    (the session's `worker` watches the live database) can take this test's jobs before it starts
    its own. Rasa and the action server stay the live ones, over the live database."""
    shutil.copy(seeded_template, tmp_path / "hotline.db")
    return gateway_settings(live, database_url=f"sqlite:///{tmp_path / 'hotline.db'}", var_dir=tmp_path)


def test_finished_chat_and_call_are_summarised_even_if_the_worker_was_down(live, own_settings):
    settings, call_sid = own_settings, "CA" + uuid.uuid4().hex
    database_url = settings.database_url
    with TestClient(create_app(settings)) as client:
        chat = client.post("/api/chat/sessions").json()["session_id"]
        for text in ("why is my bill so high this month?", "ACC-1000001", "1234", "ok thanks, that's all"):
            assert client.post(f"/api/chat/sessions/{chat}/messages", json={"text": text}).status_code == 200
        assert client.post(f"/api/chat/sessions/{chat}/end").json() == {"status": "ended"}
        assert client.post(f"/api/chat/sessions/{chat}/messages", json={"text": "hello?"}).status_code == 404

        call = {"CallSid": call_sid, "From": "+447911123456", "To": "+441130000001"}
        signed_post(client, "/twilio/voice", call)
        # Closing words the bot knows, not a question for the model: on a busy machine a model
        # answer can outlast the voice turn limit, and a turn given up on is not in the conversation.
        for speech in ("is there an outage in Leeds", "that's all, bye"):
            reply = answered(client, call_sid, gather(client, call_sid, **call, SpeechResult=speech, Confidence="0.9"))
            assert APOLOGY not in spoken_text(reply)
        assert signed_post(client, "/twilio/voice/status", {**call, "CallStatus": "completed"}).status_code == 204

    # Nothing processed them yet: the work waits in the database for a worker to start.
    assert job_status(database_url, chat) == job_status(database_url, call_sid) == "pending"
    with start_worker(settings, live["token"]):
        (transcript, summary), call_record = stored(database_url, chat), stored(database_url, call_sid)

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

    transcript, summary = call_record
    assert (transcript.channel, transcript.turn_count) == ("voice", 2)
    assert "Leeds" in transcript.turns[0]["text"]  # places are not personal data: analytics need them
    assert summary.status == "ok", summary.error
    assert summary.primary_intent in INTENTS
