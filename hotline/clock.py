"""The one place code reads the time, so every module agrees and tests can move it (time-machine)."""

from __future__ import annotations

from datetime import date, datetime


def now() -> datetime:
    return datetime.now().replace(microsecond=0)


def today() -> date:
    return now().date()
