"""Balance and current bill, bill explanations, and paying a bill."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from sqlalchemy.orm import Session

from actions.base import AccountAction, AccountFormValidator, latest_intent, verified_customer_id
from hotline.accounts import billing
from hotline.accounts.money import format_pence, parse_amount
from hotline.clock import now, today
from hotline.db import session_scope


class ValidateBillForm(AccountFormValidator):
    form = "bill_form"


class ValidateExplainBillForm(AccountFormValidator):
    form = "explain_bill_form"


class ActionShowBill(AccountAction):
    action_name = "action_show_bill"

    def act(self, dispatcher, tracker, session, customer_id):
        summary = billing.summary(session, customer_id, today())
        bill = summary.latest_bill
        status = billing.bill_status(bill, today())
        lines = [f"Your latest bill, for {bill.period_start:%B %Y}, is {format_pence(bill.total_pence)}, "
                 f"due on {bill.due_on:%d %B}."]
        if status == "paid":
            lines.append("It's paid in full.")
        if summary.overdue_bills:
            lines.append(f"⚠️ {format_pence(sum(b.outstanding_pence for b in summary.overdue_bills))} "
                         "is overdue. Paying it now avoids another late fee.")
        lines.append(f"Your balance is {format_pence(summary.balance_pence)}."
                     + (" Autopay is on, so it will be paid automatically." if summary.autopay and summary.balance_pence else ""))
        buttons = [{"title": "Explain my bill", "payload": "/explain_bill"}]
        if summary.balance_pence > 0:
            buttons.insert(0, {"title": "Pay now", "payload": "/pay_bill"})
        dispatcher.utter_message(text=" ".join(lines), buttons=buttons)
        return []


class ActionExplainBill(AccountAction):
    action_name = "action_explain_bill"

    def act(self, dispatcher, tracker, session, customer_id):
        explanation = billing.explain(session, customer_id, tracker.get_slot("month"))
        bill = explanation.bill
        rows = [f"Your {bill.period_start:%B %Y} bill comes to {format_pence(bill.total_pence)}:"]
        rows += [f"• {item.description}: {format_pence(item.amount_pence)}" for item in bill.items]
        previous = explanation.previous
        if previous is not None:
            difference = bill.total_pence - previous.total_pence
            if difference == 0:
                rows.append(f"That's the same as {previous.period_start:%B}.")
            else:
                direction = "more" if difference > 0 else "less"
                rows.append(f"That's {format_pence(abs(difference))} {direction} than {previous.period_start:%B} "
                            f"({format_pence(previous.total_pence)}), because of:")
                rows += [f"• {billing.CATEGORY_LABELS.get(category, category)}: "
                         f"{'+' if delta > 0 else '-'}{format_pence(abs(delta))}"
                         for category, delta in sorted(explanation.changes.items(), key=lambda kv: -abs(kv[1]))]
        dispatcher.utter_message(text="\n".join(rows))
        return []


class ValidatePayBillForm(AccountFormValidator):
    form = "pay_bill_form"
    task_slots = ("payment_amount", "payment_card", "payment_confirmed")

    @staticmethod
    def balance(tracker: Tracker) -> int:
        with session_scope() as session:
            customer_id = verified_customer_id(session, tracker)
            return billing.summary(session, customer_id, today()).balance_pence if customer_id else 0

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        slots = await super().required_slots(domain_slots, dispatcher, tracker, domain)
        if tracker.get_slot("verified") and self.balance(tracker) <= 0:
            return [slot for slot in slots if slot not in self.task_slots]  # nothing to ask: done
        return slots

    def extract_payment_amount(self, dispatcher, tracker, domain) -> dict[str, Any]:
        if not tracker.get_slot("verified"):
            return {}  # amounts are checked against the balance of a known customer
        text = tracker.latest_message.get("text") or ""
        volunteered = latest_intent(tracker) in {"pay_bill", "correct"} and parse_amount(text, 0)
        answer = self.answer_text(tracker, "payment_amount", lambda t: parse_amount(t, 1))
        if volunteered:  # "pay £20" or "actually make it £30"
            return {"payment_amount": text, "payment_confirmed": None}
        return {"payment_amount": answer} if answer else {}

    def validate_payment_amount(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        if isinstance(value, (int, float)):
            return {"payment_amount": value}
        balance = self.balance(tracker)
        amount = parse_amount(str(value), balance)
        if amount is None:
            dispatcher.utter_message(response="utter_invalid_amount")
            return {"payment_amount": None}
        if amount <= 0 or amount > balance:
            dispatcher.utter_message(text=f"You can pay between £1.00 and {format_pence(balance)}, your balance.")
            return {"payment_amount": None}
        return {"payment_amount": amount}

    def extract_payment_card(self, dispatcher, tracker, domain) -> dict[str, Any]:
        if not tracker.get_slot("verified"):
            return {}
        text = tracker.latest_message.get("text") or ""
        if latest_intent(tracker) in {"pay_bill", "correct"} and "ending" in text.lower():
            return {"payment_card": text, "payment_confirmed": None}
        answer = self.answer_text(tracker, "payment_card")
        return {"payment_card": answer} if answer else {}

    def validate_payment_card(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        digits = "".join(ch for ch in str(value) if ch.isdigit())[-4:]
        with session_scope() as session:
            customer_id = verified_customer_id(session, tracker)
            card = billing.find_card(session, customer_id, digits) if customer_id and len(digits) == 4 else None
        if card is None:
            dispatcher.utter_message(response="utter_invalid_card")
            return {"payment_card": None}
        return {"payment_card": digits}

    def extract_payment_confirmed(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return self.yes_no(tracker, "payment_confirmed")


def _stored_cards(session: Session, customer_id: int):
    return billing.customer(session, customer_id).cards


class ActionAskPaymentAmount(Action):
    def name(self) -> str:
        return "action_ask_payment_amount"

    def run(self, dispatcher, tracker, domain) -> list[EventType]:
        balance = ValidatePayBillForm.balance(tracker)
        dispatcher.utter_message(
            text=f"Your balance is {format_pence(balance)}. How much would you like to pay?",
            buttons=[{"title": f"Pay {format_pence(balance)}", "payload": "the full amount"}])
        return []


class ActionAskPaymentCard(Action):
    def name(self) -> str:
        return "action_ask_payment_card"

    def run(self, dispatcher, tracker, domain) -> list[EventType]:
        with session_scope() as session:
            customer_id = verified_customer_id(session, tracker)
            cards = _stored_cards(session, customer_id) if customer_id else []
            buttons = [{"title": f"{card.brand} ending {card.last4}", "payload": f"the card ending {card.last4}"}
                       for card in cards]
        dispatcher.utter_message(text="Which stored card should I use? Tell me its last four digits.",
                                 buttons=buttons)
        return []


class ActionAskPaymentConfirmed(Action):
    def name(self) -> str:
        return "action_ask_payment_confirmed"

    def run(self, dispatcher, tracker, domain) -> list[EventType]:
        amount = format_pence(int(tracker.get_slot("payment_amount")))
        dispatcher.utter_message(
            text=f"To confirm: pay {amount} with the card ending {tracker.get_slot('payment_card')}?",
            buttons=[{"title": "Yes, pay", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}])
        return []


class ActionPayBill(AccountAction):
    action_name = "action_pay_bill"
    form_slots = ("payment_amount", "payment_card", "payment_confirmed")

    def act(self, dispatcher, tracker, session, customer_id):
        if tracker.get_slot("payment_amount") is None:
            dispatcher.utter_message(response="utter_nothing_to_pay")
            return []
        if not tracker.get_slot("payment_confirmed"):
            dispatcher.utter_message(response="utter_payment_cancelled")
            return []
        payment = billing.pay(session, customer_id, int(tracker.get_slot("payment_amount")),
                              tracker.get_slot("payment_card"), now())
        balance = billing.summary(session, customer_id, today()).balance_pence
        dispatcher.utter_message(
            text=f"Done: {format_pence(payment.amount_pence)} paid with the card ending "
                 f"{tracker.get_slot('payment_card')}. Your confirmation number is {payment.confirmation}. "
                 f"Your balance is now {format_pence(balance)}.")
        return []
