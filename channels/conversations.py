"""Which conversations exist on which channel, and when they hand off or end."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

from hotline.db import make_engine, session_scope
from hotline.db.models import Base, Conversation


class ConversationStore:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        Base.metadata.create_all(make_engine(database_url), tables=[Conversation.__table__])

    def _run(self, function, *args):
        return asyncio.to_thread(function, *args)

    def _open(self, channel: str, conversation_id: str | None) -> str:
        conversation_id = conversation_id or uuid.uuid4().hex
        with session_scope(self.database_url) as session:
            if session.get(Conversation, conversation_id) is None:
                now = datetime.now()
                session.add(Conversation(id=conversation_id, channel=channel, started_at=now,
                                         last_activity_at=now, ended_at=None))
        return conversation_id

    def _get(self, conversation_id: str) -> Conversation | None:
        with session_scope(self.database_url) as session:
            return session.get(Conversation, conversation_id)

    def _update(self, conversation_id: str, **changes) -> None:
        with session_scope(self.database_url) as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is not None:
                for key, value in {"last_activity_at": datetime.now(), **changes}.items():
                    setattr(conversation, key, value)

    async def open(self, channel: str, conversation_id: str | None = None) -> str:
        return await self._run(self._open, channel, conversation_id)

    async def get(self, conversation_id: str) -> Conversation | None:
        return await self._run(self._get, conversation_id)

    async def touch(self, conversation_id: str) -> None:
        await self._run(self._update, conversation_id)

    async def hand_off(self, conversation_id: str, reason: str) -> None:
        await self._run(lambda: self._update(conversation_id, handoff=True, handoff_reason=reason[:200]))

    async def end(self, conversation_id: str) -> None:
        await self._run(lambda: self._update(conversation_id, ended_at=datetime.now()))
