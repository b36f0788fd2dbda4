"""A signed Twilio request sent again (an attacker's replay, or Twilio retrying) is acted on once.

The gateway runs in-process over a stand-in for Rasa that counts the turns it is sent, so
"no second turn" is measured where it happens; tests/integration/test_twilio.py drives the
same routes against the real Rasa server.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from channels.app import create_app
from hotline.rasa_client import BotReply, Turn
from channels.twilio_voice import GREETING, SILENCE, SILENT_GOODBYE, WHERE_WERE_WE
from hotline.db import session_scope
from hotline.db.models import Conversation, Handoff, PostConversationJob
from hotline.settings import get_settings
from tests.integration.gateway_helpers import PUBLIC, TWILIO_TOKEN, answered, signed_post, spoken_text, twiml


class CountingRasa:
    """Stands in for the Rasa server: records every turn it is sent; answers at once, or when released."""

    def __init__(self, replaced) -> None:
        self.replaced, self.sent = replaced, []
        self.released = threading.Event()
        self.released.set()

    async def send(self, sender: str, text: str, metadata: dict | None = None) -> Turn:
        self.sent.append(text)
        while not self.released.is_set():
            await asyncio.sleep(0.01)
        if text == "agent":
            return Turn([BotReply("I'm connecting you to one of our team now.")], handoff={"reason": "asked"})
        return Turn([BotReply(f"You said {text}.", [{"title": "Pay now", "payload": "/pay"}])])

    async def latest_intent(self, sender: str) -> str:
        return "inform"

    async def close(self) -> None:
        await self.replaced.close()


@pytest.fixture
def settings(database_url):
    return get_settings().model_copy(update={"twilio_auth_token": SecretStr(TWILIO_TOKEN), "public_base_url": PUBLIC,
                                             "voice_first_words_s": 0.05})


@contextmanager
def gateway(settings):
    """A gateway (one process's life) over the test's database, with the counting Rasa."""
    with TestClient(create_app(settings)) as client:
        state = client.app.state.gateway
        state.rasa = CountingRasa(state.rasa)
        yield client


@pytest.fixture
def client(settings):
    with gateway(settings) as client:
        yield client


def sent(client) -> list[str]:
    return client.app.state.gateway.rasa.sent


def new_call(client) -> str:
    sid = "CA" + uuid.uuid4().hex
    root = twiml(signed_post(client, "/twilio/voice", {"CallSid": sid, "From": "+447700900123"}))
    assert root.find("Gather").get("action") == "/twilio/voice/gather?turn=1"
    return sid


def turn(client, sid: str, number: int, **fields):
    return signed_post(client, f"/twilio/voice/gather?turn={number}", {"CallSid": sid, **fields})


def sms(client, message_sid: str, body: str, number: str = "+447700900456"):
    return signed_post(client, "/twilio/sms", {"MessageSid": message_sid, "From": number, "Body": body})


def test_a_replayed_sms_gets_an_empty_answer_and_no_second_turn(client):
    first = twiml(sms(client, "SM" + "1" * 32, "what is my bill"))
    assert first.find("Message").text.startswith("You said what is my bill.")
    replay = twiml(sms(client, "SM" + "1" * 32, "what is my bill"))
    assert list(replay) == [] and sent(client) == ["what is my bill"]  # nothing is texted, nothing reaches Rasa
    # The same words in a new message (a new MessageSid) are a new turn.
    assert twiml(sms(client, "SM" + "2" * 32, "what is my bill")).find("Message") is not None
    assert sent(client) == ["what is my bill"] * 2


def test_a_replayed_call_turn_gets_the_same_twiml_and_no_second_turn(client):
    sid = new_call(client)
    first = turn(client, sid, 1, SpeechResult="yes")
    assert twiml(first).find("Gather").get("action") == "/twilio/voice/gather?turn=2"
    assert "You said yes. Press 1 for Pay now." in spoken_text(twiml(first))
    assert turn(client, sid, 1, SpeechResult="yes").text == first.text
    assert sent(client) == ["yes"]
    # The caller saying the same again is their next turn, numbered by the Gather they answered.
    second = twiml(turn(client, sid, 2, SpeechResult="yes"))
    assert second.find("Gather").get("action") == "/twilio/voice/gather?turn=3" and sent(client) == ["yes", "yes"]
    # The call coming in, replayed mid-call, gets the greeting again and leaves the call as it was.
    again = twiml(signed_post(client, "/twilio/voice", {"CallSid": sid, "From": "+447700900123"}))
    assert spoken_text(again) == GREETING
    assert client.app.state.gateway.calls[sid].menu == ["/pay"]  # the keypad menu of the last turn still holds


def test_a_turn_replayed_while_its_answer_is_on_the_way_waits_for_that_answer(client):
    rasa = client.app.state.gateway.rasa
    rasa.released.clear()
    sid = new_call(client)
    filler = twiml(turn(client, sid, 1, SpeechResult="what plans do you have"))
    assert filler.find("Redirect").text == "/twilio/voice/pending?turn=1"
    replay = twiml(turn(client, sid, 1, SpeechResult="what plans do you have"))
    assert replay.find("Redirect").text == "/twilio/voice/pending?turn=1"
    rasa.released.set()
    answer = answered(client, sid, filler)
    assert "You said what plans do you have." in spoken_text(answer)
    assert twiml(turn(client, sid, 1, SpeechResult="what plans do you have")).find("Gather").get("action") == \
        answer.find("Gather").get("action") == "/twilio/voice/gather?turn=2"
    assert spoken_text(answered(client, sid, replay)) == spoken_text(answer)  # the replay's redirect: the same answer
    assert sent(client) == ["what plans do you have"]


def test_replayed_silences_count_once(client):
    sid = new_call(client)
    assert spoken_text(twiml(turn(client, sid, 1))) == SILENCE
    assert spoken_text(twiml(turn(client, sid, 1))) == SILENCE  # a replay, not a second silence
    assert spoken_text(twiml(turn(client, sid, 2))) == SILENT_GOODBYE


def test_replays_are_refused_after_a_restart_too(settings):
    with gateway(settings) as client:
        sid = new_call(client)
        first = turn(client, sid, 1, SpeechResult="roaming").text
        twiml(sms(client, "SM" + "3" * 32, "hello"))
    with gateway(settings) as restarted:
        assert turn(restarted, sid, 1, SpeechResult="roaming").text == first
        assert list(twiml(sms(restarted, "SM" + "3" * 32, "hello"))) == []
        assert sent(restarted) == []


def test_the_turn_number_is_signed(client):
    sid = new_call(client)
    params = {"CallSid": sid, "SpeechResult": "yes"}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + "/twilio/voice/gather?turn=1", params)
    for path in ("/twilio/voice/gather?turn=2", "/twilio/voice/gather"):
        assert signed_post(client, path, params, signature=signature).status_code == 403
    assert sent(client) == []


def test_status_callbacks_replayed_end_the_call_once(client):
    sid = new_call(client)
    turn(client, sid, 1, SpeechResult="yes")
    for _ in range(2):
        status = signed_post(client, "/twilio/voice/status", {"CallSid": sid, "CallStatus": "completed"})
        assert status.status_code == 204
    with session_scope(client.app.state.gateway.settings.database_url) as session:
        assert session.get(Conversation, sid).ended_at is not None
        assert session.scalar(select(func.count()).select_from(PostConversationJob)
                              .where(PostConversationJob.conversation_id == sid)) == 1
    # Once the call is over its answers are no longer kept: a replay hears nothing of them.
    after = twiml(turn(client, sid, 1, SpeechResult="yes"))
    assert spoken_text(after) == WHERE_WERE_WE and sent(client) == ["yes"]


def test_an_sms_handoff_tells_the_customer_how_to_reach_a_person(client):
    root = twiml(sms(client, "SM" + "4" * 32, "agent", number="+447700900789"))
    message = root.find("Message").text
    assert "call 150" in message and f"web chat at {PUBLIC}/" in message
    assert "text you back" not in message and "connecting you" not in message
    with session_scope(client.app.state.gateway.settings.database_url) as session:  # counted as an escalation
        assert session.scalar(select(Conversation.handoff).join(Handoff, Handoff.conversation_id == Conversation.id))
