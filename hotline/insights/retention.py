"""Raw personal data kept no longer than its purpose.

Once a conversation's redacted transcript is stored (its post-conversation job is over) and the
retention period in settings has passed, its events in Rasa's tracker store are redacted in
place with the shared PII filter: what the customer said, what was said back, the entities
and the slots that held identifiers or secrets. Rasa keeps a valid tracker, now without the
raw text. The sweep picks up every conversation still due, so one that ended while the worker
was down is handled when it is back. `erase_customer` is the right to erasure: one customer's
conversations deleted everywhere.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime, timedelta

from sqlalchemy import Column, Engine, Float, Integer, MetaData, String, Table, Text, delete, or_, select, update

from hotline import clock
from hotline.db import make_engine, session_scope
from hotline.db.models import (AnswerDraft, ChatKey, Conversation, ConversationSummary, Customer, Handoff, Line,
                               PostConversationJob, Transcript, TwilioRequest, VerifiedConversation)
from hotline.insights.transcript import SECRET_SLOTS
from hotline.pseudonyms import pseudonym, sms_conversation_id
from hotline.settings import Settings

# Rasa's SQL tracker store table (rasa/core/tracker_store.py), as far as we read and write it.
EVENTS = Table("events", MetaData(), Column("id", Integer, primary_key=True), Column("sender_id", String(255)),
               Column("type_name", String(255)), Column("timestamp", Float), Column("intent_name", String(255)),
               Column("action_name", String(255)), Column("data", Text))
# Slots whose values identify or authenticate a customer: emptied, not redacted.
CLEARED_SLOTS = frozenset({"account_identifier", "verification_secret", "customer_first_name", "payment_card",
                           "complaint_details", "location", "port_number", "port_pac"})


def redacted_events(events: list[dict], redact: Callable[[str], str]) -> list[dict]:
    """The events with personal data gone. An answer to a form question for a cleared slot is
    replaced by a label, since "1234" alone carries no cue a recognizer could use."""
    asked_for, result = None, []
    for event in map(copy.deepcopy, events):
        kind = event.get("event")
        if kind == "slot" and event.get("name") == "requested_slot":
            asked_for = event.get("value")
        elif kind == "slot" and event.get("name") in CLEARED_SLOTS:
            event["value"] = None
        elif kind == "slot" and isinstance(event.get("value"), str):
            event["value"] = redact(event["value"])
        elif kind == "user" and event.get("text"):
            label = SECRET_SLOTS.get(asked_for) or (f"<{asked_for.upper()}>" if asked_for in CLEARED_SLOTS else None)
            event["text"] = label or redact(event["text"])
            event["parse_data"] = {**(event.get("parse_data") or {}), "text": event["text"], "entities": []}
        elif kind == "entities":
            event["entities"] = []
        elif kind == "bot" and event.get("text"):
            event["text"] = redact(event["text"])
        result.append(event)
    return result


@lru_cache
def _engine(url: str) -> Engine:
    """One engine (and connection pool) per tracker store, not one per sweep."""
    return make_engine(url)


class TrackerEvents:
    """A conversation's rows in Rasa's tracker store, for redaction and erasure."""

    def __init__(self, tracker_store_url: str) -> None:
        self.engine = _engine(tracker_store_url)

    def redact(self, conversation_id: str, until: datetime, redact: Callable[[str], str]) -> int:
        """Redact the events up to `until` (an SMS thread's id carries on into later conversations)."""
        with self.engine.begin() as connection:
            rows = connection.execute(select(EVENTS.c.id, EVENTS.c.data).where(
                EVENTS.c.sender_id == conversation_id, EVENTS.c.timestamp <= until.timestamp() + 1)
                .order_by(EVENTS.c.id)).all()
            events = [json.loads(row.data) for row in rows]
            for row, before, after in zip(rows, events, redacted_events(events, redact)):
                if after != before:
                    connection.execute(update(EVENTS).where(EVENTS.c.id == row.id).values(data=json.dumps(after)))
        return len(rows)

    def senders(self, type_name: str, needles: set[str], keep: Callable[[dict], bool]) -> set[str]:
        """Conversations with an event of this type that mentions one of the needles and passes `keep`."""
        if not needles:
            return set()
        with self.engine.connect() as connection:
            rows = connection.execute(select(EVENTS.c.sender_id, EVENTS.c.data).where(
                EVENTS.c.type_name == type_name, or_(*(EVENTS.c.data.contains(needle) for needle in needles))))
            return {row.sender_id for row in rows if keep(json.loads(row.data))}

    def delete(self, conversation_ids: set[str]) -> int:
        with self.engine.begin() as connection:
            return connection.execute(delete(EVENTS).where(EVENTS.c.sender_id.in_(conversation_ids))).rowcount


def due(database_url: str, keep_for: timedelta, now: datetime) -> list[tuple[str, datetime]]:
    """Ended conversations whose transcript job is over (done, or given up) for at least `keep_for`."""
    with session_scope(database_url) as session:
        return [(row.id, row.ended_at) for row in session.execute(
            select(Conversation.id, Conversation.ended_at).join(
                PostConversationJob, PostConversationJob.conversation_id == Conversation.id)
            .where(Conversation.ended_at.is_not(None), Conversation.raw_redacted_at.is_(None),
                   PostConversationJob.status.in_(("done", "failed")),
                   PostConversationJob.finished_at <= now - keep_for))]


def sweep(settings: Settings, redact: Callable[[str], str], now: datetime | None = None) -> int:
    """Redact every conversation that is due; how many were."""
    now = now or clock.now()
    events = TrackerEvents(settings.tracker_store_url)
    conversations = due(settings.database_url, timedelta(days=settings.raw_text_retention_days), now)
    for conversation_id, ended_at in conversations:
        events.redact(conversation_id, ended_at, redact)
        with session_scope(settings.database_url) as session:
            session.execute(update(Conversation).where(Conversation.id == conversation_id)
                            .values(raw_redacted_at=clock.now()))
    return len(conversations)


@dataclass
class Erased:
    conversations: set[str] = field(default_factory=set)
    events: int = 0


def customer_conversations(settings: Settings, customer: Customer, numbers: list[str]) -> set[str]:
    """Every conversation of theirs we can find: verified as them, their numbers' SMS threads,
    and calls or texts from their numbers."""
    with session_scope(settings.database_url) as session:
        verified = set(session.scalars(select(VerifiedConversation.conversation_id)
                                       .where(VerifiedConversation.customer_id == customer.id)))
    events = TrackerEvents(settings.tracker_store_url)
    as_them = events.senders("slot", {'"customer_id"'},
                             lambda event: event.get("name") == "customer_id" and event.get("value") == customer.id)
    callers = {pseudonym(number) for number in numbers}
    from_them = events.senders("user", callers, lambda event: (event.get("metadata") or {}).get("client") in callers)
    sms = {sms_conversation_id(number, settings.sms_id_secret.get_secret_value()) for number in numbers}
    return verified | as_them | from_them | sms


def erase_customer(settings: Settings, account_number: str) -> Erased:
    """Delete one customer's conversations everywhere: the tracker store, transcripts, summaries,
    jobs, handoffs and the channels' records. The account itself stays (it is not chat data)."""
    with session_scope(settings.database_url) as session:
        customer = session.scalars(select(Customer).where(Customer.account_number == account_number)).one_or_none()
        if customer is None:
            raise LookupError(f"No customer with account number {account_number}")
        numbers = list(session.scalars(select(Line.number).where(Line.customer_id == customer.id)))
    erased = Erased(customer_conversations(settings, customer, numbers))
    erased.events = TrackerEvents(settings.tracker_store_url).delete(erased.conversations)
    with session_scope(settings.database_url) as session:
        for model, column in ((Transcript, Transcript.conversation_id),
                              (ConversationSummary, ConversationSummary.conversation_id),
                              (PostConversationJob, PostConversationJob.conversation_id),
                              (Handoff, Handoff.conversation_id), (AnswerDraft, AnswerDraft.conversation_id),
                              (ChatKey, ChatKey.conversation_id), (TwilioRequest, TwilioRequest.sid),
                              (VerifiedConversation, VerifiedConversation.conversation_id),
                              (Conversation, Conversation.id)):
            session.execute(delete(model).where(column.in_(erased.conversations)))
    return erased
