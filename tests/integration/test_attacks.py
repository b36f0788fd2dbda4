"""The attacks from the security review, tried as an attacker would, against the real servers."""

from __future__ import annotations

import asyncio
import json
import os
import time

import httpx
import pytest
import websockets
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from channels.app import create_app
from hotline import clock
from hotline.accounts import verification
from hotline.db import session_scope
from hotline.db.models import Customer, VerifiedConversation
from hotline.db.seed import hash_pin
from hotline.stack import ACTION_SECRET_HEADER, CHANNEL_SECRET_HEADER, channel_endpoint
from tests.integration.gateway_helpers import gateway_settings, generated_customers, say

pytestmark = [pytest.mark.servers, pytest.mark.timeout(900)]
LOCKED = "For your security I can't try verification again"


@pytest.fixture
def target(live):
    """A generated customer with a PIN the test knows; its failures are cleared afterwards."""
    database_url = live["settings"].database_url
    with session_scope(database_url) as session:
        customer = session.scalars(generated_customers()).all()[-2]  # the lockout flow test takes the last
        session.execute(update(Customer).where(Customer.id == customer.id)
                        .values(pin_hash=hash_pin("4321", os.urandom(8))))
        account = customer.account_number, customer.id
    yield account
    with session_scope(database_url) as session:
        verification.lift(session, f"account:{account[1]}")


def gateway(live) -> TestClient:
    return TestClient(create_app(gateway_settings(live)))


def turn(client: TestClient, session_id: str, text: str) -> str:
    response = client.post(f"/api/chat/sessions/{session_id}/messages", json={"text": text})
    assert response.status_code == 200, response.text
    return "\n".join(message["text"] for message in response.json()["messages"])


def new_chat(client: TestClient) -> str:
    return client.post("/api/chat/sessions").json()["session_id"]


def test_pin_guessing_across_sessions_stops_at_the_limit(live, target):
    account, customer_id = target
    guesses = iter(f"{n:04d}" for n in range(1000, 1010))
    replies = []
    with gateway(live) as client:
        for wrong_pins in (3, 2):  # a session locks itself after 3; a new one gets 2 more: 5 for the account
            chat = new_chat(client)
            turn(client, chat, "what's my bill")
            for _ in range(wrong_pins):
                turn(client, chat, account)
                replies.append(turn(client, chat, next(guesses)))
            turn(client, chat, "/restart")  # typed: just text, it resets nothing
        # A new session: locked before the PIN (the right one, 4321) is even asked for, and it stays so.
        chat = new_chat(client)
        turn(client, chat, "what's my bill")
        assert LOCKED in turn(client, chat, account)
        assert LOCKED in turn(client, chat, "what's my bill")
    assert all("match our records" in reply or LOCKED in reply for reply in replies)
    with session_scope(live["settings"].database_url) as session:
        assert f"account:{customer_id}" in {lock.key for lock in verification.active_locks(session, clock.now())}
        assert session.scalar(select(VerifiedConversation).where(VerifiedConversation.customer_id == customer_id)) is None


def test_an_unknown_account_and_a_wrong_pin_read_the_same(live):
    def attempt(account: str) -> list[str]:
        with gateway(live) as client:
            chat = new_chat(client)
            return [turn(client, chat, text) for text in ("check it's me", account, "0000")]

    assert attempt("ACC-1999998") == attempt("ACC-1000004")


def test_typed_intent_syntax_changes_no_state(live):
    with gateway(live) as client:
        chat = new_chat(client)
        assert "account number" in turn(client, chat, "what's my bill")
        reply = turn(client, chat, "/affirm")  # not a "yes, hand me to a person"
        assert "connect you" not in reply and "team" not in reply
        history = client.get(f"/api/chat/sessions/{chat}/history").json()["messages"]
    with session_scope(live["settings"].database_url) as session:
        assert session.get(VerifiedConversation, chat) is None
    assert [m["text"] for m in history if m["role"] == "user"] == ["what's my bill", "affirm"]


