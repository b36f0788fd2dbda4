"""Finding the article sections that answer a question, with a relevance gate."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from hotline.settings import Settings
from hotline.ml.embedder import load_embedder
from knowledge.index import read_collection

_WORD = re.compile(r"[a-z0-9£.]+")


@dataclass(frozen=True)
class Passage:
    chunk_id: str
    article_id: str
    title: str
    url: str
    section: str
    text: str
    score: float  # cosine similarity of the question and the section, 0..1


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class Retriever:
    """Vector search in Chroma; optionally re-scored with BM25 keyword overlap."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.collection = read_collection(settings)
        self.embedder = load_embedder(settings.embedding_model)

    @cached_property
    def _bm25(self):
        from rank_bm25 import BM25Okapi

        stored = self.collection.get(include=["documents"])
        return dict(zip(stored["ids"], range(len(stored["ids"])))), BM25Okapi(
            [tokens(doc) for doc in stored["documents"]])

    def search(self, query: str, k: int | None = None, where: dict | None = None,
               hybrid: bool | None = None) -> list[Passage]:
        """The k best passages, best first, each with its similarity score (no gate)."""
        k = k or self.settings.retrieval_top_k
        hybrid = self.settings.hybrid_bm25 if hybrid is None else hybrid
        result = self.collection.query(query_embeddings=[self.embedder.query(query)],
                                       n_results=k * 3 if hybrid else k, where=where,
                                       include=["documents", "metadatas", "distances"])
        passages = [
            Passage(chunk_id=id_, article_id=meta["article_id"], title=meta["title"], url=meta["url"],
                    section=meta["section"], text=doc, score=1 - distance)
            for id_, doc, meta, distance in zip(result["ids"][0], result["documents"][0],
                                                result["metadatas"][0], result["distances"][0])
        ]
        if hybrid and passages:
            positions, bm25 = self._bm25
            scores = bm25.get_scores(tokens(query))
            top = max(scores.max(), 1e-9)
            passages.sort(key=lambda p: -(0.7 * p.score + 0.3 * scores[positions[p.chunk_id]] / top))
        return passages[:k]

    def relevant(self, query: str, k: int | None = None, where: dict | None = None) -> list[Passage]:
        """Only the passages that pass the relevance threshold."""
        return [p for p in self.search(query, k, where) if p.score >= self.settings.relevance_threshold]
