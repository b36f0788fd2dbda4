"""Summary, intents, topics and sentiment from a redacted transcript, by the local model.

The model is constrained to a JSON schema with bounded lengths (llama.cpp turns the
schema into a grammar); pydantic then checks what a schema cannot, such as the number
of sentences. Invalid output gets one retry with the error shown to the model; after
that the failure is recorded, never raised.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from hotline.insights.taxonomy import INTENT_MEANINGS, Intent, Sentiment, Topic
from hotline.insights.transcript import TranscriptTurn, render
from hotline.settings import Settings
from hotline.ml.llm import ChatModel, LLMError

# 2 to 4 sentences; a full stop inside a sentence only before a digit (£48.00). llama.cpp
# turns this into grammar, so the model cannot write anything else; pydantic checks it again.
SUMMARY_PATTERN = r'^([^.!?"\\\n]|[.][0-9])+[.!?]( ([^.!?"\\\n]|[.][0-9])+[.!?]){1,3}$'

SYSTEM_PROMPT = f"""You label finished customer-service conversations for Brightwave, a UK mobile and broadband operator.
Read the transcript and answer with JSON only.
- summary: 2 to 4 plain sentences in the third person ("The customer ... The assistant ..."): what the customer wanted, what was done, and how it ended. Never include names, numbers or codes.
- primary_intent: the main reason for contact. secondary_intents: other reasons, if any.
- topics: 1 to 4 topics discussed.
- sentiment_start, sentiment_end: the customer's mood at the start and at the end.
- resolved: true only if the customer's need was met by the end.
- follow_up_actions: short things the operator still has to do (empty if none).
Intents (pick the one that best matches the customer's first request):
{"; ".join(f"{name}: {meaning}" for name, meaning in INTENT_MEANINGS.items())}.

Example
Transcript:
Customer: no signal at all in Bristol since this morning, is something wrong?
Assistant: There is a known fault affecting mobile data in BS1. Engineers expect to fix it by 6pm today. You can use Wi-Fi Calling meanwhile.
Customer: ok thanks
JSON: {{"summary": "The customer reported no signal in their area. The assistant confirmed a known fault with an expected fix time and suggested Wi-Fi Calling.", "primary_intent": "network_outage", "secondary_intents": [], "topics": ["mobile outage", "wifi calling"], "sentiment_start": "negative", "sentiment_end": "neutral", "resolved": true, "follow_up_actions": []}}"""

FollowUp = Annotated[str, StringConstraints(min_length=3, max_length=120)]


class ConversationInsights(BaseModel):
    model_config = ConfigDict(extra="forbid")

    summary: str = Field(min_length=30, max_length=480, json_schema_extra={"pattern": SUMMARY_PATTERN})
    primary_intent: Intent
    secondary_intents: list[Intent] = Field(max_length=3)
    topics: list[Topic] = Field(min_length=1, max_length=4)  # the grammar lists the allowed topics
    sentiment_start: Sentiment
    sentiment_end: Sentiment
    resolved: bool
    follow_up_actions: list[FollowUp] = Field(max_length=3)

    @field_validator("summary")
    @classmethod
    def two_to_four_sentences(cls, summary: str) -> str:
        if not re.fullmatch(SUMMARY_PATTERN, summary):
            raise ValueError("the summary must be 2 to 4 sentences, separated by single spaces")
        return summary

    @model_validator(mode="after")
    def distinct_labels(self) -> "ConversationInsights":
        self.secondary_intents = [i for i in dict.fromkeys(self.secondary_intents) if i != self.primary_intent]
        self.topics = list(dict.fromkeys(self.topics))
        return self

    def overrule(self, failures: list[str]) -> None:
        """A conversation in which the assistant failed the customer is not resolved, however the
        transcript read to the model (a dead chat reads like a satisfied customer): the first
        follow-up action then asks the operator to look at it."""
        if failures:
            self.resolved = False
            note = f"Review the failed turns: {'; '.join(failures)}"[:120]
            self.follow_up_actions = [note, *self.follow_up_actions][:3]


SCHEMA = ConversationInsights.model_json_schema()


@dataclass
class Extraction:
    insights: ConversationInsights | None
    attempts: int
    valid_first_try: bool
    seconds: float
    error: str | None = None


class InsightExtractor:
    def __init__(self, settings: Settings, model: ChatModel) -> None:
        self.settings, self.model = settings, model

    def messages(self, turns: list[TranscriptTurn]) -> list[dict[str, str]]:
        transcript = render(turns, self.settings.summary_transcript_chars)
        return [{"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": f"Transcript:\n{transcript}\n\nJSON:"}]

    def extract(self, turns: list[TranscriptTurn]) -> Extraction:
        started = time.monotonic()
        messages = self.messages(turns)
        error = None
        for attempt in (1, 2):
            try:
                completion = self.model.chat(messages, max_tokens=self.settings.summary_max_tokens,
                                             timeout_s=self.settings.summary_timeout_s, json_schema=SCHEMA)
            except LLMError as failure:
                error = f"model failed: {failure}"
                continue
            try:
                if completion.timed_out:
                    raise ValueError("the model ran out of time before finishing the JSON")
                insights = ConversationInsights.model_validate(json.loads(completion.text))
                return Extraction(insights, attempt, attempt == 1, time.monotonic() - started)
            except (ValueError, ValidationError) as invalid:  # JSONDecodeError is a ValueError
                error = f"invalid output: {invalid}"[:1000]
                messages = [*messages, {"role": "assistant", "content": completion.text},
                            {"role": "user", "content": f"That JSON was not valid: {error[:300]}\nAnswer again with corrected JSON."}]
        return Extraction(None, 2, False, time.monotonic() - started, error)
