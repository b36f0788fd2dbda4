"""Which conversations exist on which channel, when they hand off to a person, and when they end.

Ending a conversation queues its post-conversation work in the same transaction, so an
ending is never recorded without the job that summarises it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from hotline import clock
from hotline.accounts import verification
from hotline.db import make_engine, session_scope, upgrade_schema
from hotline.db.models import ChatKey, Conversation, Handoff
from hotline.insights.jobs import enqueue


@dataclass(frozen=True)
class WaitingConversation:
    """A handed-off conversation as the console's queue lists it."""

    id: str
    channel: str
    reason: str
    requested_at: datetime
    agent: str | None


class ConversationStore:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        upgrade_schema(make_engine(database_url))

    def _run(self, function, *args):
        return asyncio.to_thread(function, *args)

    def _open(self, channel: str, conversation_id: str | None) -> str:
        conversation_id = conversation_id or uuid.uuid4().hex
        with session_scope(self.database_url) as session:
            if session.get(Conversation, conversation_id) is None:
                now = clock.now()
                session.add(Conversation(id=conversation_id, channel=channel, started_at=now,
                                         last_activity_at=now, ended_at=None))
        return conversation_id

    def _bind_key(self, conversation_id: str) -> str:
        key = secrets.token_urlsafe(32)
        with session_scope(self.database_url) as session:
            session.merge(ChatKey(conversation_id=conversation_id, key_hash=_digest(key)))
        return key

    def _holds_key(self, conversation_id: str, key: str | None) -> bool:
        with session_scope(self.database_url) as session:
            row = session.get(ChatKey, conversation_id)
            return bool(row and key and hmac.compare_digest(row.key_hash, _digest(key)))

    def _get(self, conversation_id: str) -> Conversation | None:
        with session_scope(self.database_url) as session:
            return session.get(Conversation, conversation_id)

    def _update(self, conversation_id: str, **changes) -> None:
        with session_scope(self.database_url) as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is not None:
                for key, value in {"last_activity_at": clock.now(), **changes}.items():
                    setattr(conversation, key, value)

    def _hand_off(self, conversation_id: str, reason: str) -> None:
        now = clock.now()
        with session_scope(self.database_url) as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                return
            conversation.handoff, conversation.handoff_reason, conversation.last_activity_at = True, reason[:200], now
            if session.get(Handoff, conversation_id) is None:
                session.add(Handoff(conversation_id=conversation_id, reason=reason[:200], requested_at=now))

    def _assign(self, conversation_id: str, agent: str | None) -> None:
        """Give a handed-off conversation to an agent (or back to the assistant with None)."""
        with session_scope(self.database_url) as session:
            handoff = session.get(Handoff, conversation_id)
            handoff.agent = agent
            if agent:
                handoff.taken_over_at = clock.now()
            else:
                handoff.handed_back_at = clock.now()

    def _handoff(self, conversation_id: str) -> Handoff | None:
        with session_scope(self.database_url) as session:
            return session.get(Handoff, conversation_id)

    def _waiting(self) -> list[WaitingConversation]:
        with session_scope(self.database_url) as session:
            rows = session.execute(
                select(Conversation, Handoff).join(Handoff, Handoff.conversation_id == Conversation.id)
                .where(Conversation.ended_at.is_(None), Handoff.handed_back_at.is_(None))
                .order_by(Handoff.requested_at)).all()
            return [WaitingConversation(c.id, c.channel, h.reason, h.requested_at, h.agent) for c, h in rows]

    def _end(self, conversation_id: str) -> bool:
        with session_scope(self.database_url) as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None or conversation.ended_at is not None:
                return False
            now = clock.now()
            conversation.ended_at = conversation.last_activity_at = now
            verification.forget(session, conversation_id)  # an ended conversation is verified no more
            enqueue(session, conversation_id, now)
            return True

    def _end_idle(self, idle_for: timedelta) -> list[str]:
        with session_scope(self.database_url) as session:
            idle = session.scalars(select(Conversation.id).where(
                Conversation.ended_at.is_(None), Conversation.last_activity_at < clock.now() - idle_for)).all()
        return [conversation_id for conversation_id in idle if self._end(conversation_id)]

    async def open(self, channel: str, conversation_id: str | None = None) -> str:
        return await self._run(self._open, channel, conversation_id)

    async def bind_key(self, conversation_id: str) -> str:
        """A new secret that from now on must come with every request about this conversation."""
        return await self._run(self._bind_key, conversation_id)

    async def holds_key(self, conversation_id: str, key: str | None) -> bool:
        return await self._run(self._holds_key, conversation_id, key)

    async def get(self, conversation_id: str) -> Conversation | None:
        return await self._run(self._get, conversation_id)

    async def touch(self, conversation_id: str) -> None:
        await self._run(self._update, conversation_id)

    async def hand_off(self, conversation_id: str, reason: str) -> None:
        await self._run(self._hand_off, conversation_id, reason)

    async def handoff(self, conversation_id: str) -> Handoff | None:
        return await self._run(self._handoff, conversation_id)

    async def assign(self, conversation_id: str, agent: str | None) -> None:
        await self._run(self._assign, conversation_id, agent)

    async def waiting(self) -> list[WaitingConversation]:
        return await self._run(self._waiting)

    async def end(self, conversation_id: str) -> bool:
        """End the conversation and queue its summary; False if it was unknown or already over."""
        return await self._run(self._end, conversation_id)

    async def end_idle(self, idle_for: timedelta) -> list[str]:
        """End conversations nobody has written in for `idle_for` (Rasa's session expiry)."""
        return await self._run(self._end_idle, idle_for)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
