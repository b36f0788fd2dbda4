"""Streamed answers: the checked sentences of the real model's recorded replies, shown while
they are written; a sentence that fails a check never appears and ends the stream."""

from __future__ import annotations

import pytest

from tests.knowledge.conftest import recorded


def streamed(answerer, question: str, voice: bool = False):
    shown: list[str] = []
    return answerer.answer(question, voice=voice, show=shown.append), shown


@pytest.mark.parametrize("id_", ["wifi-calling", "complaints"])  # replies of two sentences
def test_sentences_are_shown_before_the_end_and_the_final_answer_begins_with_them(recording, answerer_with,
                                                                                 replay_model, id_):
    answer, shown = streamed(answerer_with(replay_model), recorded(recording, id_)["question"])
    assert answer.source == "model" and len(shown) == 1  # the last sentence comes with the citations
    assert answer.text.startswith(shown[0]) and len(answer.text) > len(shown[0])


def test_a_one_sentence_reply_is_not_shown_twice(recording, answerer_with, replay_model):
    answer, shown = streamed(answerer_with(replay_model), recorded(recording, "voicemail")["question"])
    assert answer.source == "model" and shown == []


def test_a_sentence_that_fails_a_check_never_appears_and_the_answer_falls_back(recording, answerer_with,
                                                                               replay_model):
    # Scripted: the recorded Wi-Fi Calling reply with a price the passages lack in its second sentence.
    wifi = recorded(recording, "wifi-calling")
    key = next(key for key, reply in replay_model.replies.items() if reply == wifi["reply"])
    replay_model.replies[key] = wifi["reply"].replace("It's free on every Brightwave plan.",
                                                      "It costs £3.50 a month. Ask us to add it.")
    answer, shown = streamed(answerer_with(replay_model), wifi["question"])
    assert shown == [wifi["reply"].split(". ")[0] + "."]  # the first sentence, and nothing after the failure
    assert answer.source == "extract" and "£3.50" not in answer.text


def test_a_caller_hears_sentences_without_markers(recording, answerer_with, replay_model):
    answer, shown = streamed(answerer_with(replay_model), recorded(recording, "wifi-calling")["question"], voice=True)
    assert shown and all("[" not in sentence for sentence in shown)
    assert answer.text.startswith(shown[0])


def test_quoted_prices_are_not_streamed(recording, answerer_with, replay_model):
    answer, shown = streamed(answerer_with(replay_model), recorded(recording, "late-fee")["question"])
    assert answer.source == "extract" and shown == []
