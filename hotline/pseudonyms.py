"""Keyed hashes that stand in for phone numbers, client addresses and conversation ids.

The same value always gives the same pseudonym (so failures can be counted and log lines
correlated), but without the secret nobody can go back from the pseudonym to the value.
"""

from __future__ import annotations

import hashlib
import hmac

from hotline.settings import get_settings


def pseudonym(value: str, secret: str | None = None, length: int = 16) -> str:
    key = secret if secret is not None else get_settings().pseudonym_secret.get_secret_value()
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()[:length]


def sms_conversation_id(number: str, secret: str) -> str:
    """An SMS thread's conversation id: one per number, which the id does not reveal."""
    return "sms-" + hmac.new(secret.encode(), number.encode(), hashlib.sha256).hexdigest()[:32]
