"""Checks on a training set before it is stored: what is wrong with each row, and the fix.

Every problem is a Finding a person can read in the report; the safe ones are applied by
`apply_fixes`. Texts quoted in a finding are the cleaned and redacted ones, so a report
never holds the raw personal data of a row. Items that copy an evaluation set are refused:
a model tuned on them would be graded on what it memorised.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rouge_score import rouge_scorer, tokenizers

from hotline.insights.transcript import TranscriptTurn, render
from hotline.settings import PROJECT_ROOT
from hotline.tuning.items import Item
from knowledge.answer import _MARKER, build_prompt

if TYPE_CHECKING:
    from hotline.ml.pii import PiiFilter

EVAL_DIR = PROJECT_ROOT / "knowledge" / "eval"
NEAR_DUPLICATE_F = 0.7  # ROUGE-L F above which two inputs are reported as near duplicates
NEAR_IDENTICAL_F = 0.9  # ... and at or above which, for input and output both, the later one is dropped
LEAK_F = 0.8  # ROUGE-L F at or above which an item paraphrases an evaluation text

EMPTY, WHITESPACE, CONTROL, ENCODING = "empty", "whitespace", "control characters", "encoding"
PERSONAL_DATA, DANGLING_CITATION = "personal data", "dangling citation"
TOO_LONG, NO_PASSAGES = "too long", "no passages"
DUPLICATE, NEAR_DUPLICATE, LEAK, UNREADABLE = "duplicate", "near duplicate", "leak", "unreadable"
PROBLEMS = (UNREADABLE, EMPTY, WHITESPACE, CONTROL, ENCODING, PERSONAL_DATA, DANGLING_CITATION, TOO_LONG,
            NO_PASSAGES, DUPLICATE, NEAR_DUPLICATE, LEAK)
TEXT_FIXES = {WHITESPACE, CONTROL, ENCODING, PERSONAL_DATA, DANGLING_CITATION}  # fix = the field's new text
# A safe finding of these removes the item; a grounded answer without passages would teach the
# model to answer from nothing.
DROPS = {EMPTY, DUPLICATE, NEAR_DUPLICATE, LEAK, NO_PASSAGES}


@dataclass(frozen=True)
class Finding:
    """One problem of one row, as the report shows it; `safe` ones are applied by apply_fixes.

    For text problems `fix` is the field's text with every safe fix applied (and personal data
    redacted); `item` is the position of the item in the scanned list, None for a row that
    never became an item.
    """

    row: int | str
    field: str
    problem: str
    detail: str
    fix: str
    safe: bool
    item: int | None = None


@dataclass(frozen=True)
class EvalText:
    source: str  # "qa.jsonl:q012", "pii.jsonl:7"
    text: str


class Tokenizer(Protocol):
    def encode(self, text: str) -> Sequence[int]: ...


TokenCounter = Tokenizer | Callable[[str], Sequence[int]]


def plain_chat(messages: list[dict[str, str]]) -> str:
    """A template-free rendering of a conversation, for counting tokens when no chat template is given."""
    return "\n".join(f"{message['role']}: {message['content']}" for message in messages)


# --- the texts of an item ---------------------------------------------------------------

# What follows the question in the grounded-answer prompt (build_prompt's own layout).
_ANSWER_SUFFIX = build_prompt("\0", [], example=False)[-1]["content"].split("\0")[-1]


def _last_user(messages: list[dict[str, str]]) -> int | None:
    return next((i for i in range(len(messages) - 1, -1, -1) if messages[i]["role"] == "user"), None)


def input_text(item: Item) -> str:
    """The customer-supplied input: the question of an answer item, the transcript of a summary
    item, the last user message of a free completion."""
    key = "question" if item.task == "answer" else "input"
    if key in item.meta:
        return item.meta[key]
    last = _last_user(item.messages)
    return "" if last is None else item.messages[last]["content"]


def _field_names(item: Item) -> list[str]:
    last = _last_user(item.messages)
    return ["input" if i == last else f"message {i + 1}" for i in range(len(item.messages))]


def texts(item: Item) -> dict[str, str]:
    """The texts of an item that came from the operator's data, by field name: what is scanned
    and fixed. Help-article passages and the fixed instructions are not among them."""
    if item.task == "completion":
        named = {name: message["content"] for name, message in zip(_field_names(item), item.messages)}
    else:
        named = {"input": input_text(item)}
    return {**named, "output": item.completion}


def with_texts(item: Item, new: Mapping[str, str]) -> Item:
    """The item with some of its texts replaced (everywhere they occur: prompt, meta, completion); a new id."""
    messages = [dict(message) for message in item.messages]
    meta = dict(item.meta)
    if item.task == "completion":
        for name, message in zip(_field_names(item), messages):
            message["content"] = new.get(name, message["content"])
    elif "input" in new and new["input"] != (old := input_text(item)):
        last = _last_user(messages)
        suffix = _ANSWER_SUFFIX if item.task == "answer" else ""
        content = messages[last]["content"]
        if not content.endswith(old + suffix):
            raise ValueError(f"{item.source or item.id}: the prompt does not end with its input")
        messages[last]["content"] = content[:len(content) - len(old + suffix)] + new["input"] + suffix
    key = "question" if item.task == "answer" else "input"
    if key in meta and "input" in new:
        meta[key] = new["input"]
    return replace(item, messages=messages, completion=new.get("output", item.completion), meta=meta, id="")


def row_of(item: Item) -> int | str:
    """The row a person finds the item at: 12 for ``faq.csv:12``, else its source or id."""
    name, _, number = item.source.rpartition(":")
    return int(number) if name and number.isdigit() else item.source or item.id


# --- repairs of one text ------------------------------------------------------------------

# Bytes 0x80-0xBF as a UTF-8 text shows up once mis-read as Windows-1252 (or Latin-1).
_CONTINUATION = {char: byte for byte in range(0x80, 0xC0)
                 for char in (chr(byte), bytes([byte]).decode("cp1252", "ignore")) if char}
_CONT = "[" + "".join(re.escape(char) for char in _CONTINUATION) + "]"
_MOJIBAKE = re.compile(f"[\u00c2-\u00df]{_CONT}|[\u00e0-\u00ef]{_CONT}{{2}}|[\u00f0-\u00f4]{_CONT}{{3}}")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200d\u2060\ufeff\ufffe\uffff\ud800-\udfff]")
_DANGLING = re.compile(r" ?" + _MARKER.pattern)


def _unmojibake(match: re.Match[str]) -> str:
    raw = bytes([ord(match.group(0)[0])] + [_CONTINUATION[char] for char in match.group(0)[1:]])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return match.group(0)


def repair_encoding(text: str) -> str:
    """UTF-8 text that was decoded as Windows-1252 ("Â£10" -> "£10", "donâ€™t" -> "don’t"),
    undone; up to three times for text that was mis-decoded more than once."""
    for _ in range(3):
        repaired = _MOJIBAKE.sub(_unmojibake, text)
        if repaired == text:
            break
        text = repaired
    return text


def mojibake(text: str) -> list[tuple[str, str]]:
    """(broken, repaired) for each mis-decoded sequence in the text."""
    return [(m.group(0), fixed) for m in _MOJIBAKE.finditer(text) if (fixed := _unmojibake(m)) != m.group(0)]


def remove_control(text: str) -> str:
    """Carriage returns become newlines; other control and invisible characters go."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def dangling_markers(text: str, passages: int) -> list[str]:
    return [m.group(0) for m in _MARKER.finditer(text) if not 1 <= int(m.group(1)) <= passages]


