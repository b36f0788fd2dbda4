"""Data usage this billing cycle and data add-ons."""

from __future__ import annotations

import calendar
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.accounts import AccountError
from hotline.accounts.lines import current_plan
from hotline.catalog import DATA_ADDONS, DataAddon
from hotline.db.models import AddonPurchase, Line, UsageRecord
from hotline.spoken import normalize


@dataclass(frozen=True)
class LineUsage:
    line: Line
    used_mb: int
    allowance_mb: int | None  # None: unlimited
    addon_gb: int
    cycle_end: date

    @property
    def remaining_mb(self) -> int | None:
        return None if self.allowance_mb is None else max(self.allowance_mb - self.used_mb, 0)


def cycle_start(today: date) -> date:
    return today.replace(day=1)


def cycle_end(today: date) -> date:
    return today.replace(day=calendar.monthrange(today.year, today.month)[1])


def line_usage(session: Session, line: Line, today: date) -> LineUsage:
    start = cycle_start(today)
    record = session.scalar(select(UsageRecord).where(
        UsageRecord.line_id == line.id, UsageRecord.cycle_start == start))
    addon_gb = sum(session.scalars(select(AddonPurchase.data_gb).where(
        AddonPurchase.line_id == line.id, AddonPurchase.cycle_start == start)))
    plan = current_plan(line, today)
    allowance = None if plan.data_gb is None else (plan.data_gb + addon_gb) * 1024
    return LineUsage(line=line, used_mb=record.data_used_mb if record else 0,
                     allowance_mb=allowance, addon_gb=addon_gb, cycle_end=cycle_end(today))


def parse_addon(text: str) -> DataAddon | None:
    text = normalize(text)
    match = re.search(r"(\d{1,2})\s*(?:gb|gig|gigs|g\b|gigabytes?)", text.lower())
    if not match:
        return None
    return next((addon for addon in DATA_ADDONS if addon.data_gb == int(match.group(1))), None)


def buy_addon(session: Session, line: Line, addon: DataAddon, now: datetime) -> AddonPurchase:
    if line.kind != "mobile" or line.status != "active":
        raise AccountError("Data add-ons can only go on an active mobile line.")
    if current_plan(line, now.date()).data_gb is None:
        raise AccountError("Your plan already has unlimited data, so there's no need for a Boost.")
    purchase = AddonPurchase(confirmation=f"ADD-{secrets.token_hex(4).upper()}", line_id=line.id,
                             data_gb=addon.data_gb, price_pence=addon.price_pence,
                             cycle_start=cycle_start(now.date()), purchased_at=now)
    session.add(purchase)
    session.flush()
    return purchase
