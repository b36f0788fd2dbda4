"""Twilio voice and SMS webhooks, signed exactly as Twilio signs them, answered in TwiML."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator

from channels.app import create_app
from hotline.pseudonyms import sms_conversation_id
from channels.twilio_voice import APOLOGY, FILLER, STILL_WORKING
from hotline.db import session_scope
from hotline.db.models import Conversation
from knowledge.answer import NO_ANSWER_VOICE
from tests.integration.gateway_helpers import (PUBLIC, TWILIO_TOKEN, answered, gather, gateway_settings, signed_post,
                                               spoken_text, twiml)

pytestmark = [pytest.mark.servers, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def client(live):
    with TestClient(create_app(gateway_settings(live))) as client:
        yield client


def call_sid() -> str:
    return "CA" + uuid.uuid4().hex


def caller_number() -> str:
    """A UK mobile number no other test uses, so its SMS conversation starts empty."""
    return f"+4477009{uuid.uuid4().int % 10 ** 5:05d}"


def signature_for(path: str, params: dict[str, str], base: str = PUBLIC) -> str:
    return RequestValidator(TWILIO_TOKEN).compute_signature(base + path, params)


def gateway_state(client, conversation_id: str):
    """What the gateway holds of a conversation: its row (last activity, ended) and when a call's
    latest turn started; None for what it does not have."""
    gateway = client.app.state.gateway
    with session_scope(gateway.settings.database_url) as session:
        row = session.get(Conversation, conversation_id)
        stored = None if row is None else (row.last_activity_at, row.ended_at)
    call = gateway.calls.get(conversation_id)
    return stored, None if call is None else call.pending_started


def user_turns(client, conversation_id: str) -> list[str]:
    """What Rasa has heard from the customer in this conversation."""
    settings = client.app.state.gateway.settings
    tracker = httpx.get(f"{settings.rasa_url}/conversations/{conversation_id}/tracker", timeout=10,
                        params={"token": settings.rasa_auth_token.get_secret_value()}).json()
    return [event["text"] for event in tracker["events"] if event["event"] == "user"]


def test_incoming_call_greets_and_listens_for_speech_and_keys(client):
    sid = call_sid()
    root = twiml(signed_post(client, "/twilio/voice", {"CallSid": sid, "From": "+447911123456"}))
    listen = root.find("Gather")
    assert listen.get("input") == "speech dtmf" and listen.get("speechTimeout") == "auto"
    assert listen.get("action") == "/twilio/voice/gather?turn=1" and "roaming" in listen.get("hints")
    assert "Brightwave" in spoken_text(root)
    with session_scope(client.app.state.gateway.settings.database_url) as session:
        conversation = session.get(Conversation, sid)
        assert conversation.channel == "voice" and "447911" not in conversation.id


def test_speech_then_keypad_verification_then_a_keypad_menu(client):
    sid = call_sid()
    signed_post(client, "/twilio/voice", {"CallSid": sid})
    assert "account number" in spoken_text(gather(client, sid, SpeechResult="what's my bill"))
    assert "PIN" in spoken_text(gather(client, sid, Digits="1000001#"))
    root = gather(client, sid, Digits="1234")
    said = spoken_text(root)
    assert "Your latest bill" in said and "http" not in said and "•" not in said
    assert root.find("Gather") is not None  # the reply is said inside a Gather: the caller can barge in
    assert "Press 1 for Explain my bill" in said or "Press 2 for Explain my bill" in said
    choice = "1" if "Press 1 for Explain my bill" in said else "2"
    assert "bill comes to" in spoken_text(gather(client, sid, Digits=choice))


def test_details_said_aloud_verify_the_caller_as_keypad_digits_do(client):
    """Speech results as Twilio's recogniser writes them: words for digits, fillers, a false start."""
    sid = call_sid()
    signed_post(client, "/twilio/voice", {"CallSid": sid})
    assert "account number" in spoken_text(gather(client, sid, SpeechResult="um what's my bill"))
    assert "PIN" in spoken_text(gather(client, sid, SpeechResult="yeah it's a c c one zero zero zero zero zero two"))
    said = spoken_text(gather(client, sid, SpeechResult="uh my date of birth is the fourth of july nineteen ninety"))
    assert "Thanks Ben" in said and "Your latest bill" in said


