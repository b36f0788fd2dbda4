"""Helping the customer when the assistant doesn't understand."""

from __future__ import annotations

from rasa_sdk import Action

from actions.base import offer_human


class ActionReprompt(Action):
    """First miss: rephrase with options. Second miss in a row: offer a person."""

    def name(self) -> str:
        return "action_reprompt"

    def run(self, dispatcher, tracker, domain):
        previous_bot_action = next(
            (event.get("name") for event in reversed(tracker.events)
             if event.get("event") == "action"
             and event.get("name") not in ("action_listen", "action_extract_slots", None)), None)
        if previous_bot_action == self.name():
            dispatcher.utter_message(response="utter_reprompt_offer_human")
            return offer_human("the assistant did not understand the request")
        dispatcher.utter_message(response="utter_reprompt")
        return []
