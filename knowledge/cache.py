"""Answers to questions that mean the same as a recent one, from the database in milliseconds.

A cached answer is served only when what it was made from is the same: the model id, the
channel's style (voice or text), the best passage and every passage the answer drew on (by id
and text, so an edited article is another source), for a question whose embedding is close
enough and whose names, numbers, negation and directions are the same: "roaming in France"
never gets the answer for Japan, nor "autopay off" the answer for "autopay on". Answers that used the
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
from hotline.spoken import normalize
from hotline.settings import Settings
from knowledge.retrieval import Passage

_WORD = re.compile(r"[a-z0-9£.']*[a-z0-9]", re.I)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_MID_SENTENCE_NAME = re.compile(r"(?:(?<=[a-z0-9,] )|(?<=\())([a-z]*[A-Z][\w+-]*)")
COMMON_NAME_SHARE = 0.2  # a name in more of the articles' sections than this is the operator's, not a topic's
# Words that turn a question around: which way (roaming on or off, a number in or out) and whether not.
_NEGATIONS = {"not", "no", "never", "without", "nor", "cannot", "dont", "doesnt", "didnt", "isnt", "arent", "wasnt",
              "cant", "wont", "havent", "hasnt", "shouldnt", "wouldnt", "couldnt"}
_DETERMINERS = {"the", "a", "an", "my", "your", "our", "this", "that"}
_DIRECTIONS = {"on", "off", "in", "out", "into", "from", "to", "back", "up", "down", "away", "before", "after"}


def key_of(top: Passage, model_id: str, voice: bool) -> str:
    return hashlib.sha256("\n".join([model_id, "voice" if voice else "text", source_of(top)]).encode()).hexdigest()


def source_of(passage: Passage) -> str:
    """A passage by id and text: an edited article section is another source."""
    return f"{passage.chunk_id}:{hashlib.sha256(passage.text.encode()).hexdigest()[:16]}"


def names_in(sections: list[str]) -> tuple[set[str], set[str]]:
    """Words the articles write as names (with a capital in mid-sentence at least as often as without:
    France, Starter, iPhone, PAC; in few of the sections, so not the operator's own name), and every
    other word they use."""
    capitals: dict[str, set[int]] = {}
    lower: dict[str, int] = {}
    for n, section in enumerate(sections):
        for name in _MID_SENTENCE_NAME.findall(section):
            capitals.setdefault(name.lower(), set()).add(n)
        for word in re.findall(r"\b[a-z][\w+-]*", section):
            lower[word] = lower.get(word, 0) + 1
    names = {name for name, where in capitals.items() if len(name) > 1
             and len(where) <= COMMON_NAME_SHARE * len(sections) and lower.get(name, 0) <= len(where)}
    return names, (set(lower) | set(capitals)) - names


def terms_of(question: str, vocabulary: tuple[set[str], set[str]]) -> list[str]:
    """What a question's answer turns on, beyond its meaning in general: its numbers (spoken ones
    as digits), the articles' names it uses, names the customer wrote that the articles don't
    have, a negation, and each direction word with the word after it ("on:today" vs "off:today")."""
    names, other_words = vocabulary
    text = normalize(question)
    words = [word.lower().replace("'", "") for word in _WORD.findall(text)]
    written = {name.lower() for name in _MID_SENTENCE_NAME.findall(text) if len(name) > 1} - other_words
    terms = set(_NUMBER.findall(text)) | {word for word in words if word in names or word in written}
    if _NEGATIONS & set(words):
        terms.add("not")
    content = [word for word in words if word not in _DETERMINERS]  # "from the UK": from:uk
    terms |= {f"{word}:{after}" for word, after in zip(content, content[1:] + [""]) if word in _DIRECTIONS}
    return sorted(terms)


class AnswerCache:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        ensure_schema(settings.database_url)

    def _session(self):
        return session_scope(self.settings.database_url)

    def lookup(self, vector: np.ndarray, passages: list[Passage], terms: list[str], model_id: str,
               voice: bool) -> dict | None:
        """The stored answer's fields, or None. It must have been written from passages this
        question retrieves too (the same best one, and every one it drew on)."""
        retrieved = {source_of(passage) for passage in passages}
        with self._session() as session:
            rows = session.scalars(select(CachedAnswer).where(CachedAnswer.key == key_of(passages[0], model_id, voice)))
            best, best_score = None, self.settings.answer_cache_similarity
            for row in rows:
                score = float(np.frombuffer(row.vector, dtype=np.float32) @ vector)
                if row.terms == terms and set(row.sources) <= retrieved and score >= best_score:
                    best, best_score = row, score
            if best is None:
                return None
            best.hits, best.used_at = best.hits + 1, clock.now()
            return dict(best.answer)

    def store(self, vector: np.ndarray, passages: list[Passage], used: list[Passage], terms: list[str],
              answer: dict, model_id: str, voice: bool) -> None:
        """`passages`: what the question retrieved (best first); `used`: those the answer drew on."""
        now = clock.now()
        with self._session() as session:
            session.add(CachedAnswer(key=key_of(passages[0], model_id, voice), sources=[source_of(p) for p in used],
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
