"""Network problems: outages by area or postcode, and trouble tickets."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hotline.accounts import AccountError
from hotline.db.models import Outage, TroubleTicket

_POSTCODE = re.compile(r"\b([a-z]{1,2}\d[a-z\d]?)\s*(\d[a-z]{2})?\b", re.I)
_TICKET = re.compile(r"\btt[\s-]?(\d{7})\b", re.I)


def postcode_district(text: str) -> str | None:
    match = _POSTCODE.search(text)
    return match.group(1).upper() if match else None


def find_outages(session: Session, location: str, now: datetime) -> list[Outage]:
    """Outages that are live, or were fixed in the last 24 hours, for an area or postcode."""
    district = postcode_district(location)
    area = location.strip().lower()
    conditions = [Outage.area.ilike(f"%{area}%")] if len(area) >= 3 else []
    if district:
        conditions.append(Outage.postcode_district == district)
    if not conditions:
        return []
    query = select(Outage).where(or_(*conditions)).where(
        or_(Outage.resolved_at.is_(None), Outage.resolved_at >= now - timedelta(hours=24)))
    return list(session.scalars(query.order_by(Outage.started_at)))


def open_ticket(session: Session, *, customer_id: int, line_id: int | None, category: str,
                summary: str, steps_tried: list[str], now: datetime,
                reuse_open: bool = True) -> tuple[TroubleTicket, bool]:
    """A new ticket, or (with reuse_open) the customer's open one for the same problem,
    updated; and whether it is new."""
    existing = reuse_open and session.scalar(select(TroubleTicket).where(
        TroubleTicket.customer_id == customer_id, TroubleTicket.category == category,
        TroubleTicket.status != "resolved"))
    if existing:
        if steps_tried:
            existing.steps_tried = "; ".join(steps_tried)[:255]
        existing.updated_at = now
        return existing, False
    ticket = TroubleTicket(
        reference=f"TT-{secrets.randbelow(9_000_000) + 1_000_000}", customer_id=customer_id,
        line_id=line_id, category=category, summary=summary[:255],
        steps_tried="; ".join(steps_tried)[:255], status="open", created_at=now, updated_at=now,
        estimated_fix_on=(now + timedelta(days=2)).date())
    session.add(ticket)
    session.flush()
    return ticket, True


def customer_tickets(session: Session, customer_id: int, reference_text: str | None = None
                     ) -> list[TroubleTicket]:
    query = select(TroubleTicket).where(TroubleTicket.customer_id == customer_id)
    if reference_text and (match := _TICKET.search(reference_text)):
        query = query.where(TroubleTicket.reference == f"TT-{match.group(1)}")
    tickets = list(session.scalars(query.order_by(TroubleTicket.created_at.desc())))
    if reference_text and _TICKET.search(reference_text) and not tickets:
        raise AccountError("I can't find a ticket with that number on your account.")
    return tickets
