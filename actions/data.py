"""Data usage this cycle and buying a data add-on."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action

from actions.base import AccountAction, AccountFormValidator
from hotline.accounts import usage
from hotline.accounts.lines import describe, eligible_lines
from hotline.accounts.money import format_pence
from hotline.catalog import DATA_ADDONS
from hotline.clock import now, today


def _gb(megabytes: int) -> str:
    return f"{megabytes / 1024:.1f}GB"


class ValidateDataUsageForm(AccountFormValidator):
    form = "data_usage_form"


class ActionShowDataUsage(AccountAction):
    action_name = "action_show_data_usage"

    def act(self, dispatcher, tracker, session, customer_id):
        lines = eligible_lines(session, customer_id, kind="mobile", statuses=("active", "suspended"))
        if not lines:
            dispatcher.utter_message(text="There are no mobile lines on your account.")
            return []
        rows = []
        for line in lines:
            figures = usage.line_usage(session, line, today())
            if figures.allowance_mb is None:
                rows.append(f"• {describe(line).capitalize()}: {_gb(figures.used_mb)} used (unlimited data).")
            else:
                share = figures.used_mb / figures.allowance_mb if figures.allowance_mb else 1
                warning = " ⚠️ nearly all used" if share >= 0.9 else ""
                rows.append(f"• {describe(line).capitalize()}: {_gb(figures.used_mb)} of {_gb(figures.allowance_mb)} used, "
                            f"{_gb(figures.remaining_mb)} left{warning}.")
        rows.append(f"This cycle ends on {usage.cycle_end(today()):%d %B}.")
        dispatcher.utter_message(text="Data used this cycle:\n" + "\n".join(rows),
                                 buttons=[{"title": "Buy more data", "payload": "/buy_data_addon"}])
        return []


class ValidateDataAddonForm(AccountFormValidator):
    form = "data_addon_form"
    task_slots = ("addon_size", "addon_confirmed")
    asks_line = True
    line_kind = "mobile"

    def extract_addon_size(self, dispatcher, tracker, domain) -> dict[str, Any]:
        text = tracker.latest_message.get("text") or ""
        if tracker.get_slot("addon_size") is None and usage.parse_addon(text):
            return {"addon_size": text}  # "buy a 5GB boost" volunteers the size
        answer = self.answer_text(tracker, "addon_size", usage.parse_addon)
        return {"addon_size": answer} if answer else {}

    def validate_addon_size(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        if isinstance(value, (int, float)):
            return {"addon_size": value}
        addon = usage.parse_addon(str(value))
        if addon is None:
            dispatcher.utter_message(response="utter_invalid_addon")
            return {"addon_size": None}
        return {"addon_size": addon.data_gb}

    def extract_addon_confirmed(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return self.yes_no(tracker, "addon_confirmed")


class ActionAskAddonSize(Action):
    def name(self) -> str:
        return "action_ask_addon_size"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(
            text="Which Boost would you like? It lasts until the end of this billing cycle.",
            buttons=[{"title": f"{addon.name}: {format_pence(addon.price_pence)}", "payload": addon.name}
                     for addon in DATA_ADDONS])
        return []


class ActionAskAddonConfirmed(Action):
    def name(self) -> str:
        return "action_ask_addon_confirmed"

    def run(self, dispatcher, tracker, domain):
        addon = next(a for a in DATA_ADDONS if a.data_gb == int(tracker.get_slot("addon_size")))
        dispatcher.utter_message(
            text=f"The {addon.name} costs {format_pence(addon.price_pence)}, added to your next bill. Buy it?",
            buttons=[{"title": "Yes, buy it", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}])
        return []


class ActionBuyAddon(AccountAction):
    action_name = "action_buy_addon"
    form_slots = ("line_id", "addon_size", "addon_confirmed")

    def act(self, dispatcher, tracker, session, customer_id):
        if not tracker.get_slot("addon_confirmed"):
            dispatcher.utter_message(response="utter_addon_cancelled")
            return []
        line = self.chosen_line(session, tracker, customer_id)
        addon = next(a for a in DATA_ADDONS if a.data_gb == int(tracker.get_slot("addon_size")))
        purchase = usage.buy_addon(session, line, addon, now())
        figures = usage.line_usage(session, line, today())
        dispatcher.utter_message(
            text=f"Done: {addon.name} added to your {describe(line)}. Confirmation {purchase.confirmation}. "
                 f"You now have {_gb(figures.remaining_mb)} left this cycle.")
        return []
