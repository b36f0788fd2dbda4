"""Number porting: PAC codes for leaving, and bringing a number in."""

from __future__ import annotations

import re
import secrets
import string
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.accounts import AccountError
from hotline.db.models import Line, PortRequest
from hotline.spoken import normalize

PAC_DAYS_VALID = 30
_PAC = re.compile(r"\b([a-z]{3})\s?(\d{6})\b", re.I)


def request_pac(session: Session, line: Line, now: datetime) -> PortRequest:
    """A PAC for leaving with this number; an unexpired one is given again."""
    if line.kind != "mobile":
        raise AccountError("Only mobile numbers can be ported with a PAC.")
    existing = session.scalar(select(PortRequest).where(
        PortRequest.line_id == line.id, PortRequest.direction == "out",
        PortRequest.expires_on >= now.date()))
    if existing:
        return existing
    code = "".join(secrets.choice(string.ascii_uppercase) for _ in range(3)) + \
        "".join(secrets.choice(string.digits) for _ in range(6))
    request = PortRequest(reference=f"PR-{secrets.token_hex(3).upper()}",
                          customer_id=line.customer_id, line_id=line.id, direction="out",
                          number=line.number, code=code, status="requested", requested_at=now,
                          expires_on=now.date() + timedelta(days=PAC_DAYS_VALID), scheduled_on=None)
    session.add(request)
    session.flush()
    return request


def parse_pac(text: str) -> str | None:
    text = normalize(text)
    match = _PAC.search(text)
    return (match.group(1) + match.group(2)).upper() if match else None


def request_port_in(session: Session, line: Line, number: str, pac: str,
                    now: datetime) -> PortRequest:
    """Move the customer's old number onto this line on the next working day."""
    if line.kind != "mobile":
        raise AccountError("Numbers can only be ported onto a mobile line.")
    if session.scalar(select(Line).where(Line.number == number)):
        raise AccountError("That number is already with Brightwave.")
    switch_day = now.date() + timedelta(days=1)
    while switch_day.weekday() >= 5:
        switch_day += timedelta(days=1)
    request = PortRequest(reference=f"PR-{secrets.token_hex(3).upper()}",
                          customer_id=line.customer_id, line_id=line.id, direction="in",
                          number=number, code=pac, status="scheduled", requested_at=now,
                          expires_on=None, scheduled_on=switch_day)
    session.add(request)
    session.flush()
    return request
