"""Talking to the live servers: to Rasa over REST, through a gateway built over them, and with
requests signed as Twilio signs them."""

from __future__ import annotations

import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr
from sqlalchemy import Select, select
from twilio.request_validator import RequestValidator

from hotline.db.models import Customer
from hotline.db.seed import DEMO_AGENT, DEMO_IDENTITIES
from hotline.stack import channel_endpoint

PUBLIC = "https://hotline.example"
TWILIO_TOKEN = "twilio-test-auth-token"


def say(live, text: str, sender: str) -> str:
    """One customer turn over Rasa's REST channel (the gateway's, with its secret); the bot's
    messages, one per line."""
    url, headers = channel_endpoint(live["settings"])
    response = httpx.post(url, json={"sender": sender, "message": text}, headers=headers, timeout=60)
    response.raise_for_status()
    return "\n".join(message.get("text", "") for message in response.json())


def generated_customers() -> Select:
    """Customers the seed made up, not the README's demo identities: for tests that change or
    lock an account, so no other test meets the change."""
    demo_accounts = [demo.account_number for demo in DEMO_IDENTITIES]
    return select(Customer).where(Customer.account_number.not_in(demo_accounts)).order_by(Customer.id)


def new_id(prefix: str) -> str:
    """A conversation id no earlier run or other test has used: the tracker store is shared."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@dataclass
class RestChat:
    """One conversation with the live bot over REST."""

    live: dict
    sender: str = field(default_factory=lambda: new_id("rest"))

    def __call__(self, text: str) -> str:
        return say(self.live, text, self.sender)


def gateway_settings(live, **changes):
    return live["settings"].model_copy(update={
        "rasa_auth_token": SecretStr(live["token"]), "twilio_auth_token": SecretStr(TWILIO_TOKEN),
        "public_base_url": PUBLIC, **changes})


def signed_post(client, path: str, params: dict[str, str], token: str = TWILIO_TOKEN, signature: str | None = None):
    """POST form fields with the X-Twilio-Signature Twilio would compute for the public URL."""
    url = PUBLIC + path
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature is None:
        signature = RequestValidator(token).compute_signature(url, params)
    if signature:
        headers["X-Twilio-Signature"] = signature
    return client.post(path, content=urlencode(params), headers=headers)


def twiml(response) -> ET.Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    return ET.fromstring(response.text)


def spoken_text(root: ET.Element) -> str:
    return " ".join(say.text or "" for say in root.iter("Say"))


def gather(client, sid: str, **fields) -> ET.Element:
    return twiml(signed_post(client, "/twilio/voice/gather", {"CallSid": sid, **fields}))


def answered(client, sid: str, root: ET.Element, heard: list[str] | None = None) -> ET.Element:
    """Follow the redirects, as Twilio does, until the end of the answer; `heard` collects what
    the caller hears on the way (the answer's first sentences come before its end)."""
    for _ in range(400):
        if heard is not None:
            heard.append(spoken_text(root))
        if root.find("Redirect") is None:
            return root
        time.sleep(0.05)
        root = twiml(signed_post(client, root.find("Redirect").text, {"CallSid": sid}))
    raise AssertionError("no answer after the fillers")


def sign_in_agent(client) -> None:
    """The README's demo agent signs in to the console on this client."""
    assert client.post("/console/login", data={"username": DEMO_AGENT[0], "password": DEMO_AGENT[2]},
                       follow_redirects=False).status_code == 303