def remove_dangling(text: str, passages: int) -> str:
    return _DANGLING.sub(lambda m: m.group(0) if 1 <= int(m.group(1)) <= passages else "", text)


def passage_count(item: Item) -> int:
    """How many numbered passages the prompt gives: only grounded answers have any."""
    if item.task != "answer":
        return 0
    last = _last_user(item.messages)
    return 0 if last is None else len(re.findall(r"^\[\d+\] ", item.messages[last]["content"], re.M))


def clean(text: str, passages: int | None = None) -> str:
    """Every safe repair but redaction; `passages` (for completions) also removes dangling markers."""
    text = remove_control(repair_encoding(text)).strip()
    return text if passages is None else remove_dangling(text, passages).strip()


def _text_problems(text: str, passages: int | None) -> list[tuple[str, str, bool]]:
    """(problem, detail, safe) for each thing `clean` repairs in one text, and a lost character it cannot."""
    problems = []
    if broken := mojibake(text):
        pairs = ", ".join(f"{b!r} -> {f!r}" for b, f in dict(broken).items())
        problems.append((ENCODING, f"mis-decoded text: {pairs}", True))
    if "\ufffd" in text:
        problems.append((ENCODING, "a character was lost when the file was saved (U+FFFD): retype it", False))
    repaired = repair_encoding(text)
    if controls := Counter(f"U+{ord(char):04X}" for char in repaired if _CONTROL.match(char) or char == "\r"):
        problems.append((CONTROL, ", ".join(f"{code} x{n}" for code, n in sorted(controls.items())), True))
    if text != text.strip():
        ends = [side for side, kept in (("leading", text.lstrip()), ("trailing", text.rstrip())) if kept != text]
        problems.append((WHITESPACE, f"{' and '.join(ends)} whitespace", True))
    if passages is not None and (markers := dangling_markers(remove_control(repaired), passages)):
        given = f"{passages} passage{'s' * (passages != 1)}" if passages else "no passages"
        problems.append((DANGLING_CITATION, f"{', '.join(markers)} but the prompt has {given}", True))
    return problems


