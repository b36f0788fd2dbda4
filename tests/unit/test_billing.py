"""Balance, bill explanations and payments, against the seeded database, on every awkward day."""

from datetime import date

import pytest

from actions.billing import ActionExplainBill, ActionPayBill, ActionShowBill, ValidatePayBillForm
from hotline import clock
from hotline.accounts import AccountError, billing
from hotline.accounts.money import format_pence
from tests.conftest import on_awkward_days
from tests.unit.helpers import verify

pytestmark = on_awkward_days


def test_overdue_customer_sees_overdue_amount_and_late_fee(conversation, session, today):
    verify(conversation, "ACC-1000002")
    conversation.run(ActionShowBill())
    text = conversation.messages[0]["text"]
    summary = billing.summary(session, conversation.slots["customer_id"], today)
    overdue = summary.overdue_bills
    assert overdue and all(bill.due_on < today for bill in overdue)
    assert f"⚠️ {format_pence(sum(b.outstanding_pence for b in overdue))} is overdue" in text
    assert f"Your balance is {format_pence(summary.balance_pence)}" in text
    assert any(item.category == "late_fee" for item in overdue[-1].items)


def test_explanation_lists_items_and_why_it_changed(conversation):
    verify(conversation, "ACC-1000001")
    conversation.run(ActionExplainBill())
    text = conversation.messages[0]["text"]
    assert "Roaming day passes in United States x5: £30.00" in text
    assert "roaming: +" in text  # Alice's last bill is higher because of roaming


def test_explaining_a_named_month_and_a_month_without_a_bill(conversation, session):
    verify(conversation, "ACC-1000001")
    bills = billing.customer(session, conversation.slots["customer_id"]).bills
    conversation.slots["month"] = bills[0].period_start.strftime("%B")
    conversation.run(ActionExplainBill())
    assert conversation.messages[0]["text"].startswith(f"Your {bills[0].period_start:%B %Y} bill")
    missing = next(m for m in ("January", "February", "March", "April", "May", "June", "July", "August",
                               "September", "October", "November", "December")
                   if m not in {b.period_start.strftime("%B") for b in bills})
    conversation.slots["month"] = missing
    conversation.run(ActionExplainBill())
    assert conversation.messages[0]["text"].startswith("I only have bills for")


def test_paying_the_full_balance_with_a_stored_card(conversation, session, today):
    verify(conversation, "ACC-1000002")
    customer_id = conversation.slots["customer_id"]
    balance = billing.summary(session, customer_id, today).balance_pence
    card = billing.customer(session, customer_id).cards[0].last4
    form = ValidatePayBillForm()
    conversation.say(form, "pay my bill", "pay_bill")
    assert conversation.slots["requested_slot"] == "payment_amount"
    conversation.say(form, "the full amount")
    assert conversation.slots["payment_amount"] == balance
    conversation.say(form, f"the card ending {card}")
    assert conversation.slots["requested_slot"] == "payment_confirmed"
    conversation.say(form, "yes", "affirm")
    assert conversation.slots["requested_slot"] is None
    conversation.run(ActionPayBill())
    assert "confirmation number is PAY-" in conversation.messages[0]["text"]
    assert "Your balance is now £0.00" in conversation.messages[0]["text"]
    assert conversation.slots["payment_amount"] is None  # cleared for the next request

    conversation.run(ActionShowBill())  # a later turn reads the payment back
    assert "Your balance is £0.00" in conversation.messages[0]["text"]


def test_payment_form_rejects_bad_amounts_and_unknown_cards(conversation, session):
    verify(conversation, "ACC-1000002")
    stored = {card.last4 for card in billing.customer(session, conversation.slots["customer_id"]).cards}
    unknown = next(f"{n:04d}" for n in range(10000) if f"{n:04d}" not in stored)
    form = ValidatePayBillForm()
    conversation.say(form, "pay", "pay_bill")
    conversation.say(form, "lots of money please")
    assert conversation.messages[0]["response"] == "utter_invalid_amount"
    conversation.say(form, "£999999")
    assert conversation.messages[0]["text"].startswith("You can pay between")
    conversation.say(form, "£10")
    assert conversation.slots["payment_amount"] == 1000
    conversation.say(form, f"the one ending {unknown}")
    assert conversation.slots["payment_card"] is None
    assert conversation.messages[0]["response"] == "utter_invalid_card"


def test_correcting_the_amount_before_confirming(conversation):
    verify(conversation, "ACC-1000002")
    form = ValidatePayBillForm()
    conversation.say(form, "pay", "pay_bill")
    conversation.say(form, "£10")
    conversation.say(form, "sorry, I meant £12", "correct")
    assert conversation.slots["payment_amount"] == 1200


def test_declining_the_confirmation_takes_no_payment(conversation, session, today):
    verify(conversation, "ACC-1000002")
    customer_id = conversation.slots["customer_id"]
    before = billing.summary(session, customer_id, today).balance_pence
    card = billing.customer(session, customer_id).cards[0].last4
    form = ValidatePayBillForm()
    for text, intent in (("pay", "pay_bill"), ("£5", "inform"), (card, "inform"), ("no", "deny")):
        conversation.say(form, text, intent)
    conversation.run(ActionPayBill())
    assert conversation.messages[0]["response"] == "utter_payment_cancelled"
    session.expire_all()
    assert billing.summary(session, customer_id, today).balance_pence == before


def test_service_refuses_overpayment_and_expired_cards(session, today):
    customer = billing.customer(session, 2)
    balance = billing.summary(session, 2, today).balance_pence
    with pytest.raises(AccountError, match="more than you owe"):
        billing.pay(session, 2, balance + 1, customer.cards[0].last4, clock.now())
    customer.cards[0].expiry = date(2020, 1, 1)
    with pytest.raises(AccountError, match="expired"):
        billing.pay(session, 2, 100, customer.cards[0].last4, clock.now())


def test_nothing_to_pay_ends_the_form_without_questions(conversation):
    verify(conversation, "ACC-1000001")  # Alice's bills are paid
    form = ValidatePayBillForm()
    conversation.say(form, "pay my bill", "pay_bill")
    assert conversation.slots["requested_slot"] is None
    conversation.run(ActionPayBill())
    assert conversation.messages[0]["response"] == "utter_nothing_to_pay"


def test_stopping_a_payment_forgets_its_answers_but_not_verification(conversation, domain):
    from actions.basics import ActionCancel

    verify(conversation, "ACC-1000002")
    form = ValidatePayBillForm()
    conversation.say(form, "pay", "pay_bill")
    conversation.say(form, "£10")
    conversation.run(ActionCancel(), "stop", "stop")
    assert conversation.messages[0]["response"] == "utter_cancelled"
    assert conversation.slots["payment_amount"] is None
    assert conversation.slots["verified"] is True
    conversation.say(form, "pay my bill", "pay_bill")
    assert conversation.slots["requested_slot"] == "payment_amount"  # asked afresh
