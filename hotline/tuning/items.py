"""One training example, the same for every task and source, stored as a JSONL line."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

Task = Literal["answer", "summary", "completion"]
Origin = Literal["real", "synthetic"]
TASKS: tuple[Task, ...] = ("answer", "summary", "completion")


@dataclass
class Item:
    """A prompt as the served model sees it (chat messages) and the completion it should give.

    `group` keeps near-twins together when splitting (the source article or conversation);
    `source` says where the item came from (``faq.csv:12``, ``synthetic:<chunk id>``).
    """

    task: Task
    messages: list[dict[str, str]]
    completion: str
    origin: Origin = "real"
    group: str = ""
    source: str = ""
    meta: dict = field(default_factory=dict)  # e.g. question, passage chunk ids, answerable, style
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            digest = hashlib.sha256(json.dumps([self.task, self.messages, self.completion]).encode())
            self.id = digest.hexdigest()[:16]

    def as_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


def read_items(path: Path) -> list[Item]:
    return [Item(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_items(path: Path, items: list[Item]) -> Path:
    """Write atomically: a run killed half-way never leaves a truncated dataset."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text("".join(item.as_json() + "\n" for item in items), encoding="utf-8")
    partial.replace(path)
    return path


def fingerprint(items: list[Item]) -> str:
    """A stable id for a training set: the model card and registry record it."""
    digest = hashlib.sha256()
    for item_id in sorted(item.id for item in items):
        digest.update(item_id.encode())
    return digest.hexdigest()[:16]
