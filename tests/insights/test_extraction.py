"""Transcript redaction and the extraction contract: schema, validation, one retry, recorded failure."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from hotline.insights.extraction import SCHEMA, ConversationInsights, InsightExtractor
from hotline.insights.transcript import TranscriptTurn, redact_turns, render
from hotline.settings import get_settings
from hotline.ml.llm import Completion
from hotline.ml.pii import get_pii_filter

VALID = {"summary": "The customer asked why the bill went up. The assistant explained the roaming charge.",
         "primary_intent": "billing_enquiry", "secondary_intents": ["roaming", "billing_enquiry"],
         "topics": ["bill increase", "roaming charges", "bill increase"], "sentiment_start": "negative",
         "sentiment_end": "neutral", "resolved": True, "follow_up_actions": []}


def test_transcripts_carry_no_personal_data():
    messages = [
        {"role": "user", "text": "hi this is Alice Morgan, my number is 07911 123456", "intent": "greet"},
        {"role": "bot", "text": "What's your account number?"},
        {"role": "user", "text": "ACC-1000001", "asked_for": "account_identifier"},
        {"role": "bot", "text": "Now your 4-digit PIN."},
        {"role": "user", "text": "1234", "asked_for": "verification_secret"},
        {"role": "bot", "text": "Thanks Alice, you're verified."},
        {"role": "user", "text": "email me at alice.morgan@example.com"},
    ]
    turns = redact_turns(messages, get_pii_filter().redact)
    text = "\n".join(turn.text for turn in turns)
    for secret in ("Alice", "Morgan", "07911 123456", "ACC-1000001", "1234", "alice.morgan@example.com"):
        assert secret not in text
    assert turns[4].text == "<PIN_OR_DATE_OF_BIRTH>"
    assert turns[0].intent == "greet" and [t.role for t in turns][:2] == ["user", "bot"]


def test_long_transcripts_keep_the_start_and_the_end():
    turns = [TranscriptTurn("user" if n % 2 else "bot", f"message number {n} " + "x" * 80) for n in range(60)]
    text = render(turns, 1500)
    assert len(text) <= 1500
    assert "message number 0 " in text and "message number 59 " in text and "omitted" in text


def test_answers_without_their_source_lists():
    text = render([TranscriptTurn("bot", "Dial 123 [1].\nSources:\n• Voicemail https://help.example/vm")], 500)
    assert text == "Assistant: Dial 123 [1]."


def test_the_model_is_held_to_the_taxonomy_and_sentence_counts():
    insights = ConversationInsights.model_validate(VALID)
    assert insights.secondary_intents == ["roaming"] and insights.topics == ["bill increase", "roaming charges"]
    for change in ({"summary": "Only one sentence here about the bill."},
                   {"summary": "One. Two. Three. Four. Five sentences are too many."},
                   {"primary_intent": "weather"}, {"topics": []},
                   {"topics": ["bill amount", "bill increase", "card payment", "direct debit", "refund or compensation"]},
                   {"sentiment_end": "furious"}, {"extra": "field"}):
        with pytest.raises(ValidationError):
            ConversationInsights.model_validate({**VALID, **change})
    assert SCHEMA["properties"]["summary"]["pattern"] and SCHEMA["properties"]["topics"]["maxItems"] == 4


class ScriptedModel:
    """Replies from a script: the real model writes under a grammar and is never invalid,
    so the retry and failure paths need a model that misbehaves on purpose."""

    model_id, worked_example = "scripted", True

    def __init__(self, *replies: str) -> None:
        self.replies, self.calls = list(replies), []

    def chat(self, messages, *, max_tokens, timeout_s, json_schema=None):
        self.calls.append(messages)
        return Completion(self.replies.pop(0), 100, 50, 0.1)


TURNS = [TranscriptTurn("user", "why is my bill higher"), TranscriptTurn("bot", "Roaming in France.")]


def test_invalid_output_is_retried_once_with_the_error():
    model = ScriptedModel('{"summary": "Too short."}', json.dumps(VALID))
    extraction = InsightExtractor(get_settings(), model).extract(TURNS)
    assert extraction.insights.primary_intent == "billing_enquiry"
    assert (extraction.attempts, extraction.valid_first_try) == (2, False)
    assert "not valid" in model.calls[1][-1]["content"]


def test_a_second_failure_is_recorded_not_raised():
    extraction = InsightExtractor(get_settings(), ScriptedModel("not json", '{"summary": 3}')).extract(TURNS)
    assert extraction.insights is None and extraction.attempts == 2
    assert extraction.error.startswith("invalid output")


def test_every_intent_is_explained_to_the_model():
    from hotline.insights.taxonomy import INTENT_MEANINGS, INTENTS

    assert tuple(INTENT_MEANINGS) == INTENTS
