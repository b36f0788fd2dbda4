"""Listing and comparing plans, and changing a line's plan."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action
from rasa_sdk.events import SlotSet

from actions.base import AccountAction, AccountFormValidator
from hotline.accounts import AccountError, plans
from hotline.accounts.lines import describe
from hotline.accounts.money import format_pence
from hotline.clock import now, today
from hotline.db import session_scope
from hotline.db.models import Line, Plan


def plan_line(plan: Plan) -> str:
    return f"• {plan.name}, {format_pence(plan.monthly_price_pence)}/month: {plan.description}"


class ActionShowPlans(Action):
    """Lists all plans, or compares the ones the customer named."""

    def name(self) -> str:
        return "action_show_plans"

    def run(self, dispatcher, tracker, domain):
        names = [entity["value"] for entity in tracker.latest_message.get("entities", [])
                 if entity.get("entity") == "plan_name"]
        with session_scope() as session:
            named = [plan for plan in (plans.find_plan(session, name) for name in names) if plan]
            if len(named) >= 2:
                cheaper, dearer = sorted(named[:2], key=lambda plan: plan.monthly_price_pence)
                difference = dearer.monthly_price_pence - cheaper.monthly_price_pence
                text = ("Here's how they compare:\n" + "\n".join(map(plan_line, (cheaper, dearer)))
                        + f"\n{dearer.name} costs {format_pence(difference)} more per month.")
            elif named:
                text = plan_line(named[0])
            else:
                text = "Our plans:\n" + "\n".join(map(plan_line, plans.all_plans(session)))
        dispatcher.utter_message(text=text, buttons=[{"title": "Change my plan", "payload": "/change_plan"}])
        return []


class ValidateChangePlanForm(AccountFormValidator):
    form = "change_plan_form"
    task_slots = ("target_plan", "plan_change_confirmed")
    asks_line = True

    def extract_target_plan(self, dispatcher, tracker, domain) -> dict[str, Any]:
        named = next((entity["value"] for entity in tracker.latest_message.get("entities", [])
                      if entity.get("entity") == "plan_name"), None)
        if named:  # "switch me to Unlimited", or a correction
            return {"target_plan": named, "plan_change_confirmed": None}
        answer = self.answer_text(tracker, "target_plan")
        return {"target_plan": answer} if answer else {}

    def validate_target_plan(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        with session_scope() as session:
            plan = plans.find_plan(session, str(value))
        if plan is None:
            dispatcher.utter_message(response="utter_unknown_plan", plan=value)
            return {"target_plan": None}
        return {"target_plan": plan.name}

    def extract_plan_change_confirmed(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return self.yes_no(tracker, "plan_change_confirmed")


class ActionAskTargetPlan(Action):
    def name(self) -> str:
        return "action_ask_target_plan"

    def run(self, dispatcher, tracker, domain):
        with session_scope() as session:
            line = session.get(Line, int(tracker.get_slot("line_id")))
            options = plans.all_plans(session, kind=line.kind)
            text = (f"Which plan would you like for your {describe(line)}?\n"
                    + "\n".join(map(plan_line, options)))
            buttons = [{"title": plan.name, "payload": plan.name} for plan in options]
        dispatcher.utter_message(text=text, buttons=buttons)
        return []


class ActionAskPlanChangeConfirmed(Action):
    """Quotes the change (effective date, proration) before asking to confirm it."""

    def name(self) -> str:
        return "action_ask_plan_change_confirmed"

    def run(self, dispatcher, tracker, domain):
        with session_scope() as session:
            line = session.get(Line, int(tracker.get_slot("line_id")))
            try:
                quote = plans.quote_change(line, plans.find_plan(session, tracker.get_slot("target_plan")), today())
            except AccountError as error:
                dispatcher.utter_message(text=f"{error} Which plan would you like instead?")
                return [SlotSet("target_plan", None), SlotSet("requested_slot", "target_plan")]
            if quote.is_upgrade:
                timing = (f"It starts today; you'll pay {format_pence(quote.proration_pence)} extra on your next bill "
                          f"for the rest of this cycle, then {format_pence(quote.target.monthly_price_pence)}/month.")
            else:
                timing = (f"It starts on {quote.effective_on:%d %B} (your next billing cycle) at "
                          f"{format_pence(quote.target.monthly_price_pence)}/month; nothing changes before then.")
            text = f"Change your {describe(line)} from {quote.current.name} to {quote.target.name}? {timing}"
        dispatcher.utter_message(text=text, buttons=[{"title": "Yes, change it", "payload": "/affirm"},
                                                     {"title": "No", "payload": "/deny"}])
        return []


class ActionChangePlan(AccountAction):
    action_name = "action_change_plan"
    form_slots = ("line_id", "target_plan", "plan_change_confirmed")

    def act(self, dispatcher, tracker, session, customer_id):
        if not tracker.get_slot("plan_change_confirmed"):
            dispatcher.utter_message(response="utter_plan_change_cancelled")
            return []
        line = self.chosen_line(session, tracker, customer_id)
        quote = plans.quote_change(line, plans.find_plan(session, tracker.get_slot("target_plan")), today())
        change = plans.change_plan(session, quote, now())
        dispatcher.utter_message(
            text=f"Done: your {describe(line)} moves to {quote.target.name} on {change.effective_on:%d %B %Y}. "
                 f"Confirmation {change.confirmation}."
                 + (f" A prorated {format_pence(change.proration_pence)} will be on your next bill." if change.proration_pence else ""))
        return []
