"""Identity checks that hold beyond one conversation.

Failures are stored and counted per account, phone number and client address, so neither a
new chat session nor a restart gives an attacker more guesses; a successful check is recorded
by the server, so account actions never trust a "verified" flag in the tracker sent to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hotline.db.models import Customer, VerificationFailure, VerifiedConversation
from hotline.settings import get_settings

CLIENT = "client"


def failure_keys(customer_id: int | None, client: str | None) -> list[str]:
    """What a failed check counts against: the account (found by its number or one of its phone
    numbers) and the client it came from, which also limits probing for unknown accounts."""
    return [f"account:{customer_id}"] * bool(customer_id) + [f"{CLIENT}:{client}"] * bool(client)


def _limit(key: str) -> int:
    settings = get_settings()
    return settings.verification_client_lock_failures if key.startswith(CLIENT) else settings.verification_lock_failures


def _window(now: datetime) -> datetime:
    return now - timedelta(minutes=get_settings().verification_lock_minutes)


def locked(session: Session, keys: list[str], now: datetime) -> bool:
    counts = dict(session.execute(
        select(VerificationFailure.key, func.count()).where(
            VerificationFailure.key.in_(keys), VerificationFailure.failed_at > _window(now))
        .group_by(VerificationFailure.key)).all())
    return any(counts.get(key, 0) >= _limit(key) for key in keys)


def record_failure(session: Session, keys: list[str], now: datetime) -> None:
    session.add_all(VerificationFailure(key=key, failed_at=now) for key in keys)
    session.flush()


def mark_verified(session: Session, conversation_id: str, customer: Customer, keys: list[str],
                  now: datetime) -> None:
    """Record the success; the account's own failures are forgiven (the client's are not)."""
    session.execute(delete(VerificationFailure).where(
        VerificationFailure.key.in_([key for key in keys if not key.startswith(CLIENT)])))
    session.merge(VerifiedConversation(conversation_id=conversation_id, customer_id=customer.id,
                                       expires_at=now + timedelta(minutes=get_settings().verified_for_minutes)))
    session.flush()


def verified_customer(session: Session, conversation_id: str, now: datetime) -> int | None:
    """Who this conversation verified as, if it did and has been in use recently (the hold is renewed)."""
    record = session.get(VerifiedConversation, conversation_id)
    if record is None or record.expires_at < now:
        return None
    record.expires_at = now + timedelta(minutes=get_settings().verified_for_minutes)
    return record.customer_id


def forget(session: Session, conversation_id: str) -> None:
    session.execute(delete(VerifiedConversation).where(VerifiedConversation.conversation_id == conversation_id))


@dataclass(frozen=True)
class Lock:
    """A locked key as staff see it: no phone number or address, only what kind it is."""

    key: str
    label: str
    failures: int
    until: datetime


def active_locks(session: Session, now: datetime) -> list[Lock]:
    rows = session.execute(
        select(VerificationFailure.key, func.count(), func.max(VerificationFailure.failed_at))
        .where(VerificationFailure.failed_at > _window(now)).group_by(VerificationFailure.key)).all()
    minutes = timedelta(minutes=get_settings().verification_lock_minutes)
    return [Lock(key, _label(session, key), count, last + minutes)
            for key, count, last in rows if count >= _limit(key)]


def _label(session: Session, key: str) -> str:
    kind, _, value = key.partition(":")
    if kind == "account":
        number = session.get(Customer, int(value)).account_number
        return f"Account {number[:6]}•••{number[-2:]}"
    return f"One client, browser or caller ({value[:6]})"


def lift(session: Session, key: str) -> bool:
    """Staff unlock: the key's failures are cleared."""
    return session.execute(delete(VerificationFailure).where(VerificationFailure.key == key)).rowcount > 0
