"""A real index of the help articles and the tiny SmolLM2 model, built once per session."""

from __future__ import annotations

import pytest

from hotline.settings import Settings
from knowledge.index import ingest
from knowledge.model_files import smollm2_path


@pytest.fixture(scope="session")
def knowledge_settings(tmp_path_factory) -> Settings:
    """Settings with a freshly built index; generation uses SmolLM2 (plumbing only)."""
    var = tmp_path_factory.mktemp("knowledge-var")
    settings = Settings(var_dir=var, llm_model_path=smollm2_path(), llm_max_tokens=40, llm_timeout_s=20)
    ingest(settings, progress=False)
    return settings


@pytest.fixture(scope="session")
def retriever(knowledge_settings):
    from knowledge.retrieval import Retriever

    return Retriever(knowledge_settings)


@pytest.fixture(scope="session")
def pii():
    from knowledge.pii import get_pii_filter

    return get_pii_filter()


@pytest.fixture(scope="session")
def small_model(knowledge_settings):
    from knowledge.llm import build_model

    return build_model(knowledge_settings)


class RecordingModel:
    """The real model, with every prompt it receives kept for inspection."""

    def __init__(self, model) -> None:
        self.model, self.prompts = model, []

    def chat(self, messages, **kwargs):
        self.prompts.append(messages)
        return self.model.chat(messages, **kwargs)


@pytest.fixture
def recording_model(small_model) -> RecordingModel:
    return RecordingModel(small_model)
