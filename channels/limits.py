"""Checks on what customers send: size, emptiness, and how often."""

from __future__ import annotations

import time
from collections import defaultdict, deque


class MessageRejected(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def clean_text(text: object, max_chars: int) -> str:
    if not isinstance(text, str) or not text.strip():
        raise MessageRejected("empty", "Please type a message first.")
    text = text.strip()
    if len(text) > max_chars:
        raise MessageRejected("too_long", f"That message is too long: please keep it under {max_chars} characters.")
    return text


def typed(text: str) -> str:
    """What a customer typed never reaches Rasa as a command: "/restart" or "/affirm" would
    skip NLU and change the conversation's state, so a leading slash is dropped."""
    stripped = text.lstrip("/ ")
    if not stripped:
        raise MessageRejected("empty", "Please type a message first.")
    return stripped


def documented_body(media_type: str, properties: dict[str, dict], required: tuple[str, ...] = ()) -> dict:
    """The body an endpoint reads by hand (to answer bad input in its own words), described for
    the OpenAPI schema, so clients and the fuzzer know what to send."""
    return {"requestBody": {"required": True, "content": {media_type: {"schema": {
        "type": "object", "properties": properties, "required": list(required)}}}}}


TEXT = {"type": "string", "description": "What to send; at most max_message_chars (1000) characters"}


class RateLimiter:
    """At most `limit` messages per `window_s` seconds for each key (a session or call)."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit, self.window_s = limit, window_s
        self._seen: dict[str, deque[float]] = defaultdict(deque)

    def check(self, key: str) -> None:
        now = time.monotonic()
        seen = self._seen[key]
        while seen and now - seen[0] > self.window_s:
            seen.popleft()
        if len(seen) >= self.limit:
            raise MessageRejected("rate_limited", "You're sending messages very quickly: please wait a few seconds.")
        seen.append(now)
