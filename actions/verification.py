"""Verifying identity on its own ("can you check it's me?")."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import AccountFormValidator, offer_human


class ValidateVerificationForm(AccountFormValidator):
    form = "verification_form"


class ActionVerificationComplete(Action):
    def name(self) -> str:
        return "action_verification_complete"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        if tracker.get_slot("verification_locked"):
            dispatcher.utter_message(response="utter_verification_locked")
            return offer_human("could not verify identity")
        dispatcher.utter_message(response="utter_verification_done")
        return []
