"""Importing training data the operator already has: a CSV of inputs and outputs, or chat JSONL.

Each row becomes an Item prompted exactly as the served model is; nothing is cleaned or
dropped here (that is the scan's job, with a finding for each change), and a row that
cannot be read becomes an "unreadable" finding rather than an error or a silent gap.
Items stay in memory: raw rows may hold personal data, so only a redacted or fixed copy
is ever stored.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotline.tuning.items import TASKS, Item, Task
from hotline.tuning.scan import ENCODING, UNREADABLE, Finding
from knowledge.answer import build_prompt
from knowledge.retrieval import Passage

SUMMARY_INSTRUCTION = "Summarise this customer-service conversation as JSON."
FIX_THE_FILE = "correct the row in the file and import again"
PassagesFor = Callable[[str], list[Passage]]


class DatasetError(ValueError):
    """A file that cannot be imported at all (no header, a missing column, an unknown task)."""


@dataclass
class ImportResult:
    items: list[Item]
    findings: list[Finding] = field(default_factory=list)  # rows that could not be read, lines not in UTF-8
    columns: list[str] = field(default_factory=list)  # the CSV header as found


def summary_messages(text: str) -> list[dict[str, str]]:
    """The summary prompt of a transcript; the transcript comes last (the scan's fixes rely on it)."""
    return [{"role": "user", "content": f"{SUMMARY_INSTRUCTION}\n\n{text}"}]


def build_item(task: Task, text: str, output: str, source: str, *, passages_for: PassagesFor | None = None,
               group: str = "", prompt: list[dict[str, str]] | None = None) -> Item:
    """An item for one row: `text` is the question, transcript or free prompt; `prompt`, when
    given, is a free completion's own messages."""
    if task == "answer":
        passages = passages_for(text) if text.strip() else []
        return Item("answer", build_prompt(text, passages, example=False), output, "real",
                    group or (passages[0].article_id if passages else ""), source,
                    {"question": text, "passage_ids": [p.chunk_id for p in passages]})
    if task == "summary":
        return Item("summary", summary_messages(text), output, "real", group, source, {"input": text})
    return Item("completion", prompt or [{"role": "user", "content": text}], output, "real", group, source)


def _check_task(task: str, passages_for: PassagesFor | None) -> None:
    if task not in TASKS:
        raise DatasetError(f"unknown task {task!r}: one of {', '.join(TASKS)}")
    if task == "answer" and passages_for is None:
        raise DatasetError("the answer task needs passages_for: the passages the served prompt would hold")


def _lines(path: Path) -> tuple[list[str], set[int]]:
    """The file's lines (ends kept) and the numbers of those that were not UTF-8, read as Windows-1252
    (a CSV saved by Excel): one bad byte must not cost the whole file."""
    lines, legacy = [], set()
    for number, raw in enumerate(path.read_bytes().splitlines(keepends=True), 1):
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(raw.decode("cp1252", errors="replace"))
            legacy.add(number)
    return lines, legacy


def _records(lines: list[str]) -> Iterator[tuple[int, int, int, list[str] | str]]:
    """(spreadsheet row, first line, last line, values or why it could not be read), header first.

    A record that cannot be read is skipped one line at a time, so an unclosed quote costs its own
    row only, not every row it would have swallowed.
    """
    # Excel writes ";" in some locales: the header's commonest separator is the file's.
    delimiter = max(",;\t", key=lines[0].count) if lines and lines[0].strip() else ","
    width, row, start = None, 0, 0
    while start < len(lines):
        row += 1
        reader = csv.reader(lines[start:], delimiter=delimiter, strict=True)
        try:
            values = next(reader)
        except csv.Error as error:
            yield row, start + 1, start + 1, f"line {start + 1}: {error}"
            start += 1
            continue
        end = start + reader.line_num
        if width is None:
            width = len(values)
        if values and len(values) != width:
            yield row, start + 1, start + 1, (f"line {start + 1}: {len(values)} values where the header has "
                                              f"{width} (a comma outside quotes?)")
            start += 1
            continue
        if values:
            yield row, start + 1, end, values
        start = end


def import_csv(path: Path, task: Task, input_col: str, output_col: str, *, passages_for: PassagesFor | None = None,
               group_col: str | None = None) -> ImportResult:
    """One item per row: `input_col` is the question (answer), the transcript (summary) or the
    prompt (completion); `output_col` the completion; `group_col` keeps rows together in the split."""
    _check_task(task, passages_for)
    path = Path(path)
    lines, legacy = _lines(path)
    records = _records(lines)
    header = next(records, None)
    if header is None or isinstance(header[3], str):
        raise DatasetError(f"{path.name}: no readable header row")
    columns = [name.strip() for name in header[3]]
    wanted = [input_col, output_col, *([group_col] if group_col else [])]
    if missing := [name for name in wanted if name not in columns]:
        raise DatasetError(f"{path.name}: no column {', '.join(map(repr, missing))}; "
                           f"columns found: {', '.join(columns)}")
    at = {name: columns.index(name) for name in wanted}
    result = ImportResult([], [], columns)
    for row, first, last, values in records:
        if isinstance(values, str):
            result.findings.append(Finding(row, "row", UNREADABLE, values, FIX_THE_FILE, False))
            continue
        if bad := sorted(number for number in legacy if first <= number <= last):
            result.findings.append(Finding(row, "row", ENCODING, f"line {bad[0]} is not UTF-8",
                                           "read as Windows-1252", True))
        result.items.append(build_item(task, values[at[input_col]], values[at[output_col]], f"{path.name}:{row}",
                                       passages_for=passages_for, group=values[at[group_col]] if group_col else ""))
    return result


def _content(message: Any) -> str | None:
    """A message's text: a string, or the text parts of a list of content parts; None if neither."""
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):
        parts = [part.get("text") for part in content if isinstance(part, dict) and part.get("type") == "text"]
        return "".join(parts) if all(isinstance(part, str) for part in parts) else None
    return content if isinstance(content, str) else None


