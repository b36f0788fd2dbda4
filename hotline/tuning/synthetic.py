"""Grounded Q&A distilled from the help articles by a teacher model, for tuning a small one.

For each chunk the teacher writes customer questions in rotating styles, then answers each
with the served answer prompt over the chunk and one distractor passage from another article.
An item is kept only when retrieval finds the chunk again for the question (round-trip
filtering, Alberti et al. 2019), the answerer's own checks keep the reply and it cites the
chunk, and the question is no near-duplicate of one already kept. Questions the passages do
not answer, though retrieval finds close passages, teach the model to decline.

A run appends items as they are kept and records each finished chunk, with its counts and
rejected candidates, in a sidecar file, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rouge_score import rouge_scorer
from tqdm import tqdm

from hotline.ml.llm import ChatModel
from hotline.settings import Settings
from hotline.tuning.items import Item, read_items, write_items
from knowledge.answer import _MARKER, NO_ANSWER_TEXT, build_prompt, check_reply, sentences_of, support
from knowledge.documents import Chunk, load_corpus
from knowledge.retrieval import Passage, Retriever

# Style tag -> how the teacher writes it. Short tags are what a small model copies reliably.
STYLES: dict[str, str] = {
    "casual": "relaxed, lower case",
    "typos": "two or three spelling mistakes",
    "voice": "spoken on a phone call: um or uh, numbers written as words, no punctuation",
    "multi": "two questions in one message",
    "formal": "polite, full sentences",
    "sms": "text shorthand like u, pls, thx",
}
# A question mixing an answerable part with an unanswerable one has no right "no answer".
UNANSWERABLE_STYLES = tuple(style for style in STYLES if style != "multi")
# Keyword -> a thing a customer could ask about that no article mentions (checked against the
# articles at run time), to pair with a passage's topic for questions it cannot answer.
SUBJECTS: dict[str, str] = {
    "smartwatch": "a smartwatch", "student": "a student discount", "business": "a business account",
    "Nokia": "a Nokia phone", "Motorola": "a Motorola phone", "Xiaomi": "a Xiaomi phone",
    "Nigeria": "a trip to Nigeria", "Cuba": "a trip to Cuba", "cheque": "paying by cheque",
    "loyalty": "a loyalty reward", "hotspot": "using the phone as a hotspot", "WhatsApp": "WhatsApp calls",
    "Netflix": "a Netflix subscription", "gaming": "online gaming", "discount": "a discount",
}
QUESTIONS_PER_CHUNK = 3
UNANSWERABLE_PER_CALL = 2
UNANSWERABLE_EVERY = 5  # one unanswerable item is aimed at per this many answerable ones
NEAR_DUPLICATE = 0.7  # ROUGE-L F with a kept question
MIN_ANSWER_WORDS = 5  # a bare figure ("£8.00") teaches the model nothing about answering
ANSWERED_OVERLAP = 0.5  # ROUGE-L F with a passage sentence: the passage probably answers it
QUESTION_TOKENS = 200
TEACHER_TIMEOUT_S = 180.0
_ORDINALS = ("first", "second", "third")

# A worked example shows a small model the styles better than descriptions do; its
# questions count as kept, so copies of them are rejected as near duplicates.
EXAMPLE_QUESTIONS = {
    "casual": "hey how do i listen to my voicemail",
    "typos": "is voicemial free to use in the uk",
    "voice": "uh hi yeah what do i dial for my voicemail is it one two three",
    "multi": "how do i get my voicemail from another phone? and do i need a pin?",
    "formal": "Could you please tell me whether voicemail is free in the UK?",
    "sms": "hw do i get my vm msgs pls",
}
QUESTION_SYSTEM = f"""You write realistic messages that customers send to Brightwave's help chat.
Each message asks about a different fact, in the style named at the start of its line.
Styles: {"; ".join(f"{style} = {how}" for style, how in STYLES.items())}.

