"""The gateway's web chat over the real Rasa and action servers, and bad input everywhere."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from channels.app import create_app
from tests.integration.gateway_helpers import gateway_settings
from tests.ports import free_port

pytestmark = [pytest.mark.servers, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def client(live):
    with TestClient(create_app(gateway_settings(live, rate_limit_messages=6, rate_limit_window_s=60))) as client:
        yield client


def new_session(client) -> str:
    response = client.post("/api/chat/sessions")
    assert response.status_code == 201
    return response.json()["session_id"]


def turn(socket, frame: dict) -> list[dict]:
    """Send one frame; collect what comes back until the typing indicator switches off."""
    socket.send_json(frame)
    received = []
    while True:
        message = socket.receive_json()
        received.append(message)
        if message == {"type": "typing", "on": False} or message["type"] == "error":
            return received


def test_health_reports_both_servers_and_the_model_in_use(client):
    assert client.get("/health").json() == {"status": "ok", "rasa": True, "actions": True,
                                            "models": {"answer": "qwen2.5-coder-1.5b"}}


def test_the_page_is_served_with_its_own_assets(client):
    page = client.get("/")
    assert page.status_code == 200 and "chat.js" in page.text and "cdn" not in page.text.lower()
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static/chat.js").status_code == 200


def test_a_chat_turn_shows_typing_then_replies_with_buttons(client):
    session = new_session(client)
    with client.websocket_connect(f"/ws/chat/{session}") as socket:
        frames = turn(socket, {"type": "message", "text": "ACC-1000001 what's my bill?"})
        assert frames[0] == {"type": "typing", "on": True}
        assert "PIN" in " ".join(f.get("text", "") for f in frames if f["type"] == "bot")
        frames = turn(socket, {"type": "message", "text": "1234"})
        bot = [f for f in frames if f["type"] == "bot"]
        assert "Your latest bill" in " ".join(f["text"] for f in bot)
        assert any(b["title"] == "Explain my bill" for f in bot for b in f["buttons"])
        frames = turn(socket, {"type": "button", "title": "Explain my bill", "payload": "/explain_bill"})
        assert "bill comes to" in " ".join(f.get("text", "") for f in frames)
    history = client.get(f"/api/chat/sessions/{session}/history").json()
    assert [m["role"] for m in history["messages"]][:2] == ["user", "bot"]
    assert history["messages"][0]["text"] == "ACC-1000001 what's my bill?"


def test_a_knowledge_answer_carries_citations(client):
    session = new_session(client)
    with client.websocket_connect(f"/ws/chat/{session}") as socket:
        frames = turn(socket, {"type": "message", "text": "what are the APN settings for picture messages?"})
    answer = next(f for f in frames if f["type"] == "bot")
    assert answer["citations"] and answer["citations"][0]["url"].startswith("https://help.brightwave.example/")


def test_handoff_is_announced_and_recorded(client):
    session = new_session(client)
    with client.websocket_connect(f"/ws/chat/{session}") as socket:
        turn(socket, {"type": "message", "text": "I want to talk to a human"})
        frames = turn(socket, {"type": "message", "text": "my direct debit was taken twice"})
    assert {"type": "handoff", "reason": "my direct debit was taken twice"} in frames
    assert client.get(f"/api/chat/sessions/{session}/history").json()["handoff"] is True


@pytest.mark.parametrize("frame, code", [
    ("not json at all", "bad_request"),
    ('{"type": "dance"}', "bad_request"),
    ('{"type": "message", "text": "   "}', "empty"),
    ('{"type": "message"}', "empty"),
    ('{"type": "message", "text": "' + "x" * 1001 + '"}', "too_long"),
])
def test_bad_frames_get_a_clear_error_and_the_socket_stays_open(client, frame, code):
    session = new_session(client)
    with client.websocket_connect(f"/ws/chat/{session}") as socket:
        socket.send_text(frame)
        assert socket.receive_json()["code"] == code
        assert turn(socket, {"type": "message", "text": "hello"})[-1] == {"type": "typing", "on": False}


def test_too_many_messages_are_rate_limited(client):
    session = new_session(client)
    with client.websocket_connect(f"/ws/chat/{session}") as socket:
        codes = [turn(socket, {"type": "message", "text": "hi"})[-1].get("code") for _ in range(7)]
    assert codes[:6] == [None] * 6 and codes[6] == "rate_limited"


def test_unknown_sessions_are_refused(client):
    assert client.get("/api/chat/sessions/" + "0" * 32 + "/history").status_code == 404
    assert client.get("/api/chat/sessions/../../etc/history").status_code == 404
    with client.websocket_connect("/ws/chat/" + "f" * 32) as socket:
        assert socket.receive_json()["code"] == "unknown_session"


def test_the_rest_endpoint_validates_everything(client):
    session = new_session(client)
    url = f"/api/chat/sessions/{session}/messages"
    assert client.post(url, content="text=hi", headers={"Content-Type": "text/plain"}).status_code == 415
    assert client.post(url, content="{not json", headers={"Content-Type": "application/json"}).status_code == 400
    assert client.post(url, json={"text": ""}).json()["error"] == "empty"
    assert client.post(url, json={"text": "x" * 5000}).json()["error"] == "too_long"
    assert client.post(url, json=["a", "list"]).json()["error"] == "empty"
    assert client.post("/api/chat/sessions/" + "0" * 32 + "/messages", json={"text": "hi"}).status_code == 404
    reply = client.post(url, json={"text": "hello"})
    assert reply.status_code == 200 and reply.json()["messages"][0]["text"].startswith("Hi")


def test_rasa_down_gets_an_apology_not_an_error_page(live):
    settings = gateway_settings(live, rasa_port=free_port())  # nothing listens there
    with TestClient(create_app(settings)) as client:
        session = new_session(client)
        with client.websocket_connect(f"/ws/chat/{session}") as socket:
            frames = turn(socket, {"type": "message", "text": "hello"})
        assert frames[-1]["code"] == "unavailable" and "Sorry" in frames[-1]["message"]
        assert client.get("/health").json()["status"] == "degraded"
