"""The gateway fuzzed as an attacker would: every HTTP endpoint from its own OpenAPI schema
(Schemathesis, Twilio's signed too) and every WebSocket frame type (Hypothesis), over the real
Rasa and action servers. No input may cause a server error or show a traceback."""

from __future__ import annotations

import json
import zlib
from urllib.parse import quote, urlencode

import numpy  # noqa: F401  whole before the fuzz: Hypothesis looks at it while gateway threads may be importing it
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings, strategies as st
from schemathesis.checks import not_a_server_error
from twilio.request_validator import RequestValidator

from channels.app import create_app
from hotline.agents import unlock
from tests.integration.gateway_helpers import PUBLIC, TWILIO_TOKEN, gateway_settings, sign_in_agent

pytestmark = [pytest.mark.servers, pytest.mark.timeout(900)]
FUZZ = settings(max_examples=10, deadline=None, database=None, derandomize=True,  # the same cases in every CI run
                suppress_health_check=list(HealthCheck))
BASE = "http://testserver"
TRACEBACK_SIGNS = ("Traceback (most recent call last)", 'File "/', "sqlalchemy.", "Exception:")


@pytest.fixture(scope="module")
def fuzzed(live):
    """The gateway under fuzz, a live chat session of this browser's and a signed-in agent."""
    settings_ = gateway_settings(live)
    with TestClient(create_app(settings_)) as client:
        session_id = client.post("/api/chat/sessions").json()["session_id"]
        sign_in_agent(client)
        yield {"client": client, "session_id": session_id}
    unlock(settings_.database_url, None)  # the fuzzed sign-ins must not lock out the other tests


# The schema is the app's own; the cases go to the gateway built over the live servers.
schema = schemathesis.openapi.from_dict(create_app().openapi())


def request_of(case, session_id: str) -> dict:
    """The case as a request to our client. Half the cases name the live conversation (the rest an
    unknown one), and Twilio's are signed as Twilio signs them: the fuzz reaches the code behind
    the checks, not only the checks."""
    if zlib.crc32(repr(case.body).encode()) % 2 and not case.path.endswith("/end"):
        for name in ("session_id", "conversation_id"):
            if name in (case.path_parameters or {}):
                case.path_parameters[name] = session_id
    kwargs = case.as_transport_kwargs(base_url=BASE)
    # Encoded here: httpx refuses a control character in a query rather than encoding it.
    query = f"?{urlencode(kwargs['params'], doseq=True)}" if kwargs.get("params") else ""
    request = {"method": kwargs["method"], "url": quote(kwargs["url"].removeprefix(BASE), safe="/%") + query,
               "headers": {k: v for k, v in kwargs["headers"].items() if k.lower() != "connection"}}
    if "json" in kwargs:
        request["content"] = json.dumps(kwargs["json"])
    elif isinstance(kwargs.get("data"), dict):
        form = {str(key): value if isinstance(value, str) else json.dumps(value) for key, value in kwargs["data"].items()}
        request["data"] = form
        if case.path.startswith("/twilio"):
            request["headers"]["X-Twilio-Signature"] = RequestValidator(TWILIO_TOKEN).compute_signature(
                PUBLIC + case.formatted_path + query, form)
    elif "data" in kwargs:
        request["content"] = kwargs["data"]
    return request


@schema.parametrize()
@FUZZ
def test_no_endpoint_fails_or_shows_a_traceback(case, fuzzed):
    client = fuzzed["client"]
    response = client.request(**request_of(case, fuzzed["session_id"]), follow_redirects=False)
    case.validate_response(response, checks=[not_a_server_error])
    assert not any(sign in response.text for sign in TRACEBACK_SIGNS), response.text[:500]
    if case.path == "/console/logout":  # the agent signs in again for the cases after this one
        sign_in_agent(client)


FRAMES = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(["message", "button"]),
                           "text": st.one_of(st.text(max_size=1200), st.none(), st.integers(), st.lists(st.text())),
                           "payload": st.one_of(st.text(max_size=200), st.just('/pay_bill{"amount": 1}'), st.none())}),
    st.dictionaries(st.text(max_size=10), st.one_of(st.text(max_size=50), st.integers(), st.none()), max_size=4),
    st.lists(st.integers(), max_size=3), st.text(max_size=50), st.integers())


def answer_to(socket) -> list[dict]:
    """The frames one sent frame gets: an error at once, or everything up to the typing indicator's end."""
    frames = [socket.receive_json()]
    while frames[-1]["type"] != "error" and frames[-1] != {"type": "typing", "on": False}:
        frames.append(socket.receive_json())
    return frames


@given(frame=FRAMES, raw=st.booleans())
@FUZZ
def test_no_websocket_frame_breaks_the_socket(fuzzed, frame, raw):
    """Whatever arrives, the socket answers with typed frames and stays open for the next one."""
    text = json.dumps(frame)[:-1] if raw else json.dumps(frame)  # raw: cut short, so not JSON at all
    with fuzzed["client"].websocket_connect(f"/ws/chat/{fuzzed['session_id']}") as socket:
        socket.send_text(text)
        for reply in answer_to(socket):
            assert reply["type"] in ("error", "typing", "draft", "bot", "handoff"), reply
            assert not any(sign in json.dumps(reply) for sign in TRACEBACK_SIGNS), reply
        socket.send_text("{}")
        assert answer_to(socket) == [{"type": "error", "code": "bad_request", "message": "I couldn't read that message."}]
