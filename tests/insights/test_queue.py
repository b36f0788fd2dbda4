"""The post-conversation queue: an ending is never lost, a job runs once, a dead worker's job is retried."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta

import time_machine
from sqlalchemy import select

from channels.conversations import ConversationStore
from hotline import clock
from hotline.db import session_scope
from hotline.db.models import Conversation, PostConversationJob
from hotline.insights.jobs import JobQueue
from tests.conftest import on_awkward_days


def ended_conversation(store: ConversationStore, channel: str = "web") -> str:
    conversation_id = asyncio.run(store.open(channel))
    assert asyncio.run(store.end(conversation_id)) is True
    return conversation_id


def jobs(database_url: str) -> list[PostConversationJob]:
    with session_scope(database_url) as session:
        return list(session.scalars(select(PostConversationJob)))


def test_ending_a_conversation_queues_it_once(database_url):
    store = ConversationStore(database_url)
    conversation_id = ended_conversation(store)
    assert asyncio.run(store.end(conversation_id)) is False  # already over: nothing queued twice
    assert asyncio.run(store.end("no-such-conversation")) is False
    [job] = jobs(database_url)
    assert (job.conversation_id, job.status, job.attempts) == (conversation_id, "pending", 0)


@on_awkward_days
def test_only_idle_conversations_end(database_url, today):
    # Just after midnight, so "idle for 30 minutes" reaches back into the day before.
    with time_machine.travel(datetime.combine(today, time(0, 10)), tick=False):
        store = ConversationStore(database_url)
        idle = asyncio.run(store.open("web"))
        busy = asyncio.run(store.open("voice"))
        recent = asyncio.run(store.open("web"))
        with session_scope(database_url) as session:
            session.get(Conversation, idle).last_activity_at = clock.now() - timedelta(minutes=31)
            session.get(Conversation, recent).last_activity_at = clock.now() - timedelta(minutes=29)
        assert asyncio.run(store.end_idle(timedelta(minutes=30))) == [idle]
        assert [job.conversation_id for job in jobs(database_url)] == [idle]
        assert asyncio.run(store.get(busy)).ended_at is None and asyncio.run(store.get(recent)).ended_at is None


def test_a_job_is_claimed_by_one_worker_and_retried_when_its_worker_dies(database_url):
    store = ConversationStore(database_url)
    conversation_id = ended_conversation(store)
    queue = JobQueue(database_url, lease_s=60, max_attempts=3)
    first = queue.claim()
    assert first.conversation_id == conversation_id and first.attempt == 1
    assert queue.claim() is None  # leased to the first worker
    # The first worker dies without finishing; once its lease has run out, another takes over.
    second = queue.claim(now=clock.now() + timedelta(seconds=61))
    assert second.id == first.id and second.attempt == 2
    queue.finish(second)
    assert queue.claim(now=clock.now() + timedelta(hours=1)) is None
    assert queue.counts()["done"] == 1


def test_failures_back_off_then_give_up(database_url):
    store = ConversationStore(database_url)
    ended_conversation(store)
    queue = JobQueue(database_url, lease_s=60, max_attempts=2)
    job = queue.claim()
    queue.retry_later(job, "RasaUnavailable: connection refused")
    assert queue.claim() is None  # backing off
    job = queue.claim(now=clock.now() + timedelta(minutes=5))
    queue.retry_later(job, "RasaUnavailable: connection refused")
    [row] = jobs(database_url)
    assert (row.status, row.attempts, row.error) == ("failed", 2, "RasaUnavailable: connection refused")
    assert queue.claim(now=clock.now() + timedelta(days=1)) is None
