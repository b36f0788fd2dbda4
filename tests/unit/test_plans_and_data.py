"""Plan changes with proration, plan comparison, data usage and add-ons, on every awkward day."""

import calendar
from datetime import timedelta

import pytest

from actions.data import ActionBuyAddon, ActionShowDataUsage, ValidateDataAddonForm
from actions.plans import (ActionAskPlanChangeConfirmed, ActionChangePlan, ActionShowPlans,
                           ValidateChangePlanForm)
from hotline import clock
from hotline.accounts import AccountError, plans, usage
from hotline.accounts.lines import current_plan, eligible_lines
from hotline.catalog import DATA_ADDONS
from hotline.db.models import Customer
from tests.conftest import on_awkward_days
from tests.unit.helpers import verify

pytestmark = on_awkward_days


def test_upgrade_starts_today_with_a_prorated_charge(session, today):
    line = eligible_lines(session, 1)[0]  # Alice, Essential £18
    quote = plans.quote_change(line, plans.find_plan(session, "unlimited"), today)
    assert quote.is_upgrade and quote.effective_on == today
    days = calendar.monthrange(today.year, today.month)[1]
    days_left = days - today.day + 1  # today included
    assert quote.proration_pence == round((3000 - 1800) * days_left / days)
    if today.day == 1:
        assert quote.proration_pence == 1200  # the whole month's difference
    if today.day == days:
        assert quote.proration_pence == round(1200 / days)  # one day's


def test_downgrade_waits_for_the_next_cycle(session, today):
    line = eligible_lines(session, 1)[0]
    quote = plans.quote_change(line, plans.find_plan(session, "Starter plan"), today)
    next_cycle = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
    assert quote.effective_on == next_cycle and quote.proration_pence == 0


def test_usage_covers_the_current_cycle(session, today):
    line = eligible_lines(session, 1)[0]
    figures = usage.line_usage(session, line, today)
    assert figures.cycle_end.month == today.month and figures.cycle_end >= today
    assert (figures.cycle_end + timedelta(days=1)).day == 1
    assert 0 < figures.used_mb <= figures.allowance_mb


def test_impossible_changes_are_refused(session, today):
    line = eligible_lines(session, 1)[0]
    with pytest.raises(AccountError, match="already on Essential"):
        plans.quote_change(line, plans.find_plan(session, "Essential"), today)
    with pytest.raises(AccountError, match="broadband plan"):
        plans.quote_change(line, plans.find_plan(session, "Fibre 500"), today)
    assert plans.find_plan(session, "Mega Ultra") is None


def test_changing_plan_in_a_conversation_is_written_and_read_back(conversation, session, today):
    verify(conversation, "ACC-1000001")
    form = ValidateChangePlanForm()
    conversation.say(form, "switch me to unlimited", "change_plan",
                     [{"entity": "plan_name", "value": "unlimited"}])
    assert conversation.slots["line_id"]  # Alice's only line is chosen without asking
    assert conversation.slots["target_plan"] == "Unlimited"
    assert conversation.slots["requested_slot"] == "plan_change_confirmed"
    conversation.run(ActionAskPlanChangeConfirmed())
    assert "from Essential to Unlimited" in conversation.messages[0]["text"]
    assert "extra on your next bill" in conversation.messages[0]["text"]
    conversation.active_loop = form.form
    conversation.say(form, "yes", "affirm")
    conversation.run(ActionChangePlan())
    assert "Confirmation PLN-" in conversation.messages[0]["text"]
    session.expire_all()
    line = session.get(Customer, 1).lines[0]
    assert current_plan(line, today).name == "Unlimited"


def test_unknown_plan_name_gets_a_clear_reask(conversation):
    verify(conversation, "ACC-1000001")
    form = ValidateChangePlanForm()
    conversation.say(form, "change plan", "change_plan")
    conversation.say(form, "Gold Deluxe")
    assert conversation.messages[0]["response"] == "utter_unknown_plan"
    assert conversation.slots["requested_slot"] == "target_plan"


def test_comparing_two_named_plans(conversation):
    conversation.run(ActionShowPlans(), "compare essential and unlimited plus", "ask_plans",
                     [{"entity": "plan_name", "value": "essential"},
                      {"entity": "plan_name", "value": "unlimited plus"}])
    text = conversation.messages[0]["text"]
    assert "Essential, £18.00/month" in text and "Unlimited Plus costs £24.00 more" in text


def test_buying_an_addon_raises_the_allowance(conversation, session, today):
    verify(conversation, "ACC-1000001")
    line = eligible_lines(session, 1)[0]
    before = usage.line_usage(session, line, today).allowance_mb
    form = ValidateDataAddonForm()
    conversation.say(form, "get me a 5GB boost", "buy_data_addon")
    assert conversation.slots["addon_size"] == 5
    conversation.say(form, "yes", "affirm")
    conversation.run(ActionBuyAddon())
    assert "Confirmation ADD-" in conversation.messages[0]["text"]
    session.expire_all()
    assert usage.line_usage(session, line, today).allowance_mb == before + 5 * 1024
    conversation.run(ActionShowDataUsage())
    assert "GB left" in conversation.messages[0]["text"]


def test_unlimited_lines_report_no_limit_and_need_no_boost(conversation, session):
    verify(conversation, "ACC-1000004")  # Unlimited Plus
    conversation.run(ActionShowDataUsage())
    assert "unlimited data" in conversation.messages[0]["text"]
    conversation.slots.update(line_id=str(eligible_lines(session, 4, kind="mobile")[0].id), addon_size=5,
                              addon_confirmed=True)
    conversation.run(ActionBuyAddon())
    assert conversation.messages[0]["text"] == "Your plan already has unlimited data, so there's no need for a Boost."


def test_addon_sizes_we_do_not_sell_are_refused(conversation, session):
    verify(conversation, "ACC-1000001")
    form = ValidateDataAddonForm()
    conversation.say(form, "more data", "buy_data_addon")
    conversation.say(form, "7GB please")
    assert conversation.messages[0]["response"] == "utter_invalid_addon"
    broadband = eligible_lines(session, 3, kind="broadband")[0]  # Chloe's home broadband
    with pytest.raises(AccountError, match="mobile line"):
        usage.buy_addon(session, broadband, DATA_ADDONS[0], clock.now())
