"""Redacted transcripts: what was said, with personal data replaced by labels.

The shared PII filter redacts every message; answers to the verification form are
replaced wholesale, because a bare "1234" carries no cue the recognizers could use.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable
from typing import Any

SECRET_SLOTS = {"verification_secret": "<PIN_OR_DATE_OF_BIRTH>"}
SOURCES = "\nSources:"  # the citation list under an answer; the model does not need it
SPEAKERS = {"user": "Customer", "bot": "Assistant", "agent": "Agent"}


@dataclass
class TranscriptTurn:
    role: str  # user | bot | agent
    text: str
    at: float | None = None
    intent: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"role": self.role, "text": self.text, "at": self.at, "intent": self.intent}


def redact_turns(messages: list[dict[str, Any]], redact: Callable[[str], str]) -> list[TranscriptTurn]:
    """Messages from `history_from_tracker` (or a reference file) -> turns redacted by the PII filter."""
    turns = []
    for message in messages:
        secret = SECRET_SLOTS.get(message.get("asked_for") or "") if message["role"] == "user" else None
        turns.append(TranscriptTurn(message["role"], secret or redact(message["text"]),
                                    message.get("at"), message.get("intent")))
    return turns


def render(turns: list[TranscriptTurn], max_chars: int) -> str:
    """The transcript as the model reads it; the middle is dropped when it is too long."""
    lines = [f"{SPEAKERS[turn.role]}: {' '.join(turn.text.split(SOURCES)[0].split())}" for turn in turns]
    text = "\n".join(lines)
    if len(text) <= max_chars:
        return text
    head, tail = lines[:2], []
    budget = max_chars - sum(len(line) + 1 for line in head) - 20
    for line in reversed(lines[2:]):
        if budget - len(line) - 1 < 0:
            break
        tail.insert(0, line)
        budget -= len(line) + 1
    return "\n".join([*head, "[... earlier turns omitted ...]", *tail])
