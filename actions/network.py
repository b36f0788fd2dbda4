"""Outage checks, guided troubleshooting that ends in a trouble ticket, and ticket status."""

from __future__ import annotations

from typing import Any, ClassVar

from rasa_sdk import Action, FormValidationAction
from rasa_sdk.events import SlotSet

from actions.base import AccountAction, AccountFormValidator, verified_customer_id
from hotline.accounts import network
from hotline.accounts.billing import customer as load_customer
from hotline.clock import now
from hotline.db import session_scope
from hotline.db.models import Outage

TROUBLESHOOTING_STEPS = {
    "mobile_data": ("fixed_by_airplane_mode", "fixed_by_restart", "fixed_by_network_reset"),
    "home_internet": ("fixed_by_router_restart", "fixed_by_cable_check", "fixed_by_wired_test"),
}
TICKET_SUMMARIES = {
    "mobile_data": "Slow or no mobile data",
    "home_internet": "Home internet not working properly",
}


def describe_outages(outages: list[Outage], place: str) -> str:
    if not outages:
        return f"I can't see any known problems around {place} right now."
    rows = []
    for outage in outages:
        if outage.resolved_at:
            rows.append(f"• Fixed on {outage.resolved_at:%d %B at %H:%M}: {outage.summary}.")
        else:
            rows.append(f"• {outage.summary} (since {outage.started_at:%d %B %H:%M}; we expect it fixed by "
                        f"{outage.estimated_fix_at:%d %B %H:%M}).")
    return f"Here's what I know about the network around {place}:\n" + "\n".join(rows)


class ValidateOutageForm(FormValidationAction):
    """Asks where to check, unless the verified customer's own postcode can be used."""

    def name(self) -> str:
        return "validate_outage_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        return [] if tracker.get_slot("verified") else ["location"]

    def extract_location(self, dispatcher, tracker, domain) -> dict[str, Any]:
        answer = AccountFormValidator.answer_text(tracker, "location", network.postcode_district)
        return {"location": answer.strip()} if answer else {}

    def validate_location(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        return {"location": str(value)} if len(str(value).strip()) >= 2 else {"location": None}


class ActionCheckOutage(Action):
    def name(self) -> str:
        return "action_check_outage"

    def run(self, dispatcher, tracker, domain):
        place = tracker.get_slot("location")
        with session_scope() as session:
            customer_id = verified_customer_id(session, tracker)
            if not place and customer_id:
                place = load_customer(session, customer_id).postcode
            if not place:
                dispatcher.utter_message(response="utter_ask_location")
                return []
            text = describe_outages(network.find_outages(session, place, now()), place)
        dispatcher.utter_message(text=text)
        return [SlotSet("location", None)]


class TroubleshootingForm(AccountFormValidator):
    """Guided fixes first; only if none works, verification and a ticket."""

    category: ClassVar[str]
    asks_line = True

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        steps = TROUBLESHOOTING_STEPS[self.category]
        for index, step in enumerate(steps):
            if tracker.get_slot(step) is True:
                return list(steps[: index + 1])
        return list(steps) + await super().required_slots(domain_slots, dispatcher, tracker, domain)

    def _step_answer(self, dispatcher, tracker, domain) -> dict[str, Any]:
        step = tracker.get_slot("requested_slot")
        return self.yes_no(tracker, step) if step in TROUBLESHOOTING_STEPS[self.category] else {}

    # The SDK looks for one extract_<slot> method per slot; every step is a yes/no answer.
    extract_fixed_by_airplane_mode = extract_fixed_by_restart = extract_fixed_by_network_reset = _step_answer
    extract_fixed_by_router_restart = extract_fixed_by_cable_check = extract_fixed_by_wired_test = _step_answer


class ValidateMobileDataTroubleshootingForm(TroubleshootingForm):
    form = "mobile_data_troubleshooting_form"
    category = "mobile_data"
    line_kind = "mobile"


class ValidateHomeInternetTroubleshootingForm(TroubleshootingForm):
    form = "home_internet_troubleshooting_form"
    category = "home_internet"
    line_kind = "broadband"


class ActionFinishTroubleshooting(AccountAction):
    """Celebrates a fix, or opens a trouble ticket (mentioning any outage nearby)."""

    action_name = "action_finish_troubleshooting"
    form_slots = ("line_id",) + sum(TROUBLESHOOTING_STEPS.values(), ())

    def run(self, dispatcher, tracker, domain):
        if any(tracker.get_slot(step) is True for step in self.form_slots[1:]):
            dispatcher.utter_message(response="utter_troubleshooting_fixed")
            return [SlotSet(slot, None) for slot in self.form_slots]
        return super().run(dispatcher, tracker, domain)

    def act(self, dispatcher, tracker, session, customer_id):
        category = next(name for name, steps in TROUBLESHOOTING_STEPS.items()
                        if tracker.get_slot(steps[0]) is not None)
        line = self.chosen_line(session, tracker, customer_id)
        account = load_customer(session, customer_id)
        service = "mobile" if category == "mobile_data" else "broadband"
        outages = [o for o in network.find_outages(session, account.postcode, now())
                   if o.service == service and o.resolved_at is None]
        tried = [step.removeprefix("fixed_by_").replace("_", " ") for step in TROUBLESHOOTING_STEPS[category]]
        summary = TICKET_SUMMARIES[category] + (f" (known outage: {outages[0].summary})" if outages else "")
        ticket, created = network.open_ticket(session, customer_id=customer_id, line_id=line.id,
                                              category=category, summary=summary, steps_tried=tried, now=now())
        logged = (f"I've logged trouble ticket {ticket.reference}" if created else
                  f"You already have an open ticket for this, {ticket.reference}; I've added today's checks to it")
        text = (f"Thanks for trying those. {logged} for your line ending {line.number[-4:]}. We aim to fix it by "
                f"{ticket.estimated_fix_on:%A %d %B} and we'll text you updates.")
        if outages:
            text = (f"There's a known problem near {account.postcode.split()[0]}: {outages[0].summary}. "
                    f"Engineers expect it fixed by {outages[0].estimated_fix_at:%d %B %H:%M}. " + text)
        dispatcher.utter_message(text=text)
        return []


class ValidateTicketStatusForm(AccountFormValidator):
    form = "ticket_status_form"


class ActionTicketStatus(AccountAction):
    action_name = "action_ticket_status"

    def act(self, dispatcher, tracker, session, customer_id):
        mentioned = next((event.get("text") for event in reversed(tracker.events)
                          if event.get("event") == "user" and "tt" in (event.get("text") or "").lower()), None)
        tickets = network.customer_tickets(session, customer_id, mentioned)
        if not tickets:
            dispatcher.utter_message(text="You don't have any trouble tickets with us.")
            return []
        rows = [f"• {t.reference} ({t.summary}): {t.status.replace('_', ' ')}"
                + (f", expected fix by {t.estimated_fix_on:%d %B}" if t.status != "resolved" and t.estimated_fix_on else "")
                + f". Last update {t.updated_at:%d %B}." for t in tickets[:3]]
        dispatcher.utter_message(text="Your tickets:\n" + "\n".join(rows))
        return []
