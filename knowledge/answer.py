"""Grounded answers: retrieve, gate on relevance, generate from the passages, check.

The application, not the model, decides whether the sources cover a question, which
citations are attached (only passages it gave), and whether numbers in the answer
really come from those passages; when the model's text fails a check, the answer falls
back to sentences quoted from the best passage.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Literal

from hotline.settings import Settings
from knowledge import guardrails
from knowledge.cache import AnswerCache, names_in, terms_of
from knowledge.judge import CoverageJudge
from hotline.ml.llm import ChatModel, LLMError, concurrency
from hotline.ml.pii import PiiFilter
from knowledge.retrieval import Passage, Retriever
from knowledge.safety import SafetyClassifier
from knowledge.trim import PassageTrimmer

SYSTEM_PROMPT = """You are Brightwave's customer-service assistant. You answer customers' questions from Brightwave help-article passages.
Use only facts stated in the passages. Keep the answer to 1-3 short sentences.
Copy prices, numbers, codes and phone models exactly as written. Do not calculate.
Put the passage number in square brackets after each fact, like [1]."""
# A stock model cites only when shown how; a model tuned on our answers needs no example
# (its prompt is shorter by these tokens).
WORKED_EXAMPLE = """

Example
Passages:
[1] Voicemail: Dial 123 from your Brightwave phone to hear your messages.
[2] Wi-Fi Calling: Wi-Fi Calling is free on all plans.
Question: how do i get my voicemail
Answer: Dial 123 from your Brightwave phone [1]."""

NO_ANSWER_TEXT = ("I'm sorry, I don't have information about that in our help articles, so I'd rather not guess. "
                  "Would you like me to connect you to one of our team?")
NO_ANSWER_VOICE = "Sorry, I don't have information about that. Would you like me to put you through to one of our team?"
_MARKER = re.compile(r"\[(\d+)\]")
_FIGURE = re.compile(r"£\s?\d[\d,]*(?:\.\d+)?|\d+(?:\.\d+)?\s?(?:p|g|gb|mb|mbps|%|days?|months?|hours?|minutes?|digits?)\b|\b\d{3,}\b", re.I)
_CONTENT_WORD = re.compile(r"[a-z0-9£]{3,}")
_FUNCTION_WORDS = set("the and for are you your our with can will does not yes but this that they them their there "
                      "here when what how which who than then also any all more most just only per its it's".split())
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_MARKDOWN = re.compile(r"[*_`#>]+")
_MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\((?:[^)]+)\)")
_URL = re.compile(r"https?://[^\s)\]]+")


@dataclass(frozen=True)
class Citation:
    title: str
    url: str


@dataclass
class Answer:
    text: str
    status: Literal["answered", "no_answer", "refused"]
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    source: Literal["model", "extract", "none"] = "none"
    note: str = ""  # why a fallback happened, for logs and evaluation
    model_id: str = ""  # the model that wrote it, when one did
    prompt_tokens: int = 0  # what the model read, when one wrote it


def figures(text: str) -> set[str]:
    return {re.sub(r"\s", "", match.group(0).lower()) for match in _FIGURE.finditer(text)}


# Prices and eligibility are quoted from the articles rather than generated: a small
# model was measured saying "yes" to things the sources exclude.
QUOTED = "price or eligibility: quoted"
_QUOTE_FIRST = re.compile(
    r"\b(how much|cost|price|charge[ds]?|fee|pay for|£|can i|can my|does my|do i (get|need|have)|is (my|it|there)|"
    r"will (i|my)|am i|eligible|support(ed|s)?|included|work (on|with|in))\b", re.I)


def support(text: str, passages: list[Passage]) -> float:
    """The share of the answer's content words that appear in the passages it was given."""
    words = [w for w in _CONTENT_WORD.findall(text.lower()) if w not in _FUNCTION_WORDS]
    given = set(_CONTENT_WORD.findall(" ".join(p.text for p in passages).lower()))
    return sum(word in given for word in words) / len(words) if words else 1.0


