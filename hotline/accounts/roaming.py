"""Roaming: rates by country and switching roaming on or off for a line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.accounts import AccountError
from hotline.accounts.lines import current_plan
from hotline.db.models import Line, RoamingRate, RoamingSetting


def find_country(session: Session, text: str) -> RoamingRate | None:
    wanted = " ".join(text.lower().strip(" ?.!").split())
    for rate in session.scalars(select(RoamingRate)):
        names = {rate.country.lower(), f"the {rate.country.lower()}"}
        names.update(alias.strip() for alias in rate.aliases.split(",") if alias.strip())
        if wanted in names or wanted.removeprefix("the ") in names:
            return rate
    return None


@dataclass(frozen=True)
class RoamingPrice:
    rate: RoamingRate
    included: bool
    day_pass_pence: int


def price_for_line(rate: RoamingRate, line: Line | None, today: date) -> RoamingPrice:
    """What a day costs in this country, given the line's plan (if known)."""
    plan = current_plan(line, today) if line else None
    if rate.zone == "europe" and plan is not None and plan.eu_roaming_included:
        return RoamingPrice(rate, True, 0)
    day_pass = rate.day_pass_pence
    if plan is not None and plan.code == "UNLIMITED_PLUS" and rate.zone != "europe":
        day_pass //= 2
    return RoamingPrice(rate, False, day_pass)


def set_roaming(session: Session, line: Line, enabled: bool, now: datetime) -> RoamingSetting:
    if line.kind != "mobile":
        raise AccountError("Roaming only applies to mobile lines.")
    if line.status != "active":
        raise AccountError("That line is not active, so roaming can't be changed.")
    setting = line.roaming or RoamingSetting(line_id=line.id, enabled=False, updated_at=now)
    setting.enabled = enabled
    setting.updated_at = now
    session.add(setting)
    session.flush()
    return setting