# --- similarity ---------------------------------------------------------------------------

_ROUGE_TOKENIZER = tokenizers.DefaultTokenizer(use_stemmer=True)


@lru_cache(maxsize=1 << 16)
def _tokens(text: str) -> tuple[str, ...]:
    return tuple(_ROUGE_TOKENIZER.tokenize(text))


class _CachedTokenizer(tokenizers.Tokenizer):
    """The ROUGE tokenizer with stemming, each text tokenized once (eval texts are compared again and again)."""

    def tokenize(self, text: str) -> list[str]:
        return list(_tokens(text))


_SCORER = rouge_scorer.RougeScorer(["rougeL"], tokenizer=_CachedTokenizer())


def rouge_l(a: str, b: str) -> float:
    return _SCORER.score(a, b)["rougeL"].fmeasure


def normalise(text: str) -> str:
    """For exact comparison: case, punctuation and spacing ignored."""
    return " ".join(re.findall(r"\w+", text.casefold()))


def _occurrences(tokens: tuple[str, ...]) -> list[tuple[str, int]]:
    """Each token tagged with its occurrence number: set overlap of these is multiset overlap."""
    seen: Counter[str] = Counter()
    tagged = []
    for token in tokens:
        seen[token] += 1
        tagged.append((token, seen[token]))
    return tagged


