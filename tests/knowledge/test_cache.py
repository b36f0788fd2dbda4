"""The answer cache: a question meaning the same as a recent one is answered from the database
with the same citations and no model call; different names or numbers, personal data, another
model or changed articles never get a cached answer; the cache stays within its size."""

from __future__ import annotations

import pytest

from knowledge.cache import AnswerCache, names_in, terms_of
from knowledge.index import ingest
from knowledge.documents import load_corpus
from tests.knowledge.conftest import RecordingModel, recorded


@pytest.fixture
def cached(tmp_path, answerer_with, replay_model):
    """An answerer with the cache on, over a database of its own; its model records its prompts."""
    def build(model=None, **changes):
        model = model or RecordingModel(replay_model)
        return answerer_with(model, answer_cache=True, database_url=f"sqlite:///{tmp_path / 'cache.db'}",
                             **changes), model
    return build


def test_the_same_question_again_comes_from_the_cache_with_the_same_citations(recording, cached):
    answerer, model = cached()
    question = recorded(recording, "wifi-calling")["question"]
    first = answerer.answer(question)
    calls = len(model.prompts)
    again = answerer.answer(question.lower())
    assert again.note == "answer cache" and len(model.prompts) == calls
    assert (again.text, again.citations, again.source) == (first.text, first.citations, first.source)


@pytest.fixture(scope="module")
def names(retriever) -> tuple[set[str], set[str]]:
    return names_in(retriever.collection.get(include=["documents"])["documents"])


def test_a_question_with_another_name_or_number_is_not_served_from_the_cache(knowledge_settings, retriever,
                                                                            names, tmp_path):
    cache = AnswerCache(knowledge_settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'c.db'}"}))
    embed = retriever.embedder.query

    def ask(question: str, store: bool = False):
        passages = retriever.relevant(question)
        terms = terms_of(question, names)
        if store:
            cache.store(embed(question), passages, passages[:1], terms, {"text": "stored"}, "model", False)
        return cache.lookup(embed(question), passages, terms, "model", False)

    assert ask("how much does roaming in France cost per day", store=True) == {"text": "stored"}
    assert ask("how much does roaming in france cost per day?") == {"text": "stored"}
    for other in ("how much does roaming in Japan cost per day", "how much does roaming in France cost for 2 days",
                  "how much does roaming in France cost per day without a pass"):
        assert ask(other) is None, other


def test_the_terms_are_numbers_names_negation_and_direction(names):
    assert terms_of("can I use my phone in france", names) == ["france", "in:france"]
    assert terms_of("is 5g on the starter plan", names) == ["5", "on:starter", "starter"]
    assert terms_of("call the UK from the US", names) != terms_of("call the US from the UK", names)
    assert "fairphone" in terms_of("does my Fairphone do wifi calling", names)  # a name the articles lack
    assert terms_of("my account is a c c one zero zero zero zero zero two", names) == ["1000002", "acc1000002"]  # as spoken
    assert terms_of("I don't want to keep my number", names) == ["not", "to:keep"]
    assert "brightwave" not in names[0]  # the operator's name is in every article


def test_personal_data_is_never_cached(recording, cached, small_model):
    answerer, model = cached(RecordingModel(small_model))
    question = "I'm Sarah Jenkins on 07912 345678, how do I set up wifi calling?"
    answerer.answer(question)
    assert answerer.answer(question).note != "answer cache"
    assert AnswerCache(answerer.settings).clear() == 0


def test_another_model_does_not_get_this_models_answers(recording, cached, replay_model):
    question = recorded(recording, "wifi-calling")["question"]
    answerer, _ = cached()
    answerer.answer(question)
    other = RecordingModel(replay_model)
    other.model_id = "another-model"
    answerer_b, _ = cached(other)
    assert answerer_b.answer(question).note != "answer cache" and other.prompts


def test_changed_articles_empty_the_cache(recording, cached, knowledge_settings, tmp_path):
    answerer, _ = cached()
    answerer.answer(recorded(recording, "wifi-calling")["question"])
    settings = answerer.settings.model_copy(update={"chroma_dir": tmp_path / "chroma"})
    chunks = load_corpus(knowledge_settings.articles_dir)[:3]
    assert ingest(settings, chunks, progress=False).changed  # three article sections, new to this index
    assert AnswerCache(settings).clear() == 0
    answerer.answer(recorded(recording, "wifi-calling")["question"])
    assert ingest(settings, chunks, progress=False).changed is False  # nothing changed: the cache stays
    assert AnswerCache(settings).clear() == 1


def test_the_cache_keeps_only_its_size(recording, cached):
    answerer, _ = cached(answer_cache_size=2)
    for id_ in ("wifi-calling", "voicemail", "complaints"):
        answerer.answer(recorded(recording, id_)["question"])
    assert AnswerCache(answerer.settings).clear() == 2
