"""SIM replacement, eSIM activation, PUK codes, and lost or stolen phones."""

from __future__ import annotations

from typing import Any

from actions.base import AccountAction, AccountFormValidator
from hotline.accounts import sim
from hotline.accounts.lines import describe
from hotline.clock import now


class MobileLineForm(AccountFormValidator):
    """A form about one mobile line, with an optional yes/no confirmation slot."""

    asks_line = True
    line_kind = "mobile"

    def extract_sim_confirmed(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return self.yes_no(tracker, "sim_confirmed")

    def extract_esim_confirmed(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return self.yes_no(tracker, "esim_confirmed")

    def extract_suspend_confirmed(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return self.yes_no(tracker, "suspend_confirmed")


class ValidateSimReplacementForm(MobileLineForm):
    form = "sim_replacement_form"
    task_slots = ("sim_confirmed",)
    line_statuses = ("active", "suspended")  # a new SIM is how a lost phone's number comes back


class ValidateEsimForm(MobileLineForm):
    form = "esim_form"
    task_slots = ("esim_confirmed",)


class ValidatePukForm(MobileLineForm):
    form = "puk_form"


class ValidateLostPhoneForm(MobileLineForm):
    form = "lost_phone_form"
    task_slots = ("suspend_confirmed",)


class ActionReplaceSim(AccountAction):
    action_name = "action_replace_sim"
    form_slots = ("line_id", "sim_confirmed")

    def act(self, dispatcher, tracker, session, customer_id):
        if not tracker.get_slot("sim_confirmed"):
            dispatcher.utter_message(response="utter_sim_cancelled")
            return []
        line = self.chosen_line(session, tracker, customer_id)
        order = sim.order_replacement_sim(session, line, now())
        dispatcher.utter_message(
            text=f"Your new SIM for the {describe(line)} is on its way (order {order.reference}); it usually "
                 "arrives in 1-2 working days. Pop it in and it activates within an hour.")
        return []


class ActionActivateEsim(AccountAction):
    action_name = "action_activate_esim"
    form_slots = ("line_id", "esim_confirmed")

    def act(self, dispatcher, tracker, session, customer_id):
        if not tracker.get_slot("esim_confirmed"):
            dispatcher.utter_message(response="utter_sim_cancelled")
            return []
        line = self.chosen_line(session, tracker, customer_id)
        order = sim.activate_esim(session, line, now())
        dispatcher.utter_message(
            text=f"Your eSIM for the {describe(line)} is ready (reference {order.reference}). We've emailed a QR code "
                 "to the address on your account. On the phone, go to Settings > Mobile/Cellular > Add eSIM and scan "
                 f"it, or enter this activation code by hand: {order.activation_code}")
        return []


class ActionGivePuk(AccountAction):
    action_name = "action_give_puk"
    form_slots = ("line_id",)

    def act(self, dispatcher, tracker, session, customer_id):
        line = self.chosen_line(session, tracker, customer_id)
        dispatcher.utter_message(
            text=f"The PUK code for the {describe(line)} is {sim.puk_for(line)}. Enter it when the phone asks, then "
                 "choose a new SIM PIN. Careful: 10 wrong PUK attempts block the SIM for good.")
        return []


class ActionSuspendLine(AccountAction):
    action_name = "action_suspend_line"
    form_slots = ("line_id", "suspend_confirmed")

    def act(self, dispatcher, tracker, session, customer_id):
        if not tracker.get_slot("suspend_confirmed"):
            dispatcher.utter_message(response="utter_lost_phone_not_suspended")
            return []
        line = self.chosen_line(session, tracker, customer_id)
        sim.suspend_line(session, line, "lost or stolen phone")
        dispatcher.utter_message(
            text=f"Done: your {describe(line)} is suspended from now, so nobody can use it. If it was stolen, "
                 "report it to the police and ask us for a replacement SIM to get your number back.",
            buttons=[{"title": "Order a replacement SIM", "payload": "/replace_sim"}])
        return []
