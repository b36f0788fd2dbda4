"""Passages cut down to the sentences that matter to the question, before the model reads them.

On a CPU the prompt is most of an answer's wait (the 1.5B reads about 157 tokens/s and four
passages are some 500 tokens), and a small model wanders less with less to read. Each passage
keeps its heading; its sentences and list items compete across all passages for `keep` places
by similarity to the question; a list is kept whole, with the line that introduces it.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from hotline.ml.embedder import Embedder
from knowledge.retrieval import Passage

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9£])")
LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s")


def units_of(passage: Passage) -> tuple[str, list[str]]:
    """The heading line, and the body as sentences and list items (an item stays whole)."""
    heading, _, body = passage.text.partition("\n")
    units = []
    for line in filter(None, (line.strip() for line in body.splitlines())):
        units += [line] if LIST_ITEM.match(line) else [s for s in _SENTENCE.split(line) if s.strip()]
    return heading, units


def blocks_of(units: list[str]) -> list[int]:
    """A block number per unit: a list (its items and the line before them) is one block, kept
    whole (an APN's settings, a complaint's ways in); any other sentence is a block of its own."""
    blocks, block = [], -1
    for index, unit in enumerate(units):
        if not (index and LIST_ITEM.match(unit)):  # an item joins the line above it
            block += 1
        blocks.append(block)
    return blocks


class PassageTrimmer:
    def __init__(self, embedder: Embedder, keep: int) -> None:
        self.keep, self.embedder = keep, embedder
        # Article sentences repeat across questions: each is embedded once, new ones in one batch
        # (bounded by the help articles themselves).
        self._vectors: dict[str, np.ndarray] = {}

    def trim(self, question: str, passages: list[Passage]) -> list[Passage]:
        """The passages with only their best sentences and lists (in their own order); a passage
        left with none is dropped, except the first, which keeps its best."""
        split = [units_of(passage) for passage in passages]
        places = [(p, u) for p, (_, units) in enumerate(split) for u in range(len(units))]
        if not self.keep or len(places) <= self.keep:
            return passages
        texts = [split[p][1][u] for p, u in places]
        if missing := list(dict.fromkeys(text for text in texts if text not in self._vectors)):
            self._vectors.update(zip(missing, self.embedder.passages(missing)))
        wanted = self.embedder.query(question)
        scores = np.array([float(self._vectors[text] @ wanted) for text in texts])
        order = np.argsort(-scores)
        chosen = {places[i] for i in order[:self.keep]}
        chosen |= {next((places[i] for i in order if places[i][0] == 0), places[order[0]])}
        blocks = [blocks_of(units) for _, units in split]
        kept = {(p, blocks[p][u]) for p, u in chosen}
        result = []
        for p, (heading, units) in enumerate(split):
            body = [unit for u, unit in enumerate(units) if (p, blocks[p][u]) in kept]
            if body:
                result.append(replace(passages[p], text="\n".join([heading, *body])))
        return result
