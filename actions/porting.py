"""Number porting: a PAC for leaving, and bringing a number in."""

from __future__ import annotations

from typing import Any

from actions.base import AccountAction, AccountFormValidator
from hotline.accounts import porting
from hotline.accounts.identity import parse_identifier
from hotline.accounts.lines import describe
from hotline.clock import now


class ValidatePortOutForm(AccountFormValidator):
    form = "port_out_form"
    asks_line = True
    line_kind = "mobile"


class ActionPortOut(AccountAction):
    action_name = "action_port_out"
    form_slots = ("line_id",)

    def act(self, dispatcher, tracker, session, customer_id):
        line = self.chosen_line(session, tracker, customer_id)
        request = porting.request_pac(session, line, now())
        dispatcher.utter_message(
            text=f"Your PAC for the {describe(line)} is {request.code}, valid until {request.expires_on:%d %B %Y}. "
                 "Give it to your new provider and they'll move your number within one working day; your Brightwave "
                 "service ends when the switch happens. We're sorry to see you go. Is there anything we could do to "
                 "keep you?")
        return []


class ValidatePortInForm(AccountFormValidator):
    form = "port_in_form"
    task_slots = ("port_number", "port_pac")
    asks_line = True
    line_kind = "mobile"

    def extract_port_number(self, dispatcher, tracker, domain) -> dict[str, Any]:
        if not tracker.get_slot("verified"):
            return {}  # a phone number before verification identifies the customer instead
        answer = self.answer_text(tracker, "port_number", parse_identifier)
        return {"port_number": answer} if answer else {}

    def validate_port_number(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        identifier = parse_identifier(str(value))
        if identifier is None or identifier.kind != "phone" or not identifier.value.startswith("+447"):
            dispatcher.utter_message(response="utter_invalid_port_number")
            return {"port_number": None}
        return {"port_number": identifier.value}

    def extract_port_pac(self, dispatcher, tracker, domain) -> dict[str, Any]:
        answer = self.answer_text(tracker, "port_pac", porting.parse_pac)
        return {"port_pac": answer} if answer else {}

    def validate_port_pac(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        pac = porting.parse_pac(str(value))
        if pac is None:
            dispatcher.utter_message(response="utter_invalid_pac")
            return {"port_pac": None}
        return {"port_pac": pac}


class ActionPortIn(AccountAction):
    action_name = "action_port_in"
    form_slots = ("line_id", "port_number", "port_pac")

    def act(self, dispatcher, tracker, session, customer_id):
        line = self.chosen_line(session, tracker, customer_id)
        request = porting.request_port_in(session, line, tracker.get_slot("port_number"),
                                          tracker.get_slot("port_pac"), now())
        dispatcher.utter_message(
            text=f"All set: your number ending {request.number[-4:]} moves to your {describe(line)} on "
                 f"{request.scheduled_on:%A %d %B} (reference {request.reference}). Keep your old SIM in until "
                 "it stops working, then switch to your Brightwave SIM.")
        return []