def sentences_of(passage: Passage) -> list[str]:
    body = _MARKDOWN.sub("", passage.text.split("\n", 1)[-1])
    return [s.strip(" -•") for s in _SENTENCE.split(body) if len(s.strip(" -•")) > 12]


def for_voice(text: str) -> str:
    """Spoken style: no citation markers, links or markdown; two sentences at most."""
    text = _MARKER.sub("", _MARKDOWN.sub("", re.sub(r"https?://\S+", "", text)))
    sentences = [s.strip() for s in _SENTENCE.split(text) if s.strip()]
    return " ".join(sentences[:2]) + " I can text you a link to the full article if you like."


def build_prompt(question: str, passages: list[Passage], example: bool = True) -> list[dict[str, str]]:
    """Fixed instructions first, then passages, then the question: llama.cpp reuses the
    cached prefix between calls."""
    numbered = "\n".join(f"[{n}] {_MARKDOWN.sub('', p.text)}" for n, p in enumerate(passages, 1))
    return [{"role": "system", "content": SYSTEM_PROMPT + (WORKED_EXAMPLE if example else "")},
            {"role": "user", "content": f"Passages:\n{numbered}\nQuestion: {question}\nAnswer:"}]


@dataclass(frozen=True)
class Checked:
    """What the checks decided about one model reply: keep it, quote the passages instead, or decline."""

    outcome: Literal["kept", "quote", "decline"]
    text: str = ""  # the reply as shown when kept: markers of given passages only, links flattened
    cited: tuple[int, ...] = ()  # 1-based passage numbers; the first passage when the reply names none
    note: str = ""  # why it was not kept


def check_reply(question: str, reply: str, passages: list[Passage], settings: Settings,
                similarity: Callable[[str, str], float]) -> Checked:
    """The application's checks on the model's text, separate from calling the model so
    they can be tested on recorded replies of the real model."""
    text = reply.strip()
    if not text:
        return Checked("quote", note="model returned nothing")
    cited = sorted({int(n) for n in _MARKER.findall(text) if 1 <= int(n) <= len(passages)})
    text = _MARKER.sub(lambda m: m.group(0) if 1 <= int(m.group(1)) <= len(passages) else "", text).strip()
    text = _MARKDOWN_LINK.sub(r"\1", text)
    given_text = " ".join(p.text for p in passages)
    if any(url not in given_text for url in _URL.findall(text)):
        return Checked("quote", note="a link not in the sources")
    invented = figures(text) - set().union(*(figures(p.text) for p in passages))
    if invented:
        return Checked("quote", note=f"numbers not in the sources: {sorted(invented)}")
    if phrase := guardrails.banned_phrase(text):
        return Checked("quote", note=f"banned phrase: {phrase}")
    if similarity(question, text) < settings.answer_min_similarity:
        return Checked("decline", note="answer does not address the question")
    if support(_MARKER.sub("", text), passages) < settings.answer_min_support:
        return Checked("decline", note="answer not supported by the sources")
    return Checked("kept", text, tuple(cited) or (1,))


