"""Whether the passages answer this question, decided before any answer is sent.

Two checks. A question naming something specific (a phone model, a place, a product) that
neither the passages nor the articles mention is not covered, however close the topic:
"specific" means rare in English (wordfreq) and not a typo of an article word. And a quoted
answer (prices, eligibility) is only sent when the model, asked that one yes/no question,
says the passages state the answer: quoting never asked whether its sentences answer.
"""

from __future__ import annotations

import difflib
import re
from functools import cached_property

from wordfreq import zipf_frequency

from hotline.ml.llm import ChatModel, LLMError
from knowledge.retrieval import Passage

JUDGE_TOKENS = 3
RARE_ZIPF = 3.5  # rarer than about 3 per million words: a name, a model, a specialist term
_WORD = re.compile(r"[a-z0-9][a-z0-9'+-]*")
JUDGE_PROMPT = """You check whether help-article passages answer a customer's question.
Reply with one word: YES if the passages state the answer to exactly what is asked (the same device, country, fee, plan or feature), NO if they only talk about the topic but do not state that answer."""


def words(text: str) -> set[str]:
    return {w.strip("'-+") for w in _WORD.findall(text.lower())}


def _variants(word: str) -> set[str]:
    return {word, word.rstrip("s"), word + "s", word.removesuffix("es"), word.removesuffix("ed"),
            word.removesuffix("ing"), word.removesuffix("'s")}


class CoverageJudge:
    def __init__(self, corpus_text: str, model: ChatModel) -> None:
        self.corpus_words, self.model = words(corpus_text), model

    @cached_property
    def _vocabulary(self) -> list[str]:
        return sorted(self.corpus_words)

    def specific_terms(self, question: str) -> list[str]:
        return [w for w in sorted(words(question)) if len(w) >= 3 and not w.isdigit()
                and zipf_frequency(w, "en") < RARE_ZIPF]

    def unmentioned(self, question: str, passages: list[Passage]) -> list[str]:
        """Specific terms of the question that the passages do not mention (typos of an article word excepted)."""
        given = words(" ".join(p.text for p in passages))
        missing = []
        for term in self.specific_terms(question):
            if _variants(term) & given:
                continue
            if not _variants(term) & self.corpus_words and difflib.get_close_matches(term, self._vocabulary, 1, 0.85):
                continue  # a misspelt article word ("supprt"), not a new name
            missing.append(term)
        return missing

    def states_answer(self, question: str, passages: list[Passage], timeout_s: float) -> bool:
        """The model's yes/no on whether the passages state the answer; a failed call is a no."""
        try:
            reply = self.model.chat(judge_messages(question, passages), max_tokens=JUDGE_TOKENS, timeout_s=timeout_s)
        except LLMError:
            return False
        return reply.text.strip().upper().startswith("YES")


def judge_messages(question: str, passages: list[Passage]) -> list[dict[str, str]]:
    numbered = "\n".join(f"[{n}] {p.text}" for n, p in enumerate(passages, 1))
    return [{"role": "system", "content": JUDGE_PROMPT},
            {"role": "user", "content": f"Passages:\n{numbered}\nQuestion: {question}\n"
                                        "Do the passages state the answer? (YES or NO)"}]
