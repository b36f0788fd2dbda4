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


def ambiguous_group(ranking: list[dict], words: int, margin: float, short_words: int, short_confidence: float) -> str | None:
    """The near-miss group a message cannot be placed within: its two best intents are in one
    group and close, or it is a word or two ("bill") the model is not all but certain about."""
    if len(ranking) < 2 or (group := group_of(ranking[0].get("name"))) is None:
        return None
    top = ranking[0].get("confidence") or 0.0
    rival = max((r.get("confidence") or 0.0 for r in ranking[1:] if group_of(r.get("name")) == group), default=0.0)
    if top - rival < margin or words <= short_words and top < short_confidence:
        return group
    return None
