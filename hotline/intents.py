"""Intents customers confuse with each other, in one place for the NLU pipeline (which marks a
close call as ambiguous), the dialogue (which asks which one was meant) and the NLU reports.

Standard library only: Rasa's own environment imports it (bot/near_misses.py).
"""

from __future__ import annotations

NEAR_MISS_GROUPS: dict[str, tuple[str, ...]] = {
    "bill": ("check_bill", "explain_bill", "pay_bill"),
    "roaming": ("enable_roaming", "disable_roaming", "ask_roaming_rates"),
    "sim": ("replace_sim", "activate_esim"),
    "network": ("check_outage", "slow_mobile_data", "home_internet_problem"),
}


def group_of(intent: str | None) -> str | None:
    return next((name for name, members in NEAR_MISS_GROUPS.items() if intent in members), None)


# Words that name a group's subject without saying what to do with it: "bill", "my bill?".
SUBJECTS: dict[str, set[str]] = {
    "bill": {"bill", "bills", "billing"},
    "roaming": {"roaming", "roam"},
    "sim": {"sim", "sims", "simcard", "card"},
    "network": {"network", "signal", "internet", "connection", "coverage"},
}
_FILLER = {"my", "the", "a", "about", "help", "with", "question", "query", "problem", "please", "pls", "um", "uh", "hi"}


def ambiguous_group(ranking: list[dict], text: str, margin: float) -> str | None:
    """The near-miss group a message cannot be placed within: its two best intents are in one
    group and close, or it only names the group's subject ("bill": see it, explain it or pay it?)."""
    if not ranking or (group := group_of(ranking[0].get("name"))) is None:
        return None
    top = ranking[0].get("confidence") or 0.0
    rival = max((r.get("confidence") or 0.0 for r in ranking[1:] if group_of(r.get("name")) == group), default=0.0)
    words = set("".join(ch if ch.isalnum() else " " for ch in text.lower()).split()) - _FILLER
    return group if top - rival < margin or words and words <= SUBJECTS[group] else None
