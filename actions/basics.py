"""Helping the customer when the assistant doesn't understand."""

from __future__ import annotations

from rasa_sdk import Action
from rasa_sdk.events import SlotSet

from actions.base import VERIFICATION_SLOTS, offer_human
from actions.knowledge import answer_for, is_voice, send


class ActionReprompt(Action):
    """A message no intent fits: try the help articles first; failing that, first miss:
    rephrase with options; second miss in a row: offer a person."""

    def name(self) -> str:
        return "action_reprompt"

    async def run(self, dispatcher, tracker, domain):
        answer = await answer_for(tracker)
        if answer is not None and answer.status in ("answered", "refused"):
            send(dispatcher, answer, is_voice(tracker))
            return []
        previous_bot_action = next(
            (event.get("name") for event in reversed(tracker.events)
             if event.get("event") == "action"
             and event.get("name") not in ("action_listen", "action_extract_slots", None)), None)
        if previous_bot_action == self.name():
            dispatcher.utter_message(response="utter_reprompt_offer_human")
            return offer_human("the assistant did not understand the request")
        dispatcher.utter_message(response="utter_reprompt")
        return []


class ActionCancel(Action):
    """Stops the current task and forgets its answers; verification is kept."""

    def name(self) -> str:
        return "action_cancel"

    def run(self, dispatcher, tracker, domain):
        task_slots = {slot for form in domain.get("forms", {}).values()
                      for slot in form.get("required_slots", [])} - set(VERIFICATION_SLOTS)
        dispatcher.utter_message(response="utter_cancelled")
        return [SlotSet(slot, None) for slot in sorted(task_slots) if tracker.get_slot(slot) is not None]
