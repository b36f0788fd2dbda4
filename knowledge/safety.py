"""Input safety: the guardrail rules, then a nearest-neighbour check against examples.

The examples are the Rasa NLU training data: the refusal intents (jailbreak,
other_customer_data, abuse, off_topic_advice) against everything else the assistant
is trained to handle, so one set of examples teaches both Rasa and this check.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from hotline.settings import PROJECT_ROOT
from knowledge import guardrails
from hotline.ml.embedder import Embedder

UNSAFE_INTENTS = {"jailbreak": "prompt_injection", "other_customer_data": "other_customer_data",
                  "abuse": "abuse", "off_topic_advice": "off_topic"}
NLU_DIR = PROJECT_ROOT / "bot" / "data" / "nlu"
_ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]+\)")


def training_examples(nlu_dir: Path = NLU_DIR) -> list[tuple[str, str]]:
    """(text, intent) for every NLU example, entity markup removed."""
    examples = []
    for path in sorted(nlu_dir.glob("*.yml")):
        for block in yaml.safe_load(path.read_text()).get("nlu", []):
            if "intent" in block:
                for line in block["examples"].splitlines():
                    text = _ANNOTATION.sub(r"\1", line.strip().removeprefix("- ").strip())
                    if text:
                        examples.append((text, block["intent"]))
    return examples


@lru_cache(maxsize=2)
def _examples(embedder: Embedder) -> tuple[list[str | None], np.ndarray]:
    """The examples' labels and vectors, once per embedder and process: embedding two thousand
    examples takes about 10 s on two cores, and every answerer needs them."""
    examples = training_examples()
    return [UNSAFE_INTENTS.get(intent) for _, intent in examples], np.asarray(
        embedder.passages([text for text, _ in examples]))


class SafetyClassifier:
    def __init__(self, embedder: Embedder, neighbours: int = 5, min_similarity: float = 0.55) -> None:
        self.embedder, self.neighbours, self.min_similarity = embedder, neighbours, min_similarity
        self.labels, self.vectors = _examples(embedder)

    def check(self, text: str) -> guardrails.Verdict:
        verdict = guardrails.check_input(text)
        if not verdict.allowed:
            return verdict
        similarities = self.vectors @ self.embedder.query(text)
        nearest = np.argsort(-similarities)[: self.neighbours]
        votes: dict[str | None, float] = {}
        for index in nearest:
            votes[self.labels[index]] = votes.get(self.labels[index], 0.0) + float(similarities[index])
        winner = max(votes, key=votes.get)
        if winner is not None and similarities[nearest[0]] >= self.min_similarity:
            return guardrails.Verdict(winner, confirmed=False)
        return verdict
