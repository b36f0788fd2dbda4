"""Agent assist: the briefing an agent reads when the assistant hands a conversation over.

Who the customer is (masked), whether they were verified, what the assistant tried, a
summary so far from the local model, and a suggested reply with cited help articles for
the customer's latest question, from the same retrieval and model as the assistant.
The knowledge pipeline is built in the background the first time a handoff happens.
"""

from __future__ import annotations

import asyncio
import logging
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from hotline.insights.extraction import InsightExtractor
from hotline.insights.transcript import TranscriptTurn, redact_turns
from hotline.settings import Settings

if TYPE_CHECKING:  # importing the pipeline takes seconds; the gateway builds it on first handoff
    from knowledge.answer import KnowledgeAnswerer

log = logging.getLogger("hotline.assist")

KEEP = 500  # suggestions and summaries remembered; the oldest are forgotten first

# Customer turns that are not questions an article could answer.
NOT_QUESTIONS = {"greet", "goodbye", "thank", "affirm", "deny", "verify_identity", "inform", "month", "location",
                 "plan_name", "country", "request_human", "stop", "correct", "help"}
NOT_STEPS = ("action_listen", "action_session_start", "action_restart", "action_ask_", "validate_", "utter_",
             "action_default_", "action_reprompt", "action_unlikely_intent")


def latest_question(turns: list[TranscriptTurn]) -> TranscriptTurn | None:
    """The customer's most recent message that asks for something."""
    for turn in reversed(turns):
        if turn.role == "user" and turn.intent not in NOT_QUESTIONS and len(turn.text.split()) >= 3:
            return turn
    return None


def steps_tried(tracker: dict[str, Any]) -> list[str]:
    """The assistant's actions and forms, in order, in words: 'Explain bill', 'Pay bill form'."""
    steps: list[str] = []
    for event in tracker.get("events") or []:
        name = event.get("name") or ""
        if event.get("event") not in ("action", "active_loop") or not name or name.startswith(NOT_STEPS):
            continue
        label = name.removeprefix("action_").replace("_", " ").capitalize()
        if label not in steps:
            steps.append(label)
    return steps


def masked_customer(tracker: dict[str, Any]) -> dict[str, Any]:
    """Only masked identifiers reach the console: the account's last digits and an initial."""
    slots = tracker.get("slots") or {}
    first_name = slots.get("customer_first_name") or ""
    return {"verified": bool(slots.get("verified")), "account": slots.get("account_identifier"),
            "initial": f"{first_name[0]}." if first_name else None}


class AgentAssist:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pipeline: asyncio.Task | None = None
        self._redact: asyncio.Task | None = None
        self._suggestions: dict[tuple[str, str], dict[str, Any]] = {}
        self._summaries: dict[str, tuple[int, dict[str, Any]]] = {}
        self._running: set[tuple[str, str]] = set()

    def prepare(self) -> asyncio.Task:
        """Start building the answerer and extractor (seconds) so they are ready when an agent looks."""
        if self._pipeline is None:
            self._pipeline = asyncio.create_task(asyncio.to_thread(self._build))
        return self._pipeline

    def _build(self) -> tuple[KnowledgeAnswerer, InsightExtractor]:
        from knowledge.service import build_answerer

        answerer = build_answerer(self.settings)
        return answerer, InsightExtractor(self.settings, answerer.model)

    async def transcript(self, messages: list[dict[str, Any]]) -> list[TranscriptTurn]:
        """The conversation redacted for the agent's eyes; each message is redacted once (the console polls)."""
        if self._redact is None:
            self._redact = asyncio.create_task(asyncio.to_thread(self._build_redactor))
        return await asyncio.to_thread(redact_turns, messages, await self._redact)

    @staticmethod
    def _build_redactor():
        from hotline.ml.pii import get_pii_filter  # Presidio and spaCy load in seconds: not at gateway start

        return lru_cache(maxsize=4096)(get_pii_filter().redact)

    def _in_background(self, key: tuple[str, str], work) -> None:
        if key in self._running:
            return
        for cache in (self._suggestions, self._summaries):
            while len(cache) >= KEEP:
                del cache[next(iter(cache))]
        self._running.add(key)
        asyncio.create_task(work()).add_done_callback(lambda task: self._finished(key, task))

    def _finished(self, key: tuple[str, str], task: asyncio.Task) -> None:
        self._running.discard(key)
        if not task.cancelled() and task.exception() is not None:
            log.error("agent assist failed: %r", task.exception())

    def suggestion(self, conversation_id: str, question: str) -> dict[str, Any]:
        """The suggested reply if ready; otherwise start it and say it is pending."""
        key = (conversation_id, question)
        if key in self._suggestions:
            return self._suggestions[key]

        async def suggest() -> None:
            answerer, _ = await self.prepare()
            try:
                answer = await answerer.answer_async(question)
                self._suggestions[key] = {"status": answer.status, "text": answer.text, "citations": [
                    {"title": c.title, "url": c.url} for c in answer.citations]}
            except Exception:  # the agent still has the briefing; say so rather than spin
                log.exception("suggestion failed")
                self._suggestions[key] = {"status": "failed", "text": "", "citations": []}

        self._in_background(key, suggest)
        return {"status": "pending"}

    def summary_so_far(self, conversation_id: str, turns: list[TranscriptTurn]) -> dict[str, Any]:
        """A summary of the conversation until now; refreshed when the customer has written more."""
        customer_turns = sum(turn.role == "user" for turn in turns)
        known_turns, known = self._summaries.get(conversation_id, (0, {"status": "pending"}))
        if known_turns < customer_turns:
            async def summarise() -> None:
                _, extractor = await self.prepare()
                extraction = await asyncio.to_thread(extractor.extract, turns)
                insights = extraction.insights
                self._summaries[conversation_id] = (customer_turns, {"status": "ok", **insights.model_dump()}
                                                    if insights else {"status": "failed", "error": extraction.error})

            self._in_background((conversation_id, f"summary:{customer_turns}"), summarise)
        return known
