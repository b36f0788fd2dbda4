"""Faults injected while a customer is chatting, with what the customer must see: the model
hanging (the answer quoted from the article once the deadline passes) and the customer database
locked by another writer (a polite message, then the next turn works, still verified)."""

from __future__ import annotations

import os
import signal
import sqlite3

import pytest
from fastapi.testclient import TestClient

from channels.app import create_app
from hotline.apologies import ALL as APOLOGIES
from knowledge.cache import AnswerCache
from tests.integration.gateway_helpers import RestChat, gateway_settings
from tests.integration.test_model_server import stock_server

pytestmark = [pytest.mark.servers, pytest.mark.timeout(600)]


def test_a_hung_model_gives_the_quoted_answer_and_the_next_one_is_written(live):
    chat = RestChat(live)
    _, server = stock_server(live)
    AnswerCache(live["settings"]).clear()  # other tests asked this: it must reach the model
    os.kill(server.process.pid, signal.SIGSTOP)  # alive, listening, answering nothing
    try:
        reply = chat("tell me about wifi calling")
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
    assert "Wi-Fi Calling" in reply and reply not in APOLOGIES  # quoted from the article at the deadline
    assert "Wi-Fi" in chat("how do I turn on wifi calling")


def test_a_locked_database_gets_a_polite_message_and_the_next_turn_works(live):
    with TestClient(create_app(gateway_settings(live))) as client:
        session = client.post("/api/chat/sessions").json()["session_id"]

        def turn(text: str) -> str:
            response = client.post(f"/api/chat/sessions/{session}/messages", json={"text": text})
            assert response.status_code in (200, 503), response.text
            body = response.json()
            return body.get("message") or "\n".join(message["text"] for message in body["messages"])

        for text in ("check it's me", "ACC-1000001", "1234"):
            turn(text)
        blocker = sqlite3.connect(live["settings"].database_url.removeprefix("sqlite:///"), timeout=1)
        blocker.execute("BEGIN EXCLUSIVE")  # another process writing for a long time
        try:
            locked = turn("how much data have I used")
        finally:
            blocker.rollback()
            blocker.close()
        assert locked in APOLOGIES or "couldn't look that up" in locked, locked
        after = turn("how much data have I used")
        assert after not in APOLOGIES and "GB" in after and "account number" not in after, after
