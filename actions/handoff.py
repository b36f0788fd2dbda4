"""Handing the conversation to a person, and logging complaints."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction
from rasa_sdk.events import SlotSet

from actions.base import AccountAction, AccountFormValidator, offer_human
from hotline.accounts import network
from hotline.clock import now
from hotline.ml.pii import get_pii_filter


class ValidateHandoffForm(FormValidationAction):
    """Asks for a reason only when the conversation hasn't already given one."""

    def name(self) -> str:
        return "validate_handoff_form"

    def extract_handoff_reason(self, dispatcher, tracker, domain) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "handoff_reason":
            return {}
        text = (tracker.latest_message.get("text") or "").strip()
        return {"handoff_reason": text[:200]} if text and not text.startswith("/") else {}


class ActionHandoff(Action):
    """Tells the customer a person is coming and signals the channel to hand over."""

    def name(self) -> str:
        return "action_handoff"

    def run(self, dispatcher, tracker, domain):
        reason = tracker.get_slot("handoff_reason") or "customer asked for a person"
        dispatcher.utter_message(
            text="I'm connecting you to one of our team now. I've passed on what we've talked about, so you "
                 "won't need to repeat yourself.")
        dispatcher.utter_message(json_message={"handoff": {
            "reason": reason, "verified": bool(tracker.get_slot("verified")),
            "conversation_id": tracker.sender_id}})
        return [SlotSet("human_offered", False)]


class ActionDeclineHandoff(Action):
    def name(self) -> str:
        return "action_decline_handoff"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(response="utter_anything_else")
        return [SlotSet("human_offered", False), SlotSet("handoff_reason", None)]


class ValidateComplaintForm(AccountFormValidator):
    form = "complaint_form"
    task_slots = ("complaint_details",)

    def extract_complaint_details(self, dispatcher, tracker, domain) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "complaint_details":
            return {}
        text = (tracker.latest_message.get("text") or "").strip()
        return {"complaint_details": text[:255]} if len(text) >= 3 and not text.startswith("/") else {}


class ActionLogComplaint(AccountAction):
    action_name = "action_log_complaint"
    form_slots = ("complaint_details",)

    def act(self, dispatcher, tracker, session, customer_id):
        ticket, _ = network.open_ticket(session, customer_id=customer_id, line_id=None, category="complaint",
                                        summary=get_pii_filter().redact(tracker.get_slot("complaint_details")),
                                        steps_tried=[], now=now(),
                                        reuse_open=False)
        dispatcher.utter_message(
            text=f"I've logged your complaint as {ticket.reference}. Our complaints team replies within 2 working "
                 "days. Would you like to talk to someone now as well?")
        return offer_human("complaint " + ticket.reference)