def test_a_bare_bill_on_the_phone_is_a_keypad_choice(client):
    sid = call_sid()
    signed_post(client, "/twilio/voice", {"CallSid": sid})
    said = spoken_text(gather(client, sid, SpeechResult="bill"))
    assert "have it explained, or pay it" in said and "Press 1 for See my bill" in said


def test_voice_answers_are_the_spoken_variant(client):
    sid = call_sid()
    signed_post(client, "/twilio/voice", {"CallSid": sid})
    heard: list[str] = []
    answered(client, sid, gather(client, sid, SpeechResult="how does wifi calling work"), heard)
    said = " ".join(heard)
    assert "http" not in said and "Sources" not in said and "text you a link" in said
    # The Wi-Fi Calling article's answer is said, not an apology or "I don't have information".
    assert "calls over a Wi-Fi connection" in said and not any(line in said for line in (APOLOGY, NO_ANSWER_VOICE))


def test_silence_reprompts_then_says_goodbye(client):
    sid = call_sid()
    signed_post(client, "/twilio/voice", {"CallSid": sid})
    first = gather(client, sid)
    assert "didn't hear anything" in spoken_text(first) and first.find("Gather") is not None
    second = gather(client, sid, SpeechResult="")
    assert "end the call" in spoken_text(second) and second.find("Hangup") is not None


def test_goodbye_hangs_up(client):
    sid = call_sid()
    signed_post(client, "/twilio/voice", {"CallSid": sid})
    root = gather(client, sid, SpeechResult="that's all, bye")
    assert root.find("Hangup") is not None and "Bye" in spoken_text(root)


def test_handoff_dials_an_agent_with_the_conversation_id(client):
    sid = call_sid()
    signed_post(client, "/twilio/voice", {"CallSid": sid})
    gather(client, sid, SpeechResult="let me speak to a real person")
    root = gather(client, sid, SpeechResult="my broadband bill is wrong")
    number = root.find("Dial/Number")
    assert number.text == client.app.state.gateway.settings.agent_number
    assert f"conversation_id={sid}" in number.get("url")
    whisper = twiml(signed_post(client, number.get("url"), {"CallSid": sid}))
    assert sid in spoken_text(whisper)


def test_slow_answers_get_a_filler_and_a_redirect(live):
    with TestClient(create_app(gateway_settings(live, voice_first_words_s=0.01))) as client:
        sid = call_sid()
        signed_post(client, "/twilio/voice", {"CallSid": sid})
        root = gather(client, sid, SpeechResult="what plans do you have")
        assert spoken_text(root) in (FILLER, STILL_WORKING)  # which one depends on how busy the machine is
        assert root.find("Redirect").text == "/twilio/voice/pending"
        assert "Our plans" in spoken_text(answered(client, sid, root))


def test_status_callback_closes_the_conversation(client):
    sid = call_sid()
    signed_post(client, "/twilio/voice", {"CallSid": sid})
    assert signed_post(client, "/twilio/voice/status", {"CallSid": sid, "CallStatus": "completed"}).status_code == 204
    with session_scope(client.app.state.gateway.settings.database_url) as session:
        assert session.get(Conversation, sid).ended_at is not None


@pytest.mark.parametrize("path", ["/twilio/voice", "/twilio/voice/gather", "/twilio/voice/status",
                                  "/twilio/voice/pending", "/twilio/sms"])
def test_forged_and_unsigned_requests_are_refused(client, path):
    params = {"CallSid": call_sid(), "SpeechResult": "what's my bill", "Body": "hi", "From": "+447911123456"}
    assert signed_post(client, path, params, token="not-our-token").status_code == 403
    assert signed_post(client, path, params, signature="").status_code == 403
    assert client.post(path, json=params).status_code == 415


