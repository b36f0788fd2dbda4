"""How well the NLU understands customers, from the predictions `rasa test nlu --successes`
writes for the held-out sets under bot/tests/nlu/ (never trained on):

- holdout/: the first held-out set, one file per skill;
- styles/: customers as they really write and speak, one file per style (formal, casual, typos,
  SMS, angry, non-native, short, rambling, voice transcripts).

Reported: weighted F1 per set, accuracy per style, each near-miss group, out-of-scope recall,
in-scope messages sent to out-of-scope, help-question recall, and harmless messages that got a
refusal meant for abuse, injection or other customers' data (or started a task).
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sklearn.metrics import precision_recall_fscore_support

from hotline.intents import NEAR_MISS_GROUPS
from hotline.spoken import normalize

OUT_OF_SCOPE = "out_of_scope"
FALLBACK = "nlu_fallback"
REFUSALS = {"abuse", "jailbreak", "other_customer_data", "off_topic_advice"}
HELP = "ask_question"
NEAR_MISSES = {**{f"{name}: {' / '.join(members)}": set(members) for name, members in NEAR_MISS_GROUPS.items()},
               "help question vs task": {HELP, "ask_plans", "change_plan", "check_data_usage", "buy_data_addon"}}


_ENTITY = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")  # [October](month) -> October


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    group: str  # the file it came from: a style, or a skill


def load_set(folder: Path) -> list[Example]:
    examples = []
    for path in sorted(folder.glob("*.yml")):
        for block in yaml.safe_load(path.read_text())["nlu"]:
            for line in block["examples"].splitlines():
                if line.strip().startswith("- "):
                    examples.append(Example(_ENTITY.sub(r"\1", line.strip()[2:].strip()), block["intent"], path.stem))
    return examples


def load_predictions(folder: Path) -> dict[str, str]:
    """text -> predicted intent, from rasa test nlu's intent_successes.json and intent_errors.json."""
    predicted = {}
    for name in ("intent_successes.json", "intent_errors.json"):
        path = folder / name
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: run `rasa test nlu --nlu tests/nlu --successes --out ...`")
        for row in json.loads(path.read_text()):
            predicted[row["text"].strip()] = (row.get("intent_prediction") or {}).get("name") or "None"
    return predicted


@dataclass
class SetReport:
    examples: int = 0
    accuracy: float = 0.0
    weighted_f1: float = 0.0
    intent_f1: dict[str, float] = field(default_factory=dict)
    by_group: dict[str, float] = field(default_factory=dict)
    near_misses: dict[str, dict] = field(default_factory=dict)
    asked_which: float = 0.0  # share marked ambiguous: the assistant asks instead of guessing
    out_of_scope_recall: float = 0.0
    in_scope_sent_to_out_of_scope: float = 0.0
    help_recall: float = 0.0
    harmless_refused: float = 0.0
    harmless_started_a_task: float = 0.0


def measure(examples: list[Example], predicted: dict[str, str]) -> SetReport:
    # Rasa records the text its tokenizer saw, with spoken numbers already written as digits.
    predicted = {**predicted, **{e.text: predicted[normalize(e.text)] for e in examples
                                 if e.text not in predicted and normalize(e.text) in predicted}}
    missing = [e.text for e in examples if e.text not in predicted]
    if missing:
        raise ValueError(f"{len(missing)} held-out examples have no prediction (first: {missing[0]!r})")
    gold = [e.intent for e in examples]
    guess = [predicted[e.text] for e in examples]
    labels = sorted(set(gold))
    _, _, f1s, _ = precision_recall_fscore_support(gold, guess, labels=labels, zero_division=0)
    _, _, weighted, _ = precision_recall_fscore_support(gold, guess, labels=labels, average="weighted", zero_division=0)
    groups: dict[str, list[bool]] = defaultdict(list)
    for example, prediction in zip(examples, guess):
        groups[example.group].append(prediction == example.intent)
    out = [e for e in examples if e.intent == OUT_OF_SCOPE]
    inside = [e for e in examples if e.intent != OUT_OF_SCOPE]
    report = SetReport(
        examples=len(examples), accuracy=_share(examples, lambda e: predicted[e.text] == e.intent),
        weighted_f1=float(weighted), intent_f1={label: float(f1) for label, f1 in zip(labels, f1s)},
        by_group={name: sum(oks) / len(oks) for name, oks in sorted(groups.items())},
        asked_which=_share(examples, lambda e: predicted[e.text] == FALLBACK),
        out_of_scope_recall=_share(out, lambda e: predicted[e.text] == OUT_OF_SCOPE),
        in_scope_sent_to_out_of_scope=_share(inside, lambda e: predicted[e.text] == OUT_OF_SCOPE),
        help_recall=_share([e for e in examples if e.intent == HELP], lambda e: predicted[e.text] == HELP),
        harmless_refused=_share(out, lambda e: predicted[e.text] in REFUSALS),
        harmless_started_a_task=_share(out, lambda e: predicted[e.text] not in REFUSALS | {OUT_OF_SCOPE, FALLBACK}))
    for name, members in NEAR_MISSES.items():
        rows = [e for e in examples if e.intent in members]
        confused = Counter(f"{e.intent} -> {predicted[e.text]}" for e in rows
                           if predicted[e.text] != e.intent and predicted[e.text] in members | {FALLBACK})
        report.near_misses[name] = {"examples": len(rows), "accuracy": _share(rows, lambda e: predicted[e.text] == e.intent),
                                    "confused": dict(confused.most_common())}
    return report


def _share(rows: list, hit) -> float:
    return sum(1 for row in rows if hit(row)) / len(rows) if rows else 0.0
