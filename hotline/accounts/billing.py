"""Balance, bills, bill explanations and payments."""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.accounts import AccountError
from hotline.db.models import Bill, Customer, Payment, PaymentCard

MONTH_NAMES = ["january", "february", "march", "april", "may", "june", "july",
               "august", "september", "october", "november", "december"]
CATEGORY_LABELS = {
    "plan": "plan charges", "addon": "data add-ons", "roaming": "roaming",
    "international": "international calls", "late_fee": "late payment fees",
    "proration": "plan change adjustments", "device": "device payments", "discount": "discounts",
}


@dataclass(frozen=True)
class AccountSummary:
    balance_pence: int
    latest_bill: Bill
    overdue_bills: list[Bill]
    autopay: bool


@dataclass(frozen=True)
class BillExplanation:
    bill: Bill
    previous: Bill | None
    changes: dict[str, int] = field(default_factory=dict)  # category -> difference in pence


def customer(session: Session, customer_id: int) -> Customer:
    found = session.get(Customer, customer_id)
    if found is None:
        raise AccountError("I can't find that account any more.")
    return found


def bill_status(bill: Bill, today: date) -> str:
    if bill.outstanding_pence <= 0:
        return "paid"
    return "overdue" if bill.due_on < today else "due"


def summary(session: Session, customer_id: int, today: date) -> AccountSummary:
    account = customer(session, customer_id)
    if not account.bills:
        raise AccountError("There are no bills on this account yet.")
    unpaid = [bill for bill in account.bills if bill.outstanding_pence > 0]
    return AccountSummary(
        balance_pence=sum(bill.outstanding_pence for bill in unpaid),
        latest_bill=account.bills[-1],
        overdue_bills=[bill for bill in unpaid if bill_status(bill, today) == "overdue"],
        autopay=account.autopay,
    )


def month_number(month: str) -> int | None:
    key = month.strip().lower()[:3]
    return next((i for i, name in enumerate(MONTH_NAMES, 1) if name.startswith(key)), None) if len(key) == 3 else None


def explain(session: Session, customer_id: int, month: str | None = None) -> BillExplanation:
    """The bill for a month (default: the latest) and what changed since the one before."""
    bills = customer(session, customer_id).bills
    if not bills:
        raise AccountError("There are no bills on this account yet.")
    index = len(bills) - 1
    if month:
        number = month_number(month)
        if number is None:
            raise AccountError(f"I don't recognise '{month}' as a month.")
        matches = [i for i, bill in enumerate(bills) if bill.period_start.month == number]
        if not matches:
            covered = ", ".join(bill.period_start.strftime("%B") for bill in bills)
            raise AccountError(f"I only have bills for {covered}.")
        index = matches[-1]
    bill = bills[index]
    previous = bills[index - 1] if index > 0 else None
    changes: dict[str, int] = {}
    if previous:
        totals: dict[str, int] = defaultdict(int)
        for item in bill.items:
            totals[item.category] += item.amount_pence
        for item in previous.items:
            totals[item.category] -= item.amount_pence
        changes = {category: delta for category, delta in totals.items() if delta}
    return BillExplanation(bill=bill, previous=previous, changes=changes)


def find_card(session: Session, customer_id: int, last4: str) -> PaymentCard | None:
    return session.scalar(select(PaymentCard).where(
        PaymentCard.customer_id == customer_id, PaymentCard.last4 == last4))


def pay(session: Session, customer_id: int, amount_pence: int, card_last4: str,
        now: datetime) -> Payment:
    """Take a payment with a stored card and allocate it to the oldest unpaid bills."""
    account = customer(session, customer_id)
    balance = sum(bill.outstanding_pence for bill in account.bills)
    if amount_pence <= 0:
        raise AccountError("The amount has to be more than £0.")
    if amount_pence > balance:
        raise AccountError("That is more than you owe.")
    card = find_card(session, customer_id, card_last4)
    if card is None:
        raise AccountError(f"There's no stored card ending {card_last4} on this account.")
    if card.expiry < now.date().replace(day=1):
        raise AccountError(f"The card ending {card_last4} has expired.")
    remaining = amount_pence
    for bill in account.bills:
        applied = min(remaining, bill.outstanding_pence)
        bill.paid_pence += applied
        remaining -= applied
    payment = Payment(confirmation=f"PAY-{secrets.token_hex(4).upper()}", customer_id=customer_id,
                      card_id=card.id, amount_pence=amount_pence, paid_at=now)
    session.add(payment)
    session.flush()
    return payment
