"""Formatting and parsing amounts of money (stored as pence)."""

from __future__ import annotations

import re

from hotline.spoken import normalize

_AMOUNT = re.compile(r"(?:£|gbp\s*)?(\d{1,5}(?:[.,]\d{1,2})?)\s*(?:£|gbp|pounds?|quid|quids)?", re.I)
_FULL = re.compile(r"\b(all|full|everything|whole|entire|total|the lot|outstanding|balance)\b", re.I)


def format_pence(pence: int) -> str:
    sign = "-" if pence < 0 else ""
    return f"{sign}£{abs(pence) / 100:,.2f}"


def parse_amount(text: str, full_amount_pence: int) -> int | None:
    """Pence from '£25', '25.50', '20 quid', 'twelve pounds fifty' or 'the full amount'; None if no amount."""
    text = normalize(text)
    if _FULL.search(text) and not re.search(r"\d", text):
        return full_amount_pence
    match = _AMOUNT.search(text.replace(",", "")) if "£" in text or re.search(r"\d", text) else None
    if not match:
        return None
    return round(float(match.group(1).replace(",", ".")) * 100)