class SentenceStream:
    """Pieces of the model's reply in, checked sentences out, as they are generated.

    A complete sentence is shown only after it passes the checks that can be judged on one
    sentence (links and figures in the passages, no banned phrase, supported by them; the first
    also on the question); the first that fails ends the stream. The whole reply is then judged
    as without streaming, and the final message (with citations) replaces what was shown.
    """

    def __init__(self, question: str, passages: list[Passage], settings: Settings,
                 similarity: Callable[[str, str], float], show: Callable[[str], None],
                 redact: Callable[[str], str], voice: bool) -> None:
        self.question, self.passages, self.settings, self.similarity = question, passages, settings, similarity
        self.show, self.redact, self.voice = show, redact, voice
        self.buffer, self.shown, self.stopped = "", 0, False

    def feed(self, piece: str) -> None:
        self.buffer += piece
        while not self.stopped and (end := _SENTENCE.search(self.buffer)):
            sentence, self.buffer = self.buffer[:end.start()].strip(), self.buffer[end.end():]
            if sentence:
                self._offer(sentence)

    def _offer(self, sentence: str) -> None:
        similarity = self.similarity if self.shown == 0 else (lambda question, text: 1.0)
        checked = check_reply(self.question, sentence, self.passages, self.settings, similarity)
        if checked.outcome != "kept" or (self.voice and self.shown >= 2):  # a call hears two sentences
            self.stopped = True
            return
        text = self.redact(checked.text)
        self.show(_MARKER.sub("", text).strip() if self.voice else text)
        self.shown += 1


