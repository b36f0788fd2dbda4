"""Rasa's input channel for the Hotline gateway: Rasa's REST channel, but only for the gateway.

Loaded by Rasa from credentials.yml (it runs with bot/ as its working directory). Every
message must carry the shared secret the gateway was started with; anything else gets 401,
so no other local process can write into a customer's conversation.

Rasa's REST channel logs the customer's text when a turn fails or the gateway gives up on it;
loading this module also keeps message text and conversation ids out of Rasa's log lines.
"""

from __future__ import annotations

import hmac
import logging
import re
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request

SECRET_HEADER = "X-Hotline-Channel-Secret"  # hotline.stack.CHANNEL_SECRET_HEADER
_PERSONAL_FIELDS = re.compile(r'"(text|message|sender_id|sender|conversation_id)": "(?:[^"\\]|\\.)*"')


class _NoMessageText(logging.Filter):
    """Blanks message text and conversation ids in the structured lines Rasa logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = _PERSONAL_FIELDS.sub(r'"\1": "<removed>"', message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, ()
        return True


for _handler in logging.getLogger().handlers:
    _handler.addFilter(_NoMessageText())


class GatewayInput(RestInput):
    @classmethod
    def name(cls) -> Text:
        return "gateway"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        secret = (credentials or {}).get("secret")
        if not secret:
            raise ValueError("The gateway channel needs a secret (HOTLINE_CHANNEL_SECRET).")
        return cls(str(secret))

    def __init__(self, secret: Text) -> None:
        self.secret = secret.encode()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)

        @blueprint.middleware("request")
        async def only_the_gateway(request: Request) -> Optional[response.HTTPResponse]:
            given = (request.headers.get(SECRET_HEADER) or "").encode()
            if not hmac.compare_digest(given, self.secret):
                return response.json({"error": "unauthorized"}, status=401)
            return None

        return blueprint