def similar(left: Sequence[str], right: Sequence[str] | None, threshold: float) -> Iterator[tuple[int, int, float]]:
    """(i, j, ROUGE-L F) for the pairs at or above threshold; with right=None, left against itself (j < i).

    ROUGE-L's LCS is at most the tokens two texts share, so F >= t needs an overlap of at least
    t*m/(2-t) tokens for a text of m tokens; prefix filtering (rarest tokens first) then gives
    the only candidates worth scoring, and the shared-token bound discards most of those.
    """
    right_texts = left if right is None else right
    left_tokens = [_tokens(text) for text in left]
    right_tokens = left_tokens if right is None else [_tokens(text) for text in right_texts]
    frequency = Counter(element for tokens in (*left_tokens, *([] if right is None else right_tokens))
                        for element in _occurrences(tokens))

    def prefix(tokens: tuple[str, ...]) -> list[tuple[str, int]]:
        needed = math.ceil(threshold * len(tokens) / (2 - threshold) - 1e-9)
        ordered = sorted(_occurrences(tokens), key=lambda element: (frequency[element], element))
        return ordered[:max(len(tokens) - needed + 1, 0)]

    index: dict[tuple[str, int], list[int]] = defaultdict(list)
    if right is not None:
        for j, tokens in enumerate(right_tokens):
            for element in prefix(tokens):
                index[element].append(j)
    for i, tokens in enumerate(left_tokens):
        own_prefix = prefix(tokens)
        candidates = sorted({j for element in own_prefix for j in index.get(element, ())})
        own = Counter(tokens)
        for j in candidates:
            size = len(tokens) + len(right_tokens[j])
            if 2 * min(len(tokens), len(right_tokens[j])) < threshold * size - 1e-9:
                continue
            if 2 * sum((own & Counter(right_tokens[j])).values()) < threshold * size - 1e-9:
                continue
            if (score := rouge_l(left[i], right_texts[j])) >= threshold:
                yield i, j, score
        if right is None:
            for element in own_prefix:
                index[element].append(i)


# --- evaluation sets ----------------------------------------------------------------------

def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for part in value:
            yield from _strings(part)
    elif isinstance(value, dict):
        for part in value.values():
            yield from _strings(part)


