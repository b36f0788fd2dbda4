"""The action server killed while a customer chats: the turn that hit the crash gets a polite apology
at once, supervision starts the server again, and the conversation goes on where it was,
verification included (Rasa keeps it in its tracker store)."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest

from hotline.apologies import ALL as APOLOGIES

pytestmark = [pytest.mark.servers, pytest.mark.timeout(600)]


def kill(live, name: str) -> None:
    """The server and its worker processes, all at once, as a crash or the OOM killer would."""
    entry = next(entry for entry in live["stack"].supervised if entry.name == name)
    os.killpg(entry.server.process.pid, signal.SIGKILL)
    entry.server.process.wait()


def texts(response: httpx.Response) -> list[str]:
    body = response.json()
    return [message.get("text", "") for message in body.get("messages", [])] or [body.get("message", "")]


def test_a_killed_action_server_comes_back_and_the_conversation_goes_on(live, web_url):
    # Rasa, the gateway and the worker are supervised the same way (tests/unit/test_stack.py);
    # Rasa's own restart keeps the conversation too (tests/integration/test_postgres.py).
    server = "action"
    with httpx.Client(base_url=web_url.rstrip("/"), timeout=120) as client:
        session = client.post("/api/chat/sessions").json()["session_id"]

        def send(text: str) -> httpx.Response:
            return client.post(f"/api/chat/sessions/{session}/messages", json={"text": text})

        for text in ("what's my bill", "ACC-1000001", "1234"):
            send(text)
        assert any("Your latest bill" in text for text in texts(send("show me my bill again")))

        kill(live, server)
        started = time.monotonic()
        hit = send("how much data have I used?")
        assert time.monotonic() - started < 3, "the customer waited for a server that is gone"
        assert any(text in APOLOGIES for text in texts(hit)), texts(hit)

        changes = live["stack"].revive()  # what `hotline run` does every 2 s
        assert any(f"the {server} server stopped (killed by SIGKILL" in change and "running again" in change
                   for change in changes), changes
        after = texts(send("how much data have I used?"))
        assert not any(text in APOLOGIES for text in after), after
        assert not any("account number" in text for text in after), "verification was lost"
