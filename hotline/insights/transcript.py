"""Redacted transcripts: what was said, with personal data replaced by labels.

The shared PII filter redacts every message; answers to the verification form are
replaced wholesale, because a bare "1234" carries no cue the recognizers could use.
Turns where the assistant failed the customer are found from the events, not by the model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

SECRET_SLOTS = {"verification_secret": "<PIN_OR_DATE_OF_BIRTH>"}
SOURCES = "\nSources:"  # the citation list under an answer; the model does not need it
SPEAKERS = {"user": "Customer", "bot": "Assistant", "agent": "Agent"}
NO_REPLY = "a customer message got no reply"
APOLOGISED = "a turn failed and the customer got an apology"
REPEATED = "the assistant sent the same reply twice in one turn"


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


def turn_failures(events: list[dict[str, Any]], apologies: Collection[str]) -> list[str]:
    """What went wrong for the customer, read from Rasa's events turn by turn: a message with no
    reply, an apology for a failed turn, or one reply sent twice (an action that looped until
    Rasa's circuit breaker stopped it). Messages written while an agent had the conversation
    (paused) are the agent's to answer in their own time, so they are not counted."""
    failures: list[str] = []
    paused = False
    replies: list[str] | None = None  # the bot's messages since the customer's latest one

    def judge(turn: list[str] | None) -> None:
        if turn is None:
            return
        if not turn:
            failures.append(NO_REPLY)
        elif any(text in apologies for text in turn):
            failures.append(APOLOGISED)
        elif any(count > 1 for text, count in Counter(turn).items() if text):
            failures.append(REPEATED)

    for event in events:
        kind = event.get("event")
        if kind in ("pause", "resume"):
            paused = kind == "pause"
        elif kind == "user" and event.get("text"):
            judge(replies)
            replies = None if paused else []
        elif kind == "bot" and replies is not None and (event.get("text") or (event.get("data") or {}).get("buttons")):
            replies.append(event.get("text") or "")
    judge(replies)
    return list(dict.fromkeys(failures))
