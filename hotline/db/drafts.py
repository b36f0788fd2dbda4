"""Sentences of an answer on their way to the customer, passed through the database.

The action server writes each checked sentence under the conversation's id; the channel
waiting on that conversation's turn reads only its own rows, so the path is internal (no
endpoint anyone could call) and no customer can receive another's answer.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select

from hotline import clock
from hotline.db import ensure_schema, session_scope
from hotline.db.models import AnswerDraft


class DraftBoard:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        ensure_schema(database_url)

    def post(self, conversation_id: str, text: str) -> None:
        with session_scope(self.database_url) as session:
            session.add(AnswerDraft(conversation_id=conversation_id, text=text, created_at=clock.now()))

    def last_id(self, conversation_id: str) -> int:
        with session_scope(self.database_url) as session:
            return session.scalar(select(func.max(AnswerDraft.id))
                                  .where(AnswerDraft.conversation_id == conversation_id)) or 0

    def after(self, conversation_id: str, last_id: int) -> list[tuple[int, str]]:
        """This conversation's sentences written after last_id, in order."""
        with session_scope(self.database_url) as session:
            rows = session.execute(select(AnswerDraft.id, AnswerDraft.text).where(
                AnswerDraft.conversation_id == conversation_id, AnswerDraft.id > last_id).order_by(AnswerDraft.id))
            return [(row.id, row.text) for row in rows]

    def clear(self, conversation_id: str) -> None:
        with session_scope(self.database_url) as session:
            session.execute(delete(AnswerDraft).where(AnswerDraft.conversation_id == conversation_id))