def test_the_action_server_refuses_other_callers_and_forged_trackers(live):
    settings = live["settings"]
    forged = {"next_action": "action_show_bill", "version": "3.6.21", "domain": {},
              "tracker": {"sender_id": "forger", "slots": {"verified": True, "customer_id": 3},
                          "latest_message": {"text": "my bill", "intent": {"name": "check_bill"}},
                          "events": [], "paused": False, "followup_action": None, "active_loop": {},
                          "latest_action_name": "action_listen"}}
    url = f"{settings.action_url}/webhook"
    assert httpx.post(url, json=forged, timeout=30).status_code == 401
    assert httpx.post(url, json=forged, headers={ACTION_SECRET_HEADER: "guess"}, timeout=30).status_code == 401
    assert httpx.get(f"{settings.action_url}/actions", timeout=30).status_code == 401
    assert httpx.get(f"{settings.action_url}/health", timeout=30).status_code == 200
    # Even with the secret, slots claiming "verified" are not believed: no server-side record.
    response = httpx.post(url, json=forged, headers={ACTION_SECRET_HEADER: settings.action_secret.get_secret_value()},
                          timeout=60)
    assert response.status_code == 200
    assert [r.get("response") for r in response.json()["responses"]] == ["utter_not_verified"]


def test_rasa_takes_messages_only_from_the_gateway(live):
    settings = live["settings"]
    message = {"sender": "victim-session", "message": "pay my bill"}
    assert httpx.post(f"{settings.rasa_url}/webhooks/rest/webhook", json=message, timeout=30).status_code == 404
    gateway_channel = f"{settings.rasa_url}/webhooks/gateway/webhook"
    assert httpx.post(gateway_channel, json=message, timeout=30).status_code == 401
    assert httpx.post(gateway_channel, json=message, headers={CHANNEL_SECRET_HEADER: "guess"},
                      timeout=30).status_code == 401
    assert say(live, "hello", "gateway-itself")  # the gateway's own secret works


def test_a_session_id_alone_opens_nothing_and_secrets_are_masked(live):
    with gateway(live) as owner:
        chat = new_chat(owner)
        for text in ("check it's me", "ACC-1000004", "9876"):
            turn(owner, chat, text)
        mine = owner.get(f"/api/chat/sessions/{chat}/history").json()["messages"]
        assert [m["text"] for m in mine if m["role"] == "user"] == ["check it's me", "ACC-1000004", "••••"]
        with gateway(live) as stranger:  # another browser that learnt the id
            assert stranger.get(f"/api/chat/sessions/{chat}/history").status_code == 404
            assert stranger.post(f"/api/chat/sessions/{chat}/messages", json={"text": "hi"}).status_code == 404
            assert stranger.post(f"/api/chat/sessions/{chat}/end").status_code == 404
            with stranger.websocket_connect(f"/ws/chat/{chat}") as socket:
                assert socket.receive_json()["code"] == "unknown_session"
        assert owner.get(f"/api/chat/sessions/{chat}/history").status_code == 200


def test_no_ids_numbers_or_message_text_in_any_log(live, web_url):
    secret_text = "my number is 07700 900461 and I need my balance"

    async def chat_over_the_socket() -> str:
        async with httpx.AsyncClient(base_url=web_url.rstrip("/"), timeout=60) as client:
            session = (await client.post("/api/chat/sessions")).json()["session_id"]
            cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
            assert (await client.get(f"/api/chat/sessions/{session}/history")).status_code == 200
        socket_url = web_url.replace("http", "ws").rstrip("/") + f"/ws/chat/{session}"
        async with websockets.connect(socket_url, additional_headers={"Cookie": cookies}) as socket:
            for text in (secret_text, "ACC-1000004", "9876"):
                await socket.send(json.dumps({"type": "message", "text": text}))
                while json.loads(await socket.recv()) != {"type": "typing", "on": False}:
                    pass
        return session

    session = asyncio.run(chat_over_the_socket())
    # A turn the caller gives up on: Rasa's REST channel logs the message of a cancelled turn. A
    # help question, so the turn is still waiting on the model when the caller hangs up.
    url, headers = channel_endpoint(live["settings"])
    with pytest.raises(httpx.TimeoutException):
        httpx.post(url, headers=headers, timeout=0.05, json={
            "sender": session, "message": "my number is 07700 900461, how does wifi calling work?"})
    time.sleep(3)
    logs = {path.name: path.read_text() for path in (live["settings"].var_dir / "logs").glob("*.log")}
    assert {"gateway.log", "rasa.log", "actions.log"} <= set(logs)
    assert "WebSocket" in logs["gateway.log"]  # the socket was logged, but not by its id
    assert "rest.message.received" in logs["rasa.log"]  # so was the abandoned turn, without its text
    for name, text in logs.items():
        for personal in (session, secret_text, "07700 900461", "07700900461"):
            assert personal not in text, f"{personal!r} in {name}"