Example
Passage: Voicemail: Dial 123 from your Brightwave phone to hear your messages. From any other phone, call +44 7911 200123 and enter your PIN. Voicemail is free in the UK.
{chr(10).join(f"{style}: {question}" for style, question in EXAMPLE_QUESTIONS.items())}"""

_BULLET = re.compile(r"^\s*(?:[-*•]+|\(?\d+[.):]|q\d*[.:)])\s*", re.I)
_TAG = re.compile(r"^\**\s*([a-z][a-z \-]{1,20}?)\s*\**\s*(?:\([^)]*\))?\s*\**\s*(?::|\s[-–—]\s)\s*\**\s*(.*)$",
                  re.I)
_QUOTES = "\"'“”‘’`<>*"
_META = re.compile(r"^(here (are|is)|sure|note|certainly|okay|i hope|these (questions|messages))\b|:$", re.I)
_WORD = re.compile(r"\w+")
_ROUGE = rouge_scorer.RougeScorer(["rougeL"])


def styles_for(position: int, n: int = QUESTIONS_PER_CHUNK, names: tuple[str, ...] = tuple(STYLES)) -> list[str]:
    """A different run of styles (or other names) for consecutive chunks: each equally often over the corpus."""
    return [names[(position + step) % len(names)] for step in range(n)]


def mentions(text: str, keyword: str) -> bool:
    return re.search(rf"\b{re.escape(keyword)}s?\b", text, re.I) is not None


def unmentioned_subjects(chunks: list[Chunk]) -> list[str]:
    """The SUBJECTS keywords that no chunk mentions: no article can answer a question about them."""
    return [keyword for keyword in SUBJECTS if not any(mentions(chunk.text, keyword) for chunk in chunks)]


def question_prompt(chunk: Chunk, styles: list[str]) -> list[dict[str, str]]:
    """Questions the chunk answers, one per style."""
    return _prompt(chunk, f"Write {len(styles)} messages that this passage answers", styles)


def unanswerable_prompt(chunk: Chunk, styles: list[str], subjects: list[str]) -> list[dict[str, str]]:
    """Questions on the chunk's topic, each about a subject (a SUBJECTS keyword) the articles never mention."""
    about = ", ".join(f"the {ordinal} about {SUBJECTS[subject]}" for ordinal, subject in zip(_ORDINALS, subjects))
    return _prompt(chunk, f"Write {len(styles)} messages about this passage's topic that it does NOT answer: "
                          f"{about}", styles)


def _prompt(chunk: Chunk, task: str, styles: list[str]) -> list[dict[str, str]]:
    return [{"role": "system", "content": QUESTION_SYSTEM},
            {"role": "user", "content": f"Passage: {chunk.text.replace('**', '')}\n\n{task}. One per line, "
                                        f"starting with: {', '.join(styles)}. Write only those {len(styles)} lines."}]


def _style_of(tag: str) -> str | None:
    letters = re.sub(r"[^a-z]", "", tag.lower())
    return next((s for s in STYLES if len(letters) >= 3 and (letters.startswith(s) or s.startswith(letters))), None)


