"""Answers to questions that mean the same as a recent one, from the database in milliseconds.

A cached answer is served only when everything it was made from is the same: the model id,
the channel's style (voice or text) and the exact passages retrieved (their ids and text, so
a re-ingested article changes the key), with a question whose embedding is close enough and
whose names and numbers (a country, a plan, a phone, a price) are the same ones: "roaming in
France" never gets the answer for Japan, however alike the sentences. Answers that used the
conversation's history or any personal data are never stored. Shared by every action-server
worker through the database; bounded, least recently used out first.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
from sqlalchemy import delete, func, select

from hotline import clock
from hotline.db import ensure_schema, session_scope
from hotline.db.models import CachedAnswer
from hotline.settings import Settings
from knowledge.retrieval import Passage

_WORD = re.compile(r"[a-z0-9£.]*[a-z0-9]", re.I)
_MID_SENTENCE_NAME = re.compile(r"(?:(?<=[a-z0-9,:;)*-] )|(?<=\())([a-z]*[A-Z][\w+-]*)")
COMMON_NAME_SHARE = 0.2  # a name in more of the articles' sections than this is the operator's, not a topic's


def key_of(passages: list[Passage], model_id: str, voice: bool) -> str:
    parts = sorted(f"{p.chunk_id}:{hashlib.sha256(p.text.encode()).hexdigest()}" for p in passages)
    return hashlib.sha256("\n".join([model_id, "voice" if voice else "text", *parts]).encode()).hexdigest()


def names_in(sections: list[str]) -> set[str]:
    """Words the articles write as names: with a capital in mid-sentence at least as often as
    without one (France, Starter, iPhone, PAC; not Phone in a heading), in few of the sections
    (not the operator's own name)."""
    capitals: dict[str, set[int]] = {}
    for n, section in enumerate(sections):
        for name in _MID_SENTENCE_NAME.findall(section):
            capitals.setdefault(name.lower(), set()).add(n)
    lower = {}
    for section in sections:
        for word in re.findall(r"\b[a-z][\w+-]*", section):
            lower[word] = lower.get(word, 0) + 1
    return {name for name, where in capitals.items() if len(name) > 1
            and len(where) <= COMMON_NAME_SHARE * len(sections) and lower.get(name, 0) <= len(where)}


def terms_of(question: str, names: set[str]) -> list[str]:
    """The words a question's answer turns on: its numbers, the articles' names it uses, and
    names the customer wrote with a capital."""
    written = {name.lower() for name in _MID_SENTENCE_NAME.findall(question) if len(name) > 1}
    words = {word.lower() for word in _WORD.findall(question)}
    return sorted(word for word in words if any(ch.isdigit() for ch in word) or word in names or word in written)


class AnswerCache:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        ensure_schema(settings.database_url)

    def _session(self):
        return session_scope(self.settings.database_url)

    def lookup(self, vector: np.ndarray, passages: list[Passage], terms: list[str], model_id: str,
               voice: bool) -> dict | None:
        """The stored answer's fields, or None."""
        key = key_of(passages, model_id, voice)
        with self._session() as session:
            rows = session.scalars(select(CachedAnswer).where(CachedAnswer.key == key)).all()
            best, best_score = None, self.settings.answer_cache_similarity
            for row in rows:
                score = float(np.frombuffer(row.vector, dtype=np.float32) @ vector)
                if row.terms == terms and score >= best_score:
                    best, best_score = row, score
            if best is None:
                return None
            best.hits, best.used_at = best.hits + 1, clock.now()
            return dict(best.answer)

    def store(self, vector: np.ndarray, passages: list[Passage], terms: list[str], answer: dict,
              model_id: str, voice: bool) -> None:
        now = clock.now()
        with self._session() as session:
            session.add(CachedAnswer(key=key_of(passages, model_id, voice),
                                     vector=np.asarray(vector, dtype=np.float32).tobytes(), terms=terms,
                                     answer=answer, created_at=now, used_at=now))
            session.flush()
            extra = session.scalar(select(func.count(CachedAnswer.id))) - self.settings.answer_cache_size
            if extra > 0:
                oldest = select(CachedAnswer.id).order_by(CachedAnswer.used_at).limit(extra)
                session.execute(delete(CachedAnswer).where(CachedAnswer.id.in_(oldest.scalar_subquery())))

    def clear(self) -> int:
        with self._session() as session:
            return session.execute(delete(CachedAnswer)).rowcount