def load_eval_texts(folder: Path = EVAL_DIR) -> list[EvalText]:
    """Every text of every evaluation set (*.jsonl, read now, so a new set counts at once): questions,
    reference answers and summaries, customer messages, and each conversation as one transcript.
    Labels, ids and links (fewer than three words) are left out."""
    found = []
    for path in sorted(folder.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            record = json.loads(line)
            source = f"{path.name}:{record.get('id', number) if isinstance(record, dict) else number}"
            if isinstance(record, dict) and isinstance(record.get("turns"), list):
                turns = [TranscriptTurn(t["role"], t["text"]) for t in record["turns"]]
                found.append(EvalText(source, render(turns, max_chars=1 << 30)))
                record = {key: value for key, value in record.items() if key != "turns"}
            found += [EvalText(source, text) for text in _strings(record) if len(text.split()) >= 3]
    return found


def leaks(fields: Sequence[Mapping[str, str]], eval_texts: Sequence[EvalText]) -> dict[int, tuple[str, str]]:
    """{item position: (field, detail)} for the items with a text that copies (after normalising)
    or paraphrases (ROUGE-L F >= LEAK_F) an evaluation text."""
    exact = {normalise(e.text): e.source for e in eval_texts}
    flat = [(i, name, text) for i, named in enumerate(fields) for name, text in named.items() if text.strip()]
    found: dict[int, tuple[str, str]] = {}
    for i, name, text in flat:
        if (source := exact.get(normalise(text))) and i not in found:
            found[i] = (name, f"copies {source}")
    best: dict[int, tuple[float, str, str]] = {}
    for k, j, score in similar([text for _, _, text in flat], [e.text for e in eval_texts], LEAK_F):
        i, name, _ = flat[k]
        if i not in found and score > best.get(i, (0.0,))[0]:
            best[i] = (score, name, f"paraphrases {eval_texts[j].source} (ROUGE-L {score:.2f})")
    return found | {i: (name, detail) for i, (_, name, detail) in best.items()}


# --- the scan -----------------------------------------------------------------------------

def _personal_data(pii: PiiFilter) -> Callable[[str], tuple[str, str]]:
    """text -> (the labels found, the redacted text); each distinct text is analysed once, as rows repeat."""
    @lru_cache(maxsize=None)
    def analyse(text: str) -> tuple[str, str]:
        spans = pii.find(text) if text else []
        labels = Counter(span.label for span in spans)
        return ", ".join(f"{label} x{n}" for label, n in sorted(labels.items())), pii.redact(text) if spans else text
    return analyse


def count_tokens(tokenizer: TokenCounter, text: str) -> int:
    encode = getattr(tokenizer, "encode", None)
    return len(encode(text) if callable(encode) else tokenizer(text))


def scan(items: Sequence[Item], *, pii: PiiFilter | None = None, tokenizer: TokenCounter | None = None,
         max_tokens: int | None = None, eval_texts: Sequence[EvalText] | None = None,
         template: Callable[[list[dict[str, str]]], str] = plain_chat) -> list[Finding]:
    """Every problem of every item. `tokenizer` (an HF tokenizer or a text -> token ids callable)
    and `max_tokens` (the base model's context) enable the length check on `template(prompt +
    completion)`; `eval_texts` default to the project's evaluation sets; `pii` to the shared filter.
    Rows the importer could not read are in ImportResult.findings: report those alongside."""
    if pii is None:
        from hotline.ml.pii import get_pii_filter
        pii = get_pii_filter()
    eval_texts = load_eval_texts() if eval_texts is None else eval_texts
    personal_data = _personal_data(pii)
    findings: list[Finding] = []
    cleaned_fields: list[dict[str, str]] = []  # repaired but not yet redacted: compared with the eval sets
    fixed: list[Item] = []
    for index, item in enumerate(items):
        row, passages = row_of(item), passage_count(item)
        cleaned, final = {}, {}
        for name, text in texts(item).items():
            markers = passages if name == "output" else None
            cleaned[name] = clean(text, markers)
            labels, final[name] = personal_data(cleaned[name])
            problems = _text_problems(text, markers) if cleaned[name] else []
            if labels:
                problems.append((PERSONAL_DATA, labels, True))
            findings += [Finding(row, name, problem, detail, final[name], safe, index)
                         for problem, detail, safe in problems]
        cleaned_fields.append(cleaned)
        fixed.append(with_texts(item, final))
        findings += _item_problems(index, row, fixed[-1], passages, tokenizer, max_tokens, template)
    dropped = {f.item for f in findings if f.problem == EMPTY}
    for index, (name, detail) in sorted(leaks(cleaned_fields, eval_texts).items()):
        findings.append(Finding(row_of(items[index]), name, LEAK, detail,
                                "refused: dropped from the cleaned copy (not fixable)", True, index))
        dropped.add(index)
    findings += _duplicates(items, fixed, dropped)
    return findings


def _item_problems(index: int, row: int | str, fixed: Item, passages: int,
                   tokenizer: TokenCounter | None, max_tokens: int | None,
                   template: Callable[[list[dict[str, str]]], str]) -> list[Finding]:
    given = texts(fixed)
    found = [Finding(row, name, EMPTY, "no text", "drop the row", True, index)
             for name in ("input", "output") if not given.get(name)]
    if fixed.task == "answer" and not passages and input_text(fixed):
        found.append(Finding(row, "input", NO_PASSAGES, "retrieval found no passage: the served assistant would "
                             "not ask the model", "drop the row (add an article that answers it to keep it)", True, index))
    if tokenizer is not None and max_tokens is not None:
        conversation = [*fixed.messages, {"role": "assistant", "content": fixed.completion}]
        if (tokens := count_tokens(tokenizer, template(conversation))) > max_tokens:
            found.append(Finding(row, "row", TOO_LONG, f"{tokens} tokens, prompt and completion; the model reads "
                                 f"{max_tokens}", "shorten the texts, or drop the row", False, index))
    return found


def _duplicates(items: Sequence[Item], fixed: list[Item], dropped: set[int | None]) -> list[Finding]:
    """Exact duplicates (after the fixes) go, keeping the first; near duplicates are reported and
    go only when input and output are both near-identical to an earlier item's."""
    found, first = [], {}
    for index, item in enumerate(fixed):
        if index in dropped:
            continue
        key = (item.task, *(" ".join(text.casefold().split()) for text in texts(item).values()))
        if key in first:
            found.append(Finding(row_of(items[index]), "row", DUPLICATE, f"same as row {row_of(items[first[key]])}",
                                 "drop the row (the first copy is kept)", True, index))
            dropped.add(index)
        else:
            first.setdefault(key, index)
    kept = [index for index in range(len(fixed)) if index not in dropped]
    for task in sorted({fixed[index].task for index in kept}):
        positions = [index for index in kept if fixed[index].task == task]
        close: dict[int, list[tuple[float, int]]] = defaultdict(list)
        for i, j, score in similar([input_text(fixed[index]) for index in positions], None, NEAR_DUPLICATE_F):
            if score > NEAR_DUPLICATE_F:
                close[positions[i]].append((score, positions[j]))
        for index, matches in sorted(close.items()):
            identical = [(score, other) for score, other in matches if score >= NEAR_IDENTICAL_F
                         and rouge_l(fixed[index].completion, fixed[other].completion) >= NEAR_IDENTICAL_F]
            score, other = max(identical or matches)
            fix = "drop the row (input and output near-identical)" if identical else "keep both, or drop one"
            detail = f"close to row {row_of(items[other])} (ROUGE-L {score:.2f})"
            found.append(Finding(row_of(items[index]), "input", NEAR_DUPLICATE, detail, fix, bool(identical), index))
    return found


# --- fixing and storing -------------------------------------------------------------------

def apply_fixes(items: Sequence[Item], findings: Sequence[Finding]) -> tuple[list[Item], list[Finding]]:
    """The cleaned copy (the safe fixes of `scan(items)` applied) and the findings applied: every
    item dropped or changed is among them."""
    mine: dict[int, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.safe and finding.item is not None:
            mine[finding.item].append(finding)
    cleaned, applied = [], []
    for index, item in enumerate(items):
        if drops := [f for f in mine[index] if f.problem in DROPS]:
            applied += drops
            continue
        changes = [f for f in mine[index] if f.problem in TEXT_FIXES]
        cleaned.append(with_texts(item, {f.field: f.fix for f in changes}) if changes else item)
        applied += changes
    return cleaned, applied


def redacted_copy(items: Sequence[Item], pii: PiiFilter) -> list[Item]:
    """The items with personal data replaced by labels and nothing else changed: what may be stored
    of a scanned set that was not fixed."""
    copies = []
    for item in items:
        redacted = {name: pii.redact(text) for name, text in texts(item).items() if text}
        changed = {name: text for name, text in redacted.items() if text != texts(item)[name]}
        copies.append(with_texts(item, changed) if changed else item)
    return copies


def counts(findings: Sequence[Finding]) -> dict[str, Any]:
    """The report's summary: how many findings of each problem, and how many a fix applies."""
    problems = Counter(f.problem for f in findings)
    return {"findings": len(findings), "rows": len({f.row for f in findings}),
            "applied_by_fix": sum(f.safe for f in findings), "to_review": sum(not f.safe for f in findings),
            "by_problem": {problem: problems[problem] for problem in (*PROBLEMS, *sorted(set(problems) - set(PROBLEMS)))
                           if problems[problem]}}


def write_report(findings: Sequence[Finding], directory: Path) -> tuple[Path, Path]:
    """scan.csv (one line per finding) and scan.json (counts per problem), written atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    order = {problem: n for n, problem in enumerate(PROBLEMS)}
    rows = sorted(findings, key=lambda f: (isinstance(f.row, str), f.row if isinstance(f.row, int) else 0,
                                           str(f.row), order.get(f.problem, len(order))))
    table, report = directory / "scan.csv", directory / "scan.json"
    partial = table.with_suffix(".csv.partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "field", "problem", "detail", "proposed fix", "applied by fix"])
        writer.writerows([f.row, f.field, f.problem, f.detail, f.fix, "yes" if f.safe else "no"] for f in rows)
    partial.replace(table)
    partial = report.with_suffix(".json.partial")
    partial.write_text(json.dumps(counts(findings), indent=2) + "\n", encoding="utf-8")
    partial.replace(report)
    return table, report
