"""Roaming rates by country, and switching roaming on or off."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction
from rasa_sdk.events import SlotSet

from actions.base import AccountAction, AccountFormValidator, verified_customer_id
from hotline.accounts import roaming
from hotline.accounts.lines import describe, eligible_lines
from hotline.accounts.money import format_pence
from hotline.clock import now, today
from hotline.db import session_scope


class ValidateRoamingRatesForm(FormValidationAction):
    """Rates need no verification; an unknown country gets a clear re-ask."""

    def name(self) -> str:
        return "validate_roaming_rates_form"

    def extract_country(self, dispatcher, tracker, domain) -> dict[str, Any]:
        if tracker.get_slot("country"):
            return {}
        with session_scope() as session:
            answer = AccountFormValidator.answer_text(
                tracker, "country", lambda text: roaming.find_country(session, text))
        return {"country": answer.strip()} if answer else {}

    def validate_country(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        with session_scope() as session:
            rate = roaming.find_country(session, str(value))
        if rate is None:
            dispatcher.utter_message(response="utter_unknown_country", country=value)
            return {"country": None}
        return {"country": rate.country}


class ActionRoamingRates(Action):
    def name(self) -> str:
        return "action_roaming_rates"

    def run(self, dispatcher, tracker, domain):
        country = tracker.get_slot("country")
        if not country:
            dispatcher.utter_message(text="Which country? Ask me like \"roaming rates in Japan\".")
            return []
        with session_scope() as session:
            rate = roaming.find_country(session, country or "")
            if rate is None:
                dispatcher.utter_message(response="utter_unknown_country", country=country)
                return [SlotSet("country", None)]
            customer_id = verified_customer_id(session, tracker)
            lines = eligible_lines(session, customer_id) if customer_id else []
            price = roaming.price_for_line(rate, lines[0] if lines else None, today())
            if price.included:
                text = f"Good news: using your phone in {rate.country} is included in your plan at no extra cost."
            else:
                text = (f"In {rate.country} a Roaming Day Pass costs {format_pence(price.day_pass_pence)} a day "
                        f"and lets you use your UK allowance. Without a pass: calls {format_pence(rate.per_minute_pence)}/min, "
                        f"texts {format_pence(rate.per_text_pence)}, data {format_pence(rate.per_mb_pence)}/MB.")
                if rate.zone == "europe":
                    text += " Essential, Unlimited and Unlimited Plus include Europe roaming."
        dispatcher.utter_message(text=text, buttons=[{"title": "Turn roaming on", "payload": "/enable_roaming"}])
        return []


class ValidateRoamingForm(AccountFormValidator):
    form = "roaming_form"
    asks_line = True
    line_kind = "mobile"


class ActionSetRoaming(AccountAction):
    action_name = "action_set_roaming"
    form_slots = ("line_id", "roaming_wanted")

    def act(self, dispatcher, tracker, session, customer_id):
        line = self.chosen_line(session, tracker, customer_id)
        enabled = bool(tracker.get_slot("roaming_wanted"))
        roaming.set_roaming(session, line, enabled, now())
        if enabled:
            text = (f"Roaming is now on for your {describe(line)}. In Europe your plan may include it; elsewhere "
                    "a Day Pass is charged only on days you use your phone.")
        else:
            text = f"Roaming is now off for your {describe(line)}: no roaming charges while it's off."
        dispatcher.utter_message(text=text)
        return []