class KnowledgeAnswerer:
    def __init__(self, settings: Settings, retriever: Retriever, pii: PiiFilter, model: ChatModel) -> None:
        self.settings, self.retriever, self.pii, self.model = settings, retriever, pii, model
        self.embedder = retriever.embedder
        self.safety = SafetyClassifier(self.embedder)
        self.cache = AnswerCache(settings) if settings.answer_cache else None  # shared through the database
        sections = retriever.collection.get(include=["documents"])["documents"]
        self.vocabulary = names_in(sections)
        self.judge = CoverageJudge(" ".join(sections), model)
        self.trimmer = PassageTrimmer(self.embedder, settings.answer_prompt_sentences)
        # Answers run on worker threads, so the caller's event loop stays free: one per slot of
        # the model server (it batches them), one for a model in this process (not thread-safe).
        self._worker = ThreadPoolExecutor(max_workers=concurrency(settings), thread_name_prefix="answerer")

    async def answer_async(self, question: str, history: list[str] | None = None, voice: bool = False,
                           show: Callable[[str], None] | None = None) -> Answer:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, self.answer, question, history, voice, show)

    def similarity(self, a: str, b: str) -> float:
        return float(self.embedder.query(a) @ self.embedder.query(b))

    def retrieve(self, question: str, history: list[str]) -> list[Passage]:
        """Passages above the relevance gate; earlier turns help only when the question alone finds none."""
        return self.retriever.relevant(question) or self.with_history(question, history)

    def with_history(self, question: str, history: list[str]) -> list[Passage]:
        recent = history[-self.settings.history_turns:] if self.settings.history_turns else []
        return self.retriever.relevant(" ".join([*recent, question])) if recent else []

    def answer(self, question: str, history: list[str] | None = None, voice: bool = False,
               show: Callable[[str], None] | None = None) -> Answer:
        """`show` gets the checked sentences of a generated answer while it is written."""
        verdict = self.safety.check(question)
        if not verdict.allowed:
            return Answer(verdict.refusal, "refused", note=verdict.kind or "")
        redacted = self.pii.redact(question.strip())
        passages = self.retriever.relevant(redacted)
        if not passages:  # history and personal data make an answer this conversation's own: not cached
            history = [self.pii.redact(turn) for turn in history or []]
            return self.answer_from(redacted, self.with_history(redacted, history), voice, show)
        if self.cache is None or redacted != question.strip():
            return self.answer_from(redacted, passages, voice, show)
        vector, terms = self.embedder.query(redacted), terms_of(redacted, self.vocabulary)
        if cached := self.cache.lookup(vector, passages, terms, self.model.model_id, voice):
            citations = [Citation(**citation) for citation in cached.pop("citations")]
            return Answer(**{**cached, "note": "answer cache"}, citations=citations, passages=passages)
        answer = self.answer_from(redacted, passages, voice, show)
        if answer.source == "model" or answer.note == QUOTED:  # not a fallback for a model that failed
            kept = {"text": answer.text, "status": answer.status, "source": answer.source,
                    "model_id": answer.model_id, "citations": [asdict(c) for c in answer.citations]}
            cited = {citation.url for citation in answer.citations}
            self.cache.store(vector, passages, [p for p in passages if p.url in cited] or passages[:1], terms, kept,
                             self.model.model_id, voice)
        return answer

    def answer_from(self, question: str, passages: list[Passage], voice: bool,
                    show: Callable[[str], None] | None) -> Answer:
        if not passages:
            return self.decline([], voice, "no passage above threshold")
        if missing := self.judge.unmentioned(question, passages):
            return self.decline(passages, voice, f"the sources do not mention {', '.join(missing)}")
        if _QUOTE_FIRST.search(question):
            if self.settings.judge_quoted_answers and not self.judge.states_answer(
                    question, passages, self.settings.llm_timeout_s):
                return self.decline(passages, voice, "the passages do not state the answer")
            answer = self.extractive(question, passages, QUOTED)
        else:
            read = self.trimmer.trim(question, passages)
            stream = show and SentenceStream(question, read, self.settings, self.similarity, show,
                                             self.pii.redact, voice)
            answer = self.generate(question, passages, stream.feed if stream else None, read)
        if answer.status == "answered":
            answer.text = self.pii.redact(answer.text)
            if voice:
                answer.text = for_voice(answer.text)
            elif not self.settings.citations_enabled:
                answer.citations = []
        elif voice:
            answer.text = NO_ANSWER_VOICE
        return answer

    @staticmethod
    def decline(passages: list[Passage], voice: bool, note: str) -> Answer:
        return Answer(NO_ANSWER_VOICE if voice else NO_ANSWER_TEXT, "no_answer", passages=passages, note=note)

    def generate(self, question: str, passages: list[Passage], on_text: Callable[[str], None] | None = None,
                 read: list[Passage] | None = None) -> Answer:
        """`read` is what the model is given (the passages trimmed); the checks hold the reply to it,
        and a quote, if it comes to that, is taken from the whole passages."""
        read = read or passages
        try:
            completion = self.model.chat(build_prompt(question, read, self.model.worked_example),
                                         max_tokens=self.settings.llm_max_tokens, timeout_s=self.settings.llm_timeout_s,
                                         on_text=on_text)
        except LLMError as error:
            return self.extractive(question, passages, f"model failed: {error}")
        if completion.timed_out:
            return self.extractive(question, passages, "model timed out")
        checked = check_reply(question, completion.text, read, self.settings, self.similarity)
        if checked.outcome == "quote":
            return self.extractive(question, passages, checked.note)
        if checked.outcome == "decline":
            return Answer(NO_ANSWER_TEXT, "no_answer", passages=passages, note=checked.note)
        return Answer(checked.text, "answered", self.citations([read[n - 1] for n in checked.cited]),
                      passages, "model", model_id=self.model.model_id, prompt_tokens=completion.prompt_tokens)

    def extractive(self, question: str, passages: list[Passage], note: str, limit: int = 2) -> Answer:
        """The sentences of the passages closest in meaning to the question, quoted."""
        candidates = [(passage, sentence) for passage in passages[:2] for sentence in sentences_of(passage)]
        if not candidates:
            return Answer(NO_ANSWER_TEXT, "no_answer", passages=passages, note="nothing to quote")
        wanted = self.embedder.query(question)
        vectors = self.embedder.passages([sentence for _, sentence in candidates])
        best = sorted(sorted(range(len(candidates)), key=lambda i: -float(vectors[i] @ wanted))[:limit])
        chosen = [candidates[i] for i in best]
        text = " ".join(sentence for _, sentence in chosen)
        return Answer(text, "answered", self.citations([p for p, _ in chosen]), passages, "extract", note)

    @staticmethod
    def citations(passages: list[Passage]) -> list[Citation]:
        seen: dict[str, Citation] = {}
        for passage in passages:
            seen.setdefault(passage.url, Citation(passage.title, passage.url))
        return list(seen.values())
