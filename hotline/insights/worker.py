"""The post-conversation worker: transcript, redaction, extraction, stored; one job at a time.

Runs as its own process (`hotline worker`, started by `hotline run`) so summaries never
compete with live turns for the action server's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime

from hotline.rasa_client import RasaClient, history_from_tracker
from hotline import apologies, clock
from hotline.db import make_engine, session_scope, upgrade_schema
from hotline.db.models import Conversation, ConversationSummary, Transcript
from hotline.insights.extraction import Extraction, InsightExtractor
from hotline.insights.jobs import ClaimedJob, JobQueue
from hotline.insights.retention import sweep
from hotline.insights.transcript import redact_turns, turn_failures
from hotline.settings import Settings
from hotline.ml.llm import build_model
from hotline.ml.pii import PiiFilter, get_pii_filter

log = logging.getLogger("hotline.worker")


def summary_row(conversation_id: str, extraction: Extraction | None) -> ConversationSummary:
    row = ConversationSummary(conversation_id=conversation_id, created_at=clock.now(), status="empty",
                              attempts=0, seconds=0.0, secondary_intents=[], topics=[], follow_up_actions=[])
    if extraction is None:  # nothing the customer said: nothing to summarise
        return row
    row.attempts, row.seconds, row.error = extraction.attempts, extraction.seconds, extraction.error
    row.status = "ok" if extraction.insights else "failed"
    for name, value in (extraction.insights.model_dump() if extraction.insights else {}).items():
        setattr(row, name, value)
    return row


class PostConversationWorker:
    def __init__(self, settings: Settings, rasa: RasaClient, pii: PiiFilter, extractor: InsightExtractor) -> None:
        self.settings, self.rasa, self.pii, self.extractor = settings, rasa, pii, extractor
        self.queue = JobQueue(settings.database_url, settings.worker_lease_s, settings.worker_max_attempts)

    @classmethod
    def from_settings(cls, settings: Settings) -> "PostConversationWorker":
        upgrade_schema(make_engine(settings.database_url))
        return cls(settings, RasaClient(settings), get_pii_filter(),
                   InsightExtractor(settings, build_model(settings, "summary")))

    async def process(self, conversation_id: str) -> None:
        tracker = await self.rasa.tracker(conversation_id)
        await asyncio.to_thread(self.summarise_and_store, conversation_id, tracker)

    def summarise_and_store(self, conversation_id: str, tracker: dict) -> None:
        """Redaction, the model and the database: all blocking, so off the event loop."""
        turns = redact_turns(history_from_tracker(tracker), self.pii.redact)
        customer_turns = sum(turn.role == "user" for turn in turns)
        extraction = self.extractor.extract(turns) if customer_turns else None
        if extraction and extraction.insights:  # the input was redacted; the output is checked too
            insights = extraction.insights
            insights.summary = self.pii.redact(insights.summary)
            insights.follow_up_actions = [self.pii.redact(action) for action in insights.follow_up_actions]
            insights.overrule(turn_failures(tracker.get("events") or [], apologies.ALL))
        # Handling time runs from the first message to the last, not to the idle timeout.
        times = [datetime.fromtimestamp(turn.at) for turn in turns if turn.at]
        with session_scope(self.settings.database_url) as session:
            conversation = session.get(Conversation, conversation_id)
            session.merge(Transcript(
                conversation_id=conversation_id, channel=conversation.channel,
                started_at=min(times) if times else conversation.started_at,
                ended_at=max(times) if times else conversation.ended_at or clock.now(), turn_count=customer_turns,
                handoff=conversation.handoff, verified=bool((tracker.get("slots") or {}).get("verified")),
                turns=[turn.as_dict() for turn in turns]))
            row = summary_row(conversation_id, extraction)
            row.model_id = self.extractor.model.model_id if extraction else None
            session.merge(row)

    async def run_once(self) -> ClaimedJob | None:
        job = await asyncio.to_thread(self.queue.claim)
        if job is None:
            return None
        try:
            await self.process(job.conversation_id)
        except Exception as error:  # Rasa restarting, or one bad conversation: retry later, keep going
            log.warning("job %s attempt %s failed: %s", job.id, job.attempt, type(error).__name__)
            await asyncio.to_thread(self.queue.retry_later, job, f"{type(error).__name__}: {error}")
        else:
            await asyncio.to_thread(self.queue.finish, job)
            log.info("job %s done", job.id)
        return job

    async def redact_raw_text(self) -> None:
        """Retention: the raw events of conversations whose transcript is stored (insights/retention.py)."""
        try:
            if redacted := await asyncio.to_thread(sweep, self.settings, self.pii.redact):
                log.info("raw text redacted in %s conversations", redacted)
        except Exception as error:  # the tracker store busy or away: the next sweep catches up
            log.warning("retention sweep failed: %s", type(error).__name__)

    async def run(self, stop: asyncio.Event) -> None:
        swept_at = -float("inf")
        while not stop.is_set():
            job = await self.run_once()
            if job is not None or time.monotonic() - swept_at >= self.settings.retention_sweep_s:
                await self.redact_raw_text()
                swept_at = time.monotonic()
            if job is None:
                try:
                    await asyncio.wait_for(stop.wait(), self.settings.worker_poll_s)
                except asyncio.TimeoutError:
                    pass
        await self.rasa.close()
