"""What a public page and API need in front of them, tried as another site's page would try it:
the security headers on every response, and requests from other sites refused."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from channels.app import create_app
from hotline.db.seed import DEMO_AGENT
from tests.integration.gateway_helpers import gateway_settings

pytestmark = [pytest.mark.servers, pytest.mark.timeout(600)]
EVIL = "https://evil.example"
PARTNER = "https://www.partner.example"


@pytest.fixture(scope="module")
def client(live):
    with TestClient(create_app(gateway_settings(live, trusted_origins=(PARTNER,)))) as client:
        yield client


def test_every_response_carries_the_security_headers(client):
    page, api, refused = client.get("/"), client.get("/health"), client.post("/twilio/sms")
    for response in (page, api, refused, client.get("/static/chat.js"), client.get("/console/login")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "same-origin"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "connect-src 'self';" in page.headers["content-security-policy"]  # no other host to send chat to
    assert api.headers["content-security-policy"].startswith("default-src 'none'")
    assert client.post("/api/chat/sessions").headers["cache-control"] == "no-store"


@pytest.mark.parametrize("headers", [{"Origin": EVIL}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
                                     {"Origin": "http://testserver.evil.example"}], ids=str)
def test_other_sites_cannot_act_with_a_visitors_cookies(client, headers):
    for path, data in (("/api/chat/sessions", None), ("/console/login", {"username": DEMO_AGENT[0],
                                                                         "password": DEMO_AGENT[2]})):
        response = client.post(path, data=data, headers=headers, follow_redirects=False)
        assert response.status_code == 403 and response.json()["error"] == "cross_site", path
        assert "set-cookie" not in response.headers


def test_this_site_a_trusted_one_and_clients_without_a_browser_are_let_through(client):
    for headers in ({"Origin": "http://testserver"}, {"Origin": PARTNER}, {"Sec-Fetch-Site": "same-origin"}, {}):
        assert client.post("/api/chat/sessions", headers=headers).status_code == 201, headers


def test_twilio_is_judged_by_its_signature_not_its_origin(client):
    response = client.post("/twilio/sms", data={"Body": "hi"}, headers={"Origin": EVIL})
    assert response.status_code == 403 and response.json()["detail"] == "Invalid Twilio signature"


def test_a_websocket_opened_by_another_sites_page_is_refused(client):
    session_id = client.post("/api/chat/sessions").json()["session_id"]
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect(f"/ws/chat/{session_id}", headers={"Origin": EVIL}) as socket:
            socket.receive_json()
    assert refused.value.code == 4403
    for origin in ("http://testserver", PARTNER):
        with client.websocket_connect(f"/ws/chat/{session_id}", headers={"Origin": origin}) as socket:
            socket.send_text("{}")
            assert socket.receive_json()["code"] == "bad_request"
