"""Plans: listing, comparing, and changing a line's plan with proration."""

from __future__ import annotations

import calendar
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.accounts import AccountError
from hotline.accounts.lines import current_plan
from hotline.db.models import Line, Plan, PlanChange, Subscription


def all_plans(session: Session, kind: str | None = None) -> list[Plan]:
    query = select(Plan).order_by(Plan.kind.desc(), Plan.monthly_price_pence)
    if kind:
        query = query.where(Plan.kind == kind)
    return list(session.scalars(query))


def find_plan(session: Session, name: str) -> Plan | None:
    """A plan by its name, forgiving case, spacing and a trailing 'plan'."""
    wanted = " ".join(name.lower().replace("plan", "").replace("-", " ").split())
    return next((plan for plan in all_plans(session) if plan.name.lower() == wanted), None)


@dataclass(frozen=True)
class PlanChangeQuote:
    line: Line
    current: Plan
    target: Plan
    effective_on: date
    proration_pence: int

    @property
    def is_upgrade(self) -> bool:
        return self.target.monthly_price_pence > self.current.monthly_price_pence


def quote_change(line: Line, target: Plan, today: date) -> PlanChangeQuote:
    """Upgrades start today with a prorated charge; downgrades start next cycle."""
    current = current_plan(line, today)
    if target.id == current.id:
        raise AccountError(f"That line is already on {target.name}.")
    if target.kind != line.kind:
        raise AccountError(f"{target.name} is a {target.kind} plan; that line is {line.kind}.")
    days_in_cycle = calendar.monthrange(today.year, today.month)[1]
    next_cycle = today.replace(day=1) + timedelta(days=days_in_cycle)
    if target.monthly_price_pence > current.monthly_price_pence:
        remaining_days = days_in_cycle - today.day + 1
        difference = target.monthly_price_pence - current.monthly_price_pence
        return PlanChangeQuote(line, current, target, today,
                               round(difference * remaining_days / days_in_cycle))
    return PlanChangeQuote(line, current, target, next_cycle, 0)


def change_plan(session: Session, quote: PlanChangeQuote, now: datetime) -> PlanChange:
    for subscription in quote.line.subscriptions:
        if subscription.ended_on is None or subscription.ended_on > quote.effective_on:
            if subscription.started_on >= quote.effective_on:
                session.delete(subscription)  # an earlier scheduled change is replaced
            else:
                subscription.ended_on = quote.effective_on
    session.flush()
    session.refresh(quote.line)
    quote.line.subscriptions.append(Subscription(plan_id=quote.target.id,
                                                 started_on=quote.effective_on, ended_on=None))
    change = PlanChange(confirmation=f"PLN-{secrets.token_hex(4).upper()}", line_id=quote.line.id,
                        from_plan_id=quote.current.id, to_plan_id=quote.target.id,
                        requested_at=now, effective_on=quote.effective_on,
                        proration_pence=quote.proration_pence)
    session.add(change)
    session.flush()
    return change
