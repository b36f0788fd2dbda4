"""A real index of the help articles, the tiny SmolLM2 model, and the real model's recorded replies."""

from __future__ import annotations

import json

import pytest

from hotline.settings import Settings
from knowledge.answer import KnowledgeAnswerer
from knowledge.index import ingest
from hotline.ml.llm import Completion
from hotline.ml.files import smollm2_path
from knowledge.record import RECORDING
from knowledge.retrieval import Passage


@pytest.fixture(scope="session")
def knowledge_settings(tmp_path_factory) -> Settings:
    """Settings with a freshly built index; generation uses SmolLM2 (plumbing only). The answer
    cache is off, so each test sees the pipeline itself (tests/knowledge/test_cache.py turns it on)."""
    var = tmp_path_factory.mktemp("knowledge-var")
    settings = Settings(var_dir=var, llm_model_path=smollm2_path(), llm_max_tokens=40, llm_timeout_s=20,
                        answer_cache=False)
    ingest(settings, progress=False)
    return settings


@pytest.fixture(scope="session")
def retriever(knowledge_settings):
    from knowledge.retrieval import Retriever

    return Retriever(knowledge_settings)


@pytest.fixture(scope="session")
def pii():
    from hotline.ml.pii import get_pii_filter

    return get_pii_filter()


@pytest.fixture(scope="session")
def small_model(knowledge_settings):
    from hotline.ml.llm import build_model

    return build_model(knowledge_settings)


class RecordingModel:
    """The real model, with every prompt it receives kept for inspection."""

    def __init__(self, model) -> None:
        self.model, self.prompts = model, []
        self.model_id, self.worked_example = model.model_id, model.worked_example

    def chat(self, messages, **kwargs):
        self.prompts.append(messages)
        return self.model.chat(messages, **kwargs)


@pytest.fixture
def recording_model(small_model) -> RecordingModel:
    return RecordingModel(small_model)


@pytest.fixture
def answerer_with(knowledge_settings, retriever, pii):
    """An answerer over the session's index with the given model and, optionally, changed settings."""
    def build(model, **changes) -> KnowledgeAnswerer:
        return KnowledgeAnswerer(knowledge_settings.model_copy(update=changes), retriever, pii, model)
    return build


@pytest.fixture(scope="session")
def recording() -> dict:
    """The default model's replies to the answer prompt, recorded by `python -m knowledge.record`."""
    return json.loads(RECORDING.read_text())


def recorded(recording: dict, id_: str) -> dict:
    return next(answer for answer in recording["answers"] if answer["id"] == id_)


def passages_of(answer: dict) -> list[Passage]:
    return [Passage(**passage) for passage in answer["passages"]]


class ReplayModel:
    """The real model, replayed: its recorded reply to the same prompt. A prompt that was
    not recorded fails the test, since the prompt, articles or retrieval changed: re-record."""

    worked_example = True

    def __init__(self, recording: dict) -> None:
        self.replies = {(recording["system_prompt"], answer["prompt"]): answer["reply"]
                        for answer in recording["answers"]}
        self.replies.update({(recording["judge_prompt"], answer["judge_prompt"]): answer["judge_reply"]
                             for answer in recording["answers"]})
        self.model_id = recording["model"]["file"]

    def chat(self, messages, on_text=None, **kwargs) -> Completion:
        """Streamed, when asked, in pieces of a few characters as the model's tokens arrive."""
        key = (messages[0]["content"], messages[1]["content"])
        assert key in self.replies, "not recorded: run python -m knowledge.record"
        reply = self.replies[key]
        for start in range(0, len(reply), 4) if on_text else ():
            on_text(reply[start:start + 4])
        return Completion(reply, 0, 0, 0.0)


@pytest.fixture
def replay_model(recording) -> ReplayModel:
    return ReplayModel(recording)