SIGNED = {"/twilio/voice/gather?turn=1": {"SpeechResult": "what plans do you have"},
          "/twilio/voice/status": {"CallStatus": "completed"}, "/twilio/sms": {"Body": "what plans do you have"}}
TAMPERED = {"SpeechResult": "read me Ben Carter's bill", "Body": "read me Ben Carter's bill", "From": "+447700900999"}


@pytest.mark.parametrize("path, field", [("/twilio/voice", "From"), ("/twilio/voice/gather?turn=1", "SpeechResult"),
                                         ("/twilio/voice/status", "CallSid"), ("/twilio/sms", "Body"),
                                         ("/twilio/sms", "From")])
def test_a_request_changed_after_signing_is_refused_and_not_processed(client, path, field):
    number, sid, other = caller_number(), call_sid(), call_sid()
    if path == "/twilio/sms":
        secret = client.app.state.gateway.settings.sms_id_secret.get_secret_value()
        params = {"From": number, **SIGNED[path]}
        conversations = [sms_conversation_id(number, secret), sms_conversation_id(TAMPERED["From"], secret)]
    else:
        params = {"CallSid": sid, "From": number, **SIGNED.get(path, {})}
        conversations = [sid, other]
        if path != "/twilio/voice":
            for call in conversations:  # calls in progress, to tamper with
                signed_post(client, "/twilio/voice", {"CallSid": call})
    signature = signature_for(path, params)
    before = [gateway_state(client, c) for c in conversations]
    tampered = {**params, field: other if field == "CallSid" else TAMPERED[field]}
    assert signed_post(client, path, tampered, signature=signature).status_code == 403
    assert [gateway_state(client, c) for c in conversations] == before
    assert not any(user_turns(client, c) for c in conversations)
    # The same signature over the fields it was made for is accepted and acted on.
    assert signed_post(client, path, params, signature=signature).status_code in (200, 204)
    assert [gateway_state(client, c) for c in conversations] != before  # a call or thread opened or ended, a turn began


def test_a_request_signed_for_another_url_is_refused(client):
    params = {"CallSid": call_sid()}
    signature = signature_for("/twilio/voice", params, base="https://evil.example")
    assert signed_post(client, "/twilio/voice", params, signature=signature).status_code == 403


def test_sms_replies_with_the_text_variant_and_keeps_the_number_out(client):
    root = twiml(signed_post(client, "/twilio/sms", {"From": "+447911654321", "Body": "how much is the late payment fee?"}))
    message = root.find("Message").text
    assert "£5.00" in message and "https://help.brightwave.example/" in message
    with session_scope(client.app.state.gateway.settings.database_url) as session:
        ids = [c.id for c in session.query(Conversation).filter_by(channel="sms")]
    assert ids and all("447911654321" not in conversation_id for conversation_id in ids)


def test_an_sms_conversation_that_keeps_writing_stays_open(client):
    gateway = client.app.state.gateway
    number = caller_number()
    conversation_id = sms_conversation_id(number, gateway.settings.sms_id_secret.get_secret_value())
    signed_post(client, "/twilio/sms", {"From": number, "Body": "hi"})
    (first_activity, _), _ = gateway_state(client, conversation_id)
    with session_scope(gateway.settings.database_url) as session:  # its first message was 29 minutes ago
        session.get(Conversation, conversation_id).last_activity_at = first_activity - timedelta(minutes=29)
    signed_post(client, "/twilio/sms", {"From": number, "Body": "what plans do you have"})
    (last_activity, ended), _ = gateway_state(client, conversation_id)
    assert last_activity >= first_activity and ended is None  # the idle clock restarted with the second message


def test_sms_bad_input_gets_a_clear_reply(client):
    assert "type a message" in twiml(signed_post(client, "/twilio/sms", {"From": "+15555550100", "Body": " "})).find("Message").text
    assert "too long" in twiml(signed_post(client, "/twilio/sms", {"From": "+15555550100", "Body": "x" * 2000})).find("Message").text
