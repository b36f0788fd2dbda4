"""Identity verification: who the customer says they are, and proving it."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import clock
from hotline.spoken import normalize
from hotline.db.models import Customer, Line

_ACCOUNT = re.compile(r"\bacc(?:ount)?[\s#:-]*(\d{7})\b", re.I)
_BARE_ACCOUNT = re.compile(r"^\s*([1-9]\d{6})\s*$")
_PHONE_CHARS = re.compile(r"[\s().-]")
_PIN = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_MONTHS = {name: index for index, name in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}


@dataclass(frozen=True)
class Identifier:
    kind: str  # account | phone
    value: str  # ACC-1234567 or +447911123456


def parse_identifier(text: str) -> Identifier | None:
    """An account number or UK phone number in whatever way people type or say them."""
    text = normalize(text)
    if match := _ACCOUNT.search(text) or _BARE_ACCOUNT.match(text):
        return Identifier("account", f"ACC-{match.group(1)}")
    for token in re.findall(r"\+?\d[\d\s().-]{8,20}\d", text):
        digits = _PHONE_CHARS.sub("", token)
        if digits.startswith("+44"):
            national = digits[3:]
        elif digits.startswith("0044"):
            national = digits[4:]
        elif digits.startswith("44") and len(digits) == 12:
            national = digits[2:]
        elif digits.startswith("0"):
            national = digits[1:]
        else:
            continue
        if len(national) == 10 and national.isdigit() and national[0] in "123789":
            return Identifier("phone", f"+44{national}")
    return None


class InvalidDate(ValueError):
    """A date that cannot exist, such as 31 February."""


def parse_date_of_birth(text: str) -> date | None:
    """A date in the common UK and ISO ways of writing or saying it; raises InvalidDate for impossible ones."""
    text = normalize(text).lower().replace(",", " ")
    numeric = re.search(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b", text)
    if numeric:
        year, month, day = (int(part) for part in numeric.groups())
    elif numeric := re.search(r"\b(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})\b", text) or re.search(
            r"\b(\d{1,2})(?:st|nd|rd|th)\s+of\s+the\s+(\d{1,2})(?:st|nd|rd|th)\s+(\d{4}|\d{2})\b", text):  # "the fifth of the eleventh"
        day, month, year = (int(part) for part in numeric.groups())
    else:
        words = re.search(
            r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]{3,9})\s+(\d{4}|\d{2})\b", text
        ) or re.search(r"\b([a-z]{3,9})\s+(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?\s+(\d{4}|\d{2})\b", text)
        if not words:
            return None
        first, second, year_text = words.groups()
        day_text, month_text = (first, second) if first.isdigit() else (second, first)
        month = _MONTHS.get(month_text[:3])
        if month is None:
            return None
        day, year = int(day_text), int(year_text)
    if year < 100:
        year += 1900 if year > clock.today().year % 100 else 2000
    try:
        return date(year, month, day)
    except ValueError as error:
        raise InvalidDate(str(error)) from error


def parse_pin(text: str) -> str | None:
    text = normalize(text)
    match = _PIN.search(text)
    return match.group(1) if match and not re.search(r"\d{5}", text) else None


def find_customer(session: Session, identifier: Identifier) -> Customer | None:
    if identifier.kind == "account":
        return session.scalar(select(Customer).where(Customer.account_number == identifier.value))
    line = session.scalar(select(Line).where(Line.number == identifier.value))
    return line.customer if line else None


def pin_matches(customer: Customer, pin: str) -> bool:
    _, iterations, salt, expected = customer.pin_hash.split("$")
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt), int(iterations))
    return hmac.compare_digest(digest.hex(), expected)


def secret_matches(customer: Customer, text: str) -> bool:
    """True when the text holds the customer's PIN or date of birth.

    Raises InvalidDate when the text is a date that cannot exist.
    """
    born = parse_date_of_birth(text)
    if born is not None:
        return born == customer.date_of_birth
    pin = parse_pin(text)
    return pin is not None and pin_matches(customer, pin)
