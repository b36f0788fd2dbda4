"""A conversation in which the assistant failed the customer is never stored as resolved, whatever
the model read into its transcript: a dead chat (ten identical replies, then silence) reads like
a customer who got what they wanted and left."""

from __future__ import annotations

import asyncio
import json

from channels.conversations import ConversationStore
from channels.webchat import APOLOGY
from hotline.db import session_scope
from hotline.db.models import ConversationSummary
from hotline.insights.extraction import InsightExtractor
from hotline.insights.transcript import APOLOGISED, NO_REPLY, REPEATED, turn_failures
from hotline.apologies import ALL as APOLOGIES
from hotline.insights.worker import PostConversationWorker
from hotline.settings import get_settings
from hotline.ml.pii import get_pii_filter
from tests.insights.test_extraction import VALID, ScriptedModel

STILL_LOST = "I'm still not getting it, sorry. Would you like me to connect you to one of our team?"


def user(text: str) -> dict:
    return {"event": "user", "text": text, "timestamp": 1.0, "parse_data": {"intent": {"name": "inform"}}}


def bot(text: str, **metadata) -> dict:
    return {"event": "bot", "text": text, "timestamp": 2.0, "data": {}, "metadata": metadata}


def action(name: str) -> dict:
    return {"event": "action", "name": name, "timestamp": 1.5}


GOOD = [action("action_listen"), user("hi"), action("utter_greet"), bot("Hi, what can I do for you?"),
        action("action_listen"), user("bye"), action("utter_goodbye"), bot("Bye for now!"), action("action_listen")]
# What the circuit breaker left: ten copies of one reply, then every later message unanswered.
DEAD = [action("action_listen"), user("ACC-1000003"), action("action_reprompt"), bot("Sorry, I didn't get that."),
        action("action_listen"), user("1357"),
        *[event for _ in range(10) for event in (action("action_reprompt"), bot(STILL_LOST))],
        user("hello?"), user("thanks, bye")]


def test_a_conversation_that_went_well_has_no_failures():
    assert turn_failures(GOOD, APOLOGIES) == []


def test_loops_unanswered_messages_and_apologies_are_failures():
    assert turn_failures(DEAD, APOLOGIES) == [REPEATED, NO_REPLY]
    assert turn_failures([*GOOD, user("still there?")], APOLOGIES) == [NO_REPLY]
    assert turn_failures([*GOOD, user("my bill"), bot(APOLOGY)], APOLOGIES) == [APOLOGISED]


def test_messages_an_agent_answers_in_their_own_time_are_not_failures():
    agent = [{"event": "pause"}, bot("Hi, I'm Sam from the team.", agent="sam"),
             user("hi Sam"), user("are you there?"), bot("Yes, looking now.", agent="sam"), user("thanks")]
    assert turn_failures([*GOOD, *agent], APOLOGIES) == []
    assert turn_failures([*GOOD, *agent, {"event": "resume"}, bot("You're back with the assistant."),
                          user("and my data?")], APOLOGIES) == [NO_REPLY]


def stored_summary(database_url: str, events: list[dict]) -> ConversationSummary:
    """The worker's row for a conversation with these events, the model judging it resolved."""
    store = ConversationStore(database_url)
    conversation_id = asyncio.run(store.open("web"))
    settings = get_settings()
    worker = PostConversationWorker(settings, None, get_pii_filter(),
                                    InsightExtractor(settings, ScriptedModel(json.dumps(VALID))))
    worker.summarise_and_store(conversation_id, {"events": events, "slots": {}})
    with session_scope(database_url) as session:
        return session.get(ConversationSummary, conversation_id)


def test_the_worker_overrules_the_model_when_the_assistant_failed(database_url):
    row = stored_summary(database_url, DEAD)
    assert row.status == "ok" and row.resolved is False
    assert row.follow_up_actions[0].startswith("Review the failed turns") and REPEATED in row.follow_up_actions[0]


def test_the_worker_keeps_the_models_verdict_otherwise(database_url):
    row = stored_summary(database_url, GOOD)
    assert row.resolved is True and row.follow_up_actions == []
