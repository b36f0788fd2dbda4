"""SIM cards and eSIMs, PUK codes, and suspending a lost or stolen phone's line."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.orm import Session

from hotline.accounts import AccountError
from hotline.db.models import Line, SimOrder
from hotline.db.seed import luhn_complete


def _new_iccid() -> str:
    return luhn_complete("8944" + "".join(secrets.choice("0123456789") for _ in range(14)))


def order_replacement_sim(session: Session, line: Line, now: datetime) -> SimOrder:
    if line.kind != "mobile":
        raise AccountError("Only mobile lines have SIM cards.")
    order = SimOrder(reference=f"SIM-{secrets.token_hex(3).upper()}", line_id=line.id,
                     kind="physical", new_iccid=_new_iccid(), activation_code=None,
                     status="dispatched", created_at=now)
    session.add(order)
    session.flush()
    return order


def activate_esim(session: Session, line: Line, now: datetime) -> SimOrder:
    """Issue an eSIM profile; the old SIM stops working once the profile is installed."""
    if line.kind != "mobile":
        raise AccountError("Only mobile lines can use an eSIM.")
    if line.status != "active":
        raise AccountError("That line is not active, so an eSIM can't be issued.")
    iccid = _new_iccid()
    order = SimOrder(reference=f"ESIM-{secrets.token_hex(3).upper()}", line_id=line.id,
                     kind="esim", new_iccid=iccid,
                     activation_code=f"LPA:1$smdp.brightwave.example${secrets.token_hex(8).upper()}",
                     status="ready", created_at=now)
    line.esim = True
    line.iccid = iccid
    session.add(order)
    session.flush()
    return order


def puk_for(line: Line) -> str:
    if line.kind != "mobile" or not line.puk:
        raise AccountError("That line has no SIM, so there is no PUK code.")
    return line.puk


def suspend_line(session: Session, line: Line, reason: str) -> Line:
    if line.status == "suspended":
        raise AccountError("That line is already suspended.")
    if line.status != "active":
        raise AccountError("That line is not active.")
    line.status = "suspended"
    line.suspended_reason = reason
    session.flush()
    return line
