"""Building the gateway over the live servers, and signing requests as Twilio does."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

from pydantic import SecretStr
from twilio.request_validator import RequestValidator

PUBLIC = "https://hotline.example"
TWILIO_TOKEN = "twilio-test-auth-token"


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


def answered(client, sid: str, root: ET.Element) -> ET.Element:
    """Follow the filler redirects, as Twilio does, until the answer arrives."""
    for _ in range(400):
        if root.find("Redirect") is None:
            return root
        time.sleep(0.05)
        root = twiml(signed_post(client, root.find("Redirect").text, {"CallSid": sid}))
    raise AssertionError("no answer after the fillers")
