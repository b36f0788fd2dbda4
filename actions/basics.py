"""Helping the customer when the assistant doesn't understand."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet

from actions.base import VERIFICATION_SLOTS, latest_intent, offer_human
from actions.knowledge import answer_for, is_voice, send
from hotline.accounts.identity import parse_identifier
from hotline.intents import group_of


def volunteers_identifier(tracker: Tracker) -> bool:
    """A chat that opens with "ACC-1000003": the customer means to be verified."""
    return (not tracker.active_loop and not tracker.get_slot("verified")
            and parse_identifier(tracker.latest_message.get("text") or "") is not None)


class ActionReprompt(Action):
    """A message no intent fits, or a turn no policy is sure how to go on with (Rasa's core
    fallback): an account or phone number before any task starts verification; a best guess
    among near misses asks which one ("see your bill, have it explained, or pay it?"); otherwise
    try the help articles first; failing that, first miss: rephrase with options; second miss in
    a row: offer a person, once.

    Every path ends by listening. Returning nothing would let the core fallback predict this
    action again and again until Rasa's circuit breaker stops the turn, and every later message
    in the conversation would then go unanswered until the session expired. The customer's
    message stays in the tracker (no UserUtteranceReverted, as Rasa's default fallback does),
    so transcripts and the next prediction keep it.
    """

    def name(self) -> str:
        return "action_reprompt"

    async def run(self, dispatcher, tracker, domain):
        if volunteers_identifier(tracker):
            return [FollowupAction("verification_form")]  # it checks the number, asks for the PIN, listens
        return [*await self.reply(dispatcher, tracker), FollowupAction("action_listen")]

    async def reply(self, dispatcher, tracker) -> list[EventType]:
        second_miss = self.second_miss(tracker)
        guess = next((r.get("name") for r in tracker.latest_message.get("intent_ranking") or []
                      if r.get("name") != "nlu_fallback"), None)
        if (group := group_of(guess)) and not second_miss and latest_intent(tracker) == "nlu_fallback":
            dispatcher.utter_message(response=f"utter_which_{group}")
            return []
        answer = await answer_for(tracker)
        if answer is not None and answer.status in ("answered", "refused"):
            send(dispatcher, answer, is_voice(tracker))
            return []
        if second_miss:
            dispatcher.utter_message(response="utter_reprompt_offer_human")
            return offer_human("the assistant did not understand the request")
        dispatcher.utter_message(response="utter_reprompt")
        return []

    def second_miss(self, tracker) -> bool:
        previous_bot_action = next(
            (event.get("name") for event in reversed(tracker.events)
             if event.get("event") == "action"
             and event.get("name") not in ("action_listen", "action_extract_slots", None)), None)
        return previous_bot_action == self.name() and not tracker.get_slot("human_offered")


class ActionCancel(Action):
    """Stops the current task and forgets its answers; verification is kept."""

    def name(self) -> str:
        return "action_cancel"

    def run(self, dispatcher, tracker, domain):
        task_slots = {slot for form in domain.get("forms", {}).values()
                      for slot in form.get("required_slots", [])} - set(VERIFICATION_SLOTS)
        dispatcher.utter_message(response="utter_cancelled")
        return [SlotSet(slot, None) for slot in sorted(task_slots) if tracker.get_slot(slot) is not None]