def parse_questions(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(style, question) pairs from the teacher's lines, and the lines that held none.

    Tolerates numbering, bullets, bold tags, quotes, a tag alone on the line before its
    question, and a placeholder echoed from the prompt (dropped)."""
    questions: list[tuple[str, str]] = []
    dropped: list[str] = []
    pending: str | None = None
    for raw in text.splitlines():
        line = _BULLET.sub("", raw.strip())
        if not line:
            continue
        match = _TAG.match(line)
        style = _style_of(match.group(1)) if match else None
        body = (match.group(2) if style else line).strip().strip(_QUOTES).strip()
        if style and not body:
            pending = style
            continue
        style, pending = style or pending, None
        words = len(_WORD.findall(body))
        if not style or _META.search(body) or body.lower().startswith("the question") or not 3 <= words <= 60:
            dropped.append(raw.strip())
            continue
        questions.append((style, body))
    return questions, dropped


def rouge_l(a: str, b: str) -> float:
    return _ROUGE.score(a, b)["rougeL"].fmeasure


def near_duplicate(question: str, kept: list[str], threshold: float = NEAR_DUPLICATE) -> bool:
    return any(rouge_l(question, other) > threshold for other in kept)


def round_trip(question: str, chunk_id: str, found: list[Passage]) -> Passage | None:
    """The gold chunk as retrieval found it for the question, or None when it is not in the top k."""
    return next((p for p in found if p.chunk_id == chunk_id), None)


def order_passages(question: str, gold: Passage, distractor: Passage) -> list[Passage]:
    """Gold first or second by a hash of the question, so the tuned model cannot learn "cite [1]"."""
    first = hashlib.sha256(question.encode()).digest()[0] % 2
    return [gold, distractor] if first else [distractor, gold]


def judge_answer(question: str, reply: str, passages: list[Passage], gold: int, settings: Settings,
                 similarity: Callable[[str, str], float]) -> tuple[str, str]:
    """(the checked answer, "") when kept, else ("", why not); gold is the chunk's 1-based number."""
    checked = check_reply(question, reply, passages, settings, similarity)
    if checked.outcome == "kept" and len(_MARKER.sub("", checked.text).split()) < MIN_ANSWER_WORDS:
        return "", "too short"
    if checked.outcome != "kept":
        return "", f"check: {checked.note.split(':')[0]}"
    if f"[{gold}]" not in checked.text:
        if _MARKER.search(checked.text) or support(checked.text, [passages[gold - 1]]) < settings.answer_min_support:
            return "", "no citation of gold"
        # The small teacher seldom writes markers; the gold passage alone supports the reply,
        # so it is cited the way the answerer cites an unmarked reply: at the end.
        return f"{checked.text.rstrip()} [{gold}]", ""
    return checked.text, ""


def subject_of(question: str, subjects: list[str]) -> str | None:
    """The subject the question asks about; the teacher may have swapped their order or styles."""
    return next((subject for subject in subjects if mentions(question, subject)), None)


def unanswerable_verdict(question: str, subject: str | None, found: list[Passage], threshold: float) -> str:
    """Why a question meant to be unanswerable is not kept, or "" when it is: it must ask about
    a subject no article mentions, look answerable (a passage above the relevance gate) and
    share no sentence with the passages."""
    if subject is None:
        return "unanswerable: off subject"
    if not any(p.score >= threshold for p in found):
        return "unanswerable: not close"
    if any(rouge_l(question, sentence) > ANSWERED_OVERLAP for p in found for sentence in sentences_of(p)):
        return "unanswerable: answered by a passage"
    return ""


@dataclass
class GenerationReport:
    """Counts over every finished chunk of the dataset at out_path (earlier runs included):
    candidates = kept + the sum of rejected; kept includes kept_unanswerable."""

    chunks_done: int = 0
    chunks_left: int = 0
    candidates: int = 0
    kept: int = 0
    kept_unanswerable: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0  # in finished chunks
    discarded: int = 0  # items of an unfinished chunk dropped when this run resumed

    @property
    def seconds_per_chunk(self) -> float:
        return self.seconds / self.chunks_done if self.chunks_done else 0.0

    def as_json(self) -> str:
        return json.dumps({**asdict(self), "seconds_per_chunk": round(self.seconds_per_chunk, 2)}, indent=1)


def done_path(out_path: Path) -> Path:
    return Path(f"{out_path}.done")


def report_path(out_path: Path) -> Path:
    return out_path.with_suffix(".report.json")


def _read_done(path: Path) -> list[dict]:
    """Finished chunks; a line cut off by a kill is not one."""
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return entries


class _Run:
    """One chunk at a time: its candidates, their filters, the items written as they are kept."""

    def __init__(self, settings: Settings, model: ChatModel, retriever: Retriever, items: list[Item],
                 subjects: list[str]) -> None:
        self.settings, self.model, self.retriever, self.subjects = settings, model, retriever, tuple(subjects)
        self.kept = [*EXAMPLE_QUESTIONS.values(), *(item.meta["question"] for item in items)]
        self.answerable = sum(item.meta["answerable"] for item in items)
        self.unanswerable = len(items) - self.answerable

    def similarity(self, a: str, b: str) -> float:
        embedder = self.retriever.embedder
        return float(embedder.query(a) @ embedder.query(b))

    def ask(self, messages: list[dict[str, str]], max_tokens: int) -> str | None:
        """The teacher's text, or None when it ran out of time. LLMError stops the run (resume later)."""
        completion = self.model.chat(messages, max_tokens=max_tokens, timeout_s=TEACHER_TIMEOUT_S)
        return None if completion.timed_out else completion.text

    def chunk(self, chunk: Chunk, position: int, write: Callable[[Item], None]) -> dict:
        counts: Counter[str] = Counter()
        rejected: list[dict] = []

        def reject(reason: str, question: str, style: str = "", reply: str = "") -> None:
            counts[reason] += 1
            rejected.append({"question": question, "style": style, "reason": reason, "reply": reply})

        def keep(item: Item) -> None:
            write(item)
            self.kept.append(item.meta["question"])
            counts["kept"] += 1
            if item.meta["answerable"]:
                self.answerable += 1
            else:
                self.unanswerable += 1
                counts["kept_unanswerable"] += 1

        for style, question in self.candidates(question_prompt(chunk, styles_for(position)), reject, counts):
            if item := self.answerable_item(chunk, style, question, reject):
                keep(item)
        if self.subjects and self.unanswerable * UNANSWERABLE_EVERY < self.answerable:
            for item in self.unanswerable_items(chunk, position, reject, counts):
                keep(item)
        return {"counts": dict(counts), "rejected": rejected}

    def candidates(self, prompt: list[dict[str, str]], reject: Callable, counts: Counter) -> list[tuple[str, str]]:
        """The teacher's new questions; every other line is counted as rejected."""
        text = self.ask(prompt, QUESTION_TOKENS)
        if text is None:
            counts["candidates"] += 1
            reject("timed out", "")
            return []
        questions, dropped = parse_questions(text)
        counts["candidates"] += len(questions) + len(dropped)
        for line in dropped:
            reject("unparseable", line)
        fresh = []
        for style, question in questions:
            if near_duplicate(question, self.kept + [q for _, q in fresh]):
                reject("near duplicate", question, style)
            else:
                fresh.append((style, question))
        return fresh

    def unanswerable_items(self, chunk: Chunk, position: int, reject: Callable, counts: Counter) -> Iterator[Item]:
        styles = styles_for(position, UNANSWERABLE_PER_CALL, UNANSWERABLE_STYLES)
        subjects = styles_for(position, UNANSWERABLE_PER_CALL, self.subjects)
        threshold = self.settings.relevance_threshold
        for style, question in self.candidates(unanswerable_prompt(chunk, styles, subjects), reject, counts):
            found = self.retriever.search(question)
            subject = subject_of(question, subjects)
            if reason := unanswerable_verdict(question, subject, found, threshold):
                reject(reason, question, style)
                continue
            close = [p for p in found if p.score >= threshold][:2]
            yield _item(chunk, style, question, close, NO_ANSWER_TEXT, answerable=False, subject=subject)

    def answerable_item(self, chunk: Chunk, style: str, question: str, reject: Callable) -> Item | None:
        found = self.retriever.search(question)
        gold = round_trip(question, chunk.id, found)
        if gold is None:
            reject("round trip", question, style)
            return None
        distractor = next((p for p in found if p.article_id != chunk.article_id), None) or self.retriever.search(
            question, 1, where={"article_id": {"$ne": chunk.article_id}})[0]
        passages = order_passages(question, gold, distractor)
        reply = self.ask(build_prompt(question, passages, example=True), self.settings.llm_max_tokens)
        if reply is None:
            reject("timed out", question, style)
            return None
        text, reason = judge_answer(question, reply, passages, passages.index(gold) + 1, self.settings,
                                    self.similarity)
        if reason:
            reject(reason, question, style, reply)
            return None
        return _item(chunk, style, question, passages, text, answerable=True)


def _item(chunk: Chunk, style: str, question: str, passages: list[Passage], completion: str,
          answerable: bool, **meta: str) -> Item:
    """The served prompt without the worked example: the tuned model learns to cite without one."""
    return Item("answer", build_prompt(question, passages, example=False), completion, origin="synthetic",
                group=chunk.article_id, source=f"synthetic:{chunk.id}",
                meta={"question": question, "style": style, "chunk_id": chunk.id,
                      "passage_ids": [p.chunk_id for p in passages], "answerable": answerable, **meta})


def _summary(entries: list[dict], left: int, discarded: int) -> GenerationReport:
    totals: Counter[str] = Counter()
    for entry in entries:
        totals.update(entry["counts"])
    special = ("candidates", "kept", "kept_unanswerable")
    return GenerationReport(len(entries), left, totals["candidates"], totals["kept"], totals["kept_unanswerable"],
                            {k: v for k, v in sorted(totals.items()) if k not in special},
                            round(sum(e["seconds"] for e in entries), 2), discarded)


def generate(settings: Settings, model: ChatModel, retriever: Retriever, out_path: Path, *,
             chunks: list[Chunk] | None = None, limit: int | None = None, progress: bool = True) -> GenerationReport:
    """Generate items for the chunks not yet done (at most `limit` of them), appending to out_path."""
    corpus = load_corpus(settings.articles_dir)
    positions = {chunk.id: n for n, chunk in enumerate(corpus)}
    chunks = corpus if chunks is None else chunks
    sidecar = done_path(out_path)
    entries = _read_done(sidecar)
    done = {entry["chunk"] for entry in entries}
    existing = read_items(out_path) if out_path.exists() else []
    items = [item for item in existing if item.meta["chunk_id"] in done]
    if len(items) < len(existing):
        write_items(out_path, items)  # a killed run's unfinished chunk is redone whole
    todo = [chunk for chunk in chunks if chunk.id not in done]
    run = _Run(settings, model, retriever, items, unmentioned_subjects(corpus))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("a", encoding="utf-8") as out, sidecar.open("a", encoding="utf-8") as marks:
        def write(item: Item) -> None:
            out.write(item.as_json() + "\n")
            out.flush()

        bar = tqdm(todo[:limit], desc="Synthetic Q&A", unit="chunk", disable=not progress)
        for chunk in bar:
            started = time.monotonic()
            entry = {"chunk": chunk.id, **run.chunk(chunk, positions[chunk.id], write)}
            entry["seconds"] = round(time.monotonic() - started, 2)
            marks.write(json.dumps(entry, ensure_ascii=False) + "\n")
            marks.flush()
            entries.append(entry)
            bar.set_postfix(answerable=run.answerable, unanswerable=run.unanswerable)
    report = _summary(entries, len(todo) - len(todo[:limit]), len(existing) - len(items))
    report_path(out_path).write_text(report.as_json() + "\n", encoding="utf-8")
    return report


def build_teacher(settings: Settings) -> ChatModel:
    """The configured stock model (local llama.cpp or an OpenAI-compatible server, for a bigger
    teacher), never a tuned champion: a student must not teach itself."""
    from hotline.ml.llm import build_model
    from hotline.ml.registry import stock_id
    from knowledge.service import ensure_model

    ensure_model(settings)
    return build_model(settings, "answer", stock_id(settings))
