"""Choosing which of a customer's lines a request is about."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy.orm import Session

from hotline.accounts.billing import customer
from hotline.db.models import Line, Plan

ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3}


def eligible_lines(session: Session, customer_id: int, kind: str | None = "mobile",
                   statuses: tuple[str, ...] = ("active",)) -> list[Line]:
    return [line for line in customer(session, customer_id).lines
            if (kind is None or line.kind == kind) and line.status in statuses]


def describe(line: Line) -> str:
    label = "mobile" if line.kind == "mobile" else "home broadband"
    return f"{label} ending {line.number[-4:]}"


def choose_line(lines: list[Line], text: str) -> Line | None:
    """The line the customer means: by its last digits, full number, position or kind."""
    digits = re.sub(r"[^\d]", "", text)
    if len(digits) >= 4:
        matches = [line for line in lines if line.number.endswith(digits[-4:])]
        if len(matches) == 1:
            return matches[0]
    lowered = text.lower()
    for word, index in ORDINALS.items():
        if re.search(rf"\b{word}\b", lowered) and index < len(lines):
            return lines[index]
    for keyword, kind in (("broadband", "broadband"), ("home", "broadband"), ("fibre", "broadband"),
                          ("mobile", "mobile"), ("phone", "mobile")):
        of_kind = [line for line in lines if line.kind == kind]
        if keyword in lowered and len(of_kind) == 1:
            return of_kind[0]
    return None


def current_plan(line: Line, today: date) -> Plan:
    """The plan in force today (a scheduled change starts later)."""
    active = [s for s in line.subscriptions
              if s.started_on <= today and (s.ended_on is None or s.ended_on > today)]
    return (active or line.subscriptions)[-1].plan
