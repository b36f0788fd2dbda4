"""Train/validation split by group, with the evaluation sets held out as the frozen test set.

Items of one group (an article, a conversation) are near-twins: if they straddled the split,
validation would measure recall of the training set. Groups are placed by a seeded hash, so
the same data and seed always give the same split whatever the input order.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hotline.tuning.items import TASKS, Item
from hotline.tuning.scan import EvalText, leaks, load_eval_texts, texts


class LeakageError(ValueError):
    """Items that copy an evaluation set reached the split: the scan refuses those."""


@dataclass
class Split:
    train: list[Item]
    valid: list[Item]

    @property
    def share(self) -> float:
        """The validation share achieved (whole groups rarely hit the target exactly)."""
        total = len(self.train) + len(self.valid)
        return len(self.valid) / total if total else 0.0


def group_of(item: Item) -> str:
    """The item's group; an item without one is its own group."""
    return item.group or f"item:{item.id}"


def split(items: Sequence[Item], *, valid_share: float = 0.2, seed: int = 13,
          frozen_texts: Sequence[EvalText] | None = None) -> Split:
    """Whole groups go to validation, in seeded-hash order, whenever that brings every task's
    validation count closer to `valid_share` of its items. `frozen_texts` (default: the
    project's evaluation sets) must not be copied by any item."""
    frozen = load_eval_texts() if frozen_texts is None else frozen_texts
    if leaked := leaks([texts(item) for item in items], frozen):
        rows = ", ".join(items[index].source or items[index].id for index in sorted(leaked))
        raise LeakageError(f"{len(leaked)} items copy an evaluation set ({rows}): scan and fix the data first")
    groups: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        groups[group_of(item)].append(item)
    target = {task: valid_share * count for task, count in Counter(item.task for item in items).items()}
    in_valid: Counter[str] = Counter()
    valid_groups = set()
    for name in sorted(groups, key=lambda name: hashlib.sha256(f"{seed}:{name}".encode()).hexdigest()):
        sizes = Counter(item.task for item in groups[name])
        before = sum(abs(in_valid[task] - target[task]) for task in sizes)
        after = sum(abs(in_valid[task] + size - target[task]) for task, size in sizes.items())
        if after < before:
            valid_groups.add(name)
            in_valid.update(sizes)
    return Split([item for item in items if group_of(item) not in valid_groups],
                 [item for item in items if group_of(item) in valid_groups])


def mix(items: Split | Iterable[Item]) -> dict[str, dict[str, dict[str, int]]]:
    """{split: {task: {"real": n, "synthetic": m}}} for display; a plain list of items is the split "all"."""
    parts = {"train": items.train, "valid": items.valid} if isinstance(items, Split) else {"all": list(items)}
    table = {}
    for name, part in parts.items():
        counts = Counter((item.task, item.origin) for item in part)
        table[name] = {task: {origin: counts[task, origin] for origin in ("real", "synthetic")} for task in TASKS}
    return table
