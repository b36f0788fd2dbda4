"""A durable work queue in the database: simple, shared by every worker, safe on SQLite and Postgres.

A job is claimed with a conditional UPDATE (only one worker's succeeds) and held under a
lease; if that worker dies, the lease runs out and the job is claimed again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from hotline import clock
from hotline.db import session_scope
from hotline.db.models import PostConversationJob


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    conversation_id: str
    attempt: int


def enqueue(session: Session, conversation_id: str, now: datetime) -> None:
    """Queue a finished conversation, in the caller's transaction (once per conversation)."""
    if session.scalar(select(PostConversationJob.id).where(PostConversationJob.conversation_id == conversation_id)) is None:
        session.add(PostConversationJob(conversation_id=conversation_id, status="pending", attempts=0,
                                        available_at=now, created_at=now))


class JobQueue:
    def __init__(self, database_url: str, lease_s: float, max_attempts: int) -> None:
        self.database_url, self.lease, self.max_attempts = database_url, timedelta(seconds=lease_s), max_attempts

    @staticmethod
    def _claimable(now: datetime):
        return or_(and_(PostConversationJob.status == "pending", PostConversationJob.available_at <= now),
                   and_(PostConversationJob.status == "running", PostConversationJob.lease_until < now))

    def claim(self, now: datetime | None = None) -> ClaimedJob | None:
        now = now or clock.now()
        with session_scope(self.database_url) as session:
            for job in session.scalars(select(PostConversationJob).where(self._claimable(now))
                                       .order_by(PostConversationJob.id).limit(5)):
                claimed = session.execute(
                    update(PostConversationJob)
                    .where(PostConversationJob.id == job.id, self._claimable(now))
                    .values(status="running", lease_until=now + self.lease, attempts=job.attempts + 1)
                    .execution_options(synchronize_session=False))
                if claimed.rowcount == 1:
                    return ClaimedJob(job.id, job.conversation_id, job.attempts + 1)
        return None

    def finish(self, job: ClaimedJob) -> None:
        with session_scope(self.database_url) as session:
            row = session.get(PostConversationJob, job.id)
            row.status, row.error, row.lease_until, row.finished_at = "done", None, None, clock.now()

    def retry_later(self, job: ClaimedJob, error: str) -> None:
        """Back off and try again (Rasa may be restarting); give up after max_attempts."""
        now = clock.now()
        with session_scope(self.database_url) as session:
            row = session.get(PostConversationJob, job.id)
            row.error, row.lease_until = error[:2000], None
            if job.attempt >= self.max_attempts:
                row.status, row.finished_at = "failed", now
            else:
                row.status, row.available_at = "pending", now + timedelta(seconds=15 * 2 ** job.attempt)

    def counts(self) -> dict[str, int]:
        with session_scope(self.database_url) as session:
            statuses = session.scalars(select(PostConversationJob.status)).all()
        return {status: statuses.count(status) for status in ("pending", "running", "done", "failed")}