def _chat(line: str) -> tuple[list[dict[str, str]], str] | str:
    """(prompt messages, completion) of one JSONL line, or why it cannot be read."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        return f"not JSON ({error.msg} at column {error.colno})"
    messages = record.get("messages") if isinstance(record, dict) else None
    if not isinstance(messages, list) or not messages:
        return 'no "messages" list'
    chat = []
    for number, message in enumerate(messages, 1):
        content = _content(message)
        if content is None or not isinstance(message.get("role"), str):
            return f"message {number} has no role or no text content"
        chat.append({"role": message["role"], "content": content})
    last = next((i for i in range(len(chat) - 1, -1, -1) if chat[i]["role"] == "assistant"), None)
    return (chat, "") if last is None else (chat[:last], chat[last]["content"])


def import_jsonl(path: Path, task: Task, *, passages_for: PassagesFor | None = None) -> ImportResult:
    """OpenAI-style chat lines, {"messages": [...]}: the last assistant message is the completion and
    the last user message before it the input. Answer and summary items get the served prompt;
    free completions keep their own messages."""
    _check_task(task, passages_for)
    path = Path(path)
    lines, legacy = _lines(path)
    result = ImportResult([])
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        parsed = _chat(line)
        if isinstance(parsed, str):
            result.findings.append(Finding(number, "row", UNREADABLE, f"line {number}: {parsed}", FIX_THE_FILE, False))
            continue
        prompt, completion = parsed
        if number in legacy:
            result.findings.append(Finding(number, "row", ENCODING, f"line {number} is not UTF-8",
                                           "read as Windows-1252", True))
        text = next((m["content"] for m in reversed(prompt) if m["role"] == "user"), "")
        result.items.append(build_item(task, text, completion, f"{path.name}:{number}", passages_for=passages_for,
                                       prompt=prompt if task == "completion" else None))
    return result
