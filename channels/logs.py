"""Log lines without conversation ids, session ids, call ids or phone numbers.

uvicorn logs every WebSocket it accepts with its path, which holds the chat session id;
whoever reads the log could then open that conversation. Ids are replaced by a keyed hash
(so lines about one conversation still match up) and phone numbers by a placeholder.
"""

from __future__ import annotations

import logging
import re

from hotline.pseudonyms import pseudonym

_IDS = re.compile(r"\b(?:sms-|CA|SM|MM)?[0-9a-f]{32}\b", re.IGNORECASE)
_PHONES = re.compile(r"\+?\d[\d ()-]{8,}\d")
LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "fastapi", "channels")


def scrub(text: str) -> str:
    text = _IDS.sub(lambda match: f"id:{pseudonym(match.group(0), length=8)}", text)
    return _PHONES.sub("<phone>", text)


class Pseudonymise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = scrub(record.getMessage()), ()
        return True


def install() -> None:
    """Filter the gateway's loggers (uvicorn's included) before anything is written."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, Pseudonymise) for existing in logger.filters):
            logger.addFilter(Pseudonymise())
