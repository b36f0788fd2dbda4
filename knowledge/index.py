"""The persistent Chroma collection of article chunks, and incremental ingestion."""

from __future__ import annotations

import os
from dataclasses import dataclass

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import chromadb  # noqa: E402
from chromadb.config import Settings as ChromaSettings  # noqa: E402
from tqdm import tqdm  # noqa: E402

from hotline.settings import Settings  # noqa: E402
from knowledge.documents import Chunk, load_corpus  # noqa: E402
from hotline.ml.embedder import HotlineEmbeddingFunction  # noqa: E402

BATCH = 32


class IndexMissing(RuntimeError):
    """The help-article index is not where the settings say, or holds nothing."""


def open_collection(settings: Settings) -> chromadb.Collection:
    client = chromadb.PersistentClient(path=str(settings.chroma_dir),
                                       settings=ChromaSettings(anonymized_telemetry=False))
    return client.get_or_create_collection(
        f"{settings.chroma_collection}_{settings.embedding_model}",
        embedding_function=HotlineEmbeddingFunction(settings.embedding_model),
        configuration={"hnsw": {"space": "cosine"}})


def read_collection(settings: Settings) -> chromadb.Collection:
    """The index for answering, or a clear error: a missing one must not read as "no article says"."""
    collection = open_collection(settings) if settings.chroma_dir.is_dir() else None
    if collection is None or collection.count() == 0:
        raise IndexMissing(f"The help-article index at {settings.chroma_dir} is missing or empty: run "
                           "`hotline ingest` (`make run` does) and ask again; nothing needs restarting.")
    return collection


@dataclass(frozen=True)
class IngestReport:
    added: int
    updated: int
    removed: int
    unchanged: int

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def stale(settings: Settings) -> bool:
    """True when the index is missing or differs from the articles on disk."""
    wanted = {chunk.id: chunk.content_hash for chunk in load_corpus(settings.articles_dir)}
    stored = open_collection(settings).get(include=["metadatas"])
    return wanted != {id_: meta["content_hash"] for id_, meta in zip(stored["ids"], stored["metadatas"])}


def ingest(settings: Settings, chunks: list[Chunk] | None = None, progress: bool = True) -> IngestReport:
    """Embed and store what changed since the last run; drop chunks that disappeared."""
    chunks = chunks if chunks is not None else load_corpus(settings.articles_dir)
    collection = open_collection(settings)
    stored = collection.get(include=["metadatas"])
    stored_hashes = {id_: meta.get("content_hash") for id_, meta in zip(stored["ids"], stored["metadatas"])}
    todo = [chunk for chunk in chunks if stored_hashes.get(chunk.id) != chunk.content_hash]
    wanted_ids = {chunk.id for chunk in chunks}
    removed = [id_ for id_ in stored_hashes if id_ not in wanted_ids]
    if removed:
        collection.delete(ids=removed)
    for start in tqdm(range(0, len(todo), BATCH), desc="Embedding", unit="batch", disable=not progress or not todo):
        batch = todo[start:start + BATCH]
        collection.upsert(ids=[c.id for c in batch], documents=[c.text for c in batch],
                          metadatas=[c.metadata() for c in batch])
    updated = sum(1 for chunk in todo if chunk.id in stored_hashes)
    report = IngestReport(added=len(todo) - updated, updated=updated, removed=len(removed),
                          unchanged=len(chunks) - len(todo))
    if report.changed:  # cached answers were written from the old text (their keys no longer match)
        from knowledge.cache import AnswerCache

        AnswerCache(settings).clear()
    return report
