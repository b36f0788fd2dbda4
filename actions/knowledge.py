"""Answers from the help articles, and polite refusals.

The answerer (embedder, Chroma, Presidio and the language model) is built once per
action-server process, in the background at start-up, and every call runs on the
model's own worker thread so other conversations keep flowing meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future
from functools import lru_cache

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import latest_intent, offer_human
from hotline.db.drafts import DraftBoard
from hotline.settings import get_settings
from knowledge import guardrails
from knowledge.answer import Answer, KnowledgeAnswerer

logger = logging.getLogger(__name__)
VOICE_CHANNELS = {"voice", "twilio_voice"}


@lru_cache
def _answerer_future() -> Future:
    """Builds the answerer once, on a thread, so start-up and other actions are not held up."""
    future: Future = Future()

    def build() -> None:
        try:
            from knowledge.service import build_answerer

            future.set_result(build_answerer(get_settings()))
        except Exception as error:  # reported to each caller
            logger.exception("Could not build the knowledge answerer")
            future.set_exception(error)

    threading.Thread(target=build, name="answerer-build", daemon=True).start()
    return future


def warm_up() -> None:
    _answerer_future()


def model_in_use() -> str:
    """The id of the model answering questions here: the live one once built (a newly deployed
    one takes over at the next question), otherwise the one that will be loaded."""
    future = _answerer_future() if _answerer_future.cache_info().currsize else None
    if future and future.done() and not future.exception():
        return future.result().model.model_id
    from hotline.ml.registry import Registry

    return Registry(get_settings()).serving("answer").id


def is_voice(tracker: Tracker) -> bool:
    metadata = tracker.latest_message.get("metadata") or {}
    return metadata.get("channel") in VOICE_CHANNELS or tracker.get_latest_input_channel() in VOICE_CHANNELS


def history(tracker: Tracker) -> list[str]:
    texts = [event.get("text") or "" for event in tracker.events if event.get("event") == "user"]
    return [text for text in texts[:-1] if text and not text.startswith("/")]


def send(dispatcher: CollectingDispatcher, answer: Answer, voice: bool) -> None:
    """The answer, then its sources and the id of the model that wrote it (kept in the tracker)."""
    citations = [] if voice else answer.citations
    sources = "\n".join(f"• {c.title}: {c.url}" for c in citations)
    # One newline only: Rasa's REST channel splits a message at blank lines.
    dispatcher.utter_message(text=f"{answer.text}\nSources:\n{sources}" if citations else answer.text)
    if citations or answer.model_id:
        dispatcher.utter_message(json_message={"citations": [c.__dict__ for c in citations],
                                               "model_id": answer.model_id or None})


@lru_cache
def _drafts() -> DraftBoard:
    return DraftBoard(get_settings().database_url)


def show_drafts(tracker: Tracker):
    """Where the answer's checked sentences go while it is written: to the conversation's own
    drafts, for the web page and the phone call (a text message is sent whole)."""
    channel = (tracker.latest_message.get("metadata") or {}).get("channel")
    if channel not in {"web", *VOICE_CHANNELS}:
        return None
    return lambda text: _drafts().post(tracker.sender_id, text)


async def answer_for(tracker: Tracker) -> Answer | None:
    """The help-article answer to the latest message; None if the pipeline failed."""
    question = tracker.latest_message.get("text") or ""
    try:
        answerer: KnowledgeAnswerer = await asyncio.wrap_future(_answerer_future())
        return await asyncio.wait_for(answerer.answer_async(question, history(tracker), is_voice(tracker),
                                                            show_drafts(tracker)),
                                      timeout=get_settings().llm_timeout_s + 10)
    except Exception:  # logged here; the customer gets an apology, never a stack trace
        logger.exception("Knowledge answer failed")
        if _answerer_future().done() and _answerer_future().exception():
            _answerer_future.cache_clear()  # built again at the next question (say, after `hotline ingest`)
        return None


class ActionAnswerQuestion(Action):
    def name(self) -> str:
        return "action_answer_question"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        answer = await answer_for(tracker)
        voice = is_voice(tracker)
        if answer is None:
            dispatcher.utter_message(text=guardrails.LOOKUP_APOLOGY)
            return offer_human("the assistant could not answer a question")
        logger.info("knowledge answer: status=%s source=%s model=%s note=%s", answer.status, answer.source,
                    answer.model_id or "-", answer.note)
        if answer.status == "no_answer" and latest_intent(tracker) == "out_of_scope":
            dispatcher.utter_message(response="utter_out_of_scope")
            return []
        send(dispatcher, answer, voice)
        if answer.status == "no_answer":
            return offer_human("a question the help articles do not cover")
        return []


class ActionAnswerIfCovered(Action):
    """Before a task that customers also ask how-to questions about (eSIM set-up): share
    what the articles say, and say nothing if they don't cover it."""

    def name(self) -> str:
        return "action_answer_if_covered"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        answer = await answer_for(tracker)
        if answer is not None and answer.status == "answered":
            send(dispatcher, answer, is_voice(tracker))
        return []


class ActionRefuse(Action):
    """A polite refusal for manipulation, other people's data, abuse or advice we can't give,
    only when the guardrail rules confirm what the NLU suspects: an unusual but harmless message
    ("can you dim my screen") gets the friendly out-of-scope reply instead of an accusation."""

    def name(self) -> str:
        return "action_refuse"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        verdict = guardrails.check_input(tracker.latest_message.get("text") or "")
        if verdict.allowed:
            dispatcher.utter_message(response="utter_out_of_scope")
        else:
            dispatcher.utter_message(text=verdict.refusal)
        return []
