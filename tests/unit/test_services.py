"""Roaming, SIMs, porting, outages and tickets: changes are written and read back, on every awkward day."""

from datetime import timedelta

import pytest

from actions.network import (ActionCheckOutage, ActionFinishTroubleshooting, ActionTicketStatus,
                             ValidateHomeInternetTroubleshootingForm, ValidateMobileDataTroubleshootingForm)
from actions.porting import ActionPortOut, ValidatePortInForm
from actions.roaming import ActionRoamingRates, ActionSetRoaming, ValidateRoamingForm, ValidateRoamingRatesForm
from actions.sim import ActionActivateEsim, ActionSuspendLine, ValidateEsimForm, ValidateLostPhoneForm
from hotline import clock
from hotline.accounts import AccountError, network, porting, roaming, sim
from hotline.accounts.lines import eligible_lines
from hotline.db.models import Line, PortRequest, TroubleTicket
from tests.conftest import on_awkward_days
from tests.unit.helpers import verify

pytestmark = on_awkward_days


@pytest.mark.parametrize("text, country", [
    ("Japan", "Japan"), ("the states", "United States"), ("USA", "United States"), ("oz", "Australia"),
    ("the Netherlands", "Netherlands"), ("dubai", "United Arab Emirates")])
def test_countries_by_name_and_alias(session, text, country):
    assert roaming.find_country(session, text).country == country


def test_unknown_country_gets_a_clear_reask(conversation):
    form = ValidateRoamingRatesForm()
    conversation.slots["requested_slot"] = "country"
    conversation.active_loop = "roaming_rates_form"
    conversation.run(form, "Narnia")
    assert conversation.messages[0]["response"] == "utter_unknown_country"
    assert conversation.slots["country"] is None


def test_rates_depend_on_the_customers_plan(conversation):
    conversation.slots["country"] = "Spain"
    conversation.run(ActionRoamingRates())
    assert "Day Pass costs £2.50" in conversation.messages[0]["text"]  # unknown customer: list price
    verify(conversation, "ACC-1000001")  # Essential includes Europe
    conversation.slots["country"] = "Spain"
    conversation.run(ActionRoamingRates())
    assert "included in your plan" in conversation.messages[0]["text"]


def test_turning_roaming_on_and_off_is_saved(conversation, session):
    verify(conversation, "ACC-1000001")
    for wanted, word in ((True, "on"), (False, "off")):
        conversation.slots["roaming_wanted"] = wanted
        conversation.say(ValidateRoamingForm(), f"turn roaming {word}", f"{'en' if wanted else 'dis'}able_roaming")
        conversation.run(ActionSetRoaming())
        assert f"Roaming is now {word}" in conversation.messages[0]["text"]
        session.expire_all()
        assert eligible_lines(session, 1)[0].roaming.enabled is wanted


def test_lost_phone_suspends_the_chosen_line_at_once(conversation, session):
    verify(conversation, "ACC-1000002")
    lines = eligible_lines(session, 2)
    form = ValidateLostPhoneForm()
    conversation.say(form, "phone stolen", "report_lost_phone")
    conversation.say(form, f"the one ending {lines[1].number[-4:]}")
    assert conversation.slots["line_id"] == str(lines[1].id)
    conversation.say(form, "yes", "affirm")
    conversation.run(ActionSuspendLine())
    assert "is suspended" in conversation.messages[0]["text"]
    session.expire_all()
    assert session.get(Line, lines[1].id).status == "suspended"
    assert session.get(Line, lines[0].id).status == "active"
    with pytest.raises(AccountError, match="already suspended"):
        sim.suspend_line(session, session.get(Line, lines[1].id), "again")


def test_line_answer_that_matches_no_line_is_reasked(conversation):
    verify(conversation, "ACC-1000002")
    form = ValidateLostPhoneForm()
    conversation.say(form, "phone stolen", "report_lost_phone")
    conversation.say(form, "the one ending 0000")
    assert conversation.slots["line_id"] is None
    assert conversation.messages[0]["text"].startswith("Sorry, which line?")


def test_esim_activation_replaces_the_iccid(conversation, session):
    verify(conversation, "ACC-1000001")
    old_iccid = eligible_lines(session, 1)[0].iccid
    form = ValidateEsimForm()
    conversation.say(form, "set up esim", "activate_esim")
    conversation.say(form, "yes", "affirm")
    conversation.run(ActionActivateEsim())
    assert "LPA:1$" in conversation.messages[0]["text"]
    session.expire_all()
    line = eligible_lines(session, 1)[0]
    assert line.esim and line.iccid != old_iccid


def test_puk_is_refused_for_broadband(session):
    with pytest.raises(AccountError):
        sim.puk_for(eligible_lines(session, 3, kind="broadband")[0])


def test_pac_is_issued_once_and_reused(conversation, session, today):
    verify(conversation, "ACC-1000001")
    conversation.slots["line_id"] = str(eligible_lines(session, 1)[0].id)
    conversation.run(ActionPortOut())
    first = conversation.messages[0]["text"]
    conversation.slots["line_id"] = str(eligible_lines(session, 1)[0].id)
    conversation.run(ActionPortOut())
    code = first.split("is ")[1].split(",")[0]
    assert len(code) == 9 and code in conversation.messages[0]["text"]
    request = session.query(PortRequest).filter_by(code=code).one()
    assert request.direction == "out" and request.expires_on > today


def test_scheduled_port_in_is_tomorrow(session, today):
    request = session.query(PortRequest).filter_by(customer_id=4, direction="in").one()  # Dev's
    assert request.scheduled_on == today + timedelta(days=1)
    assert request.requested_at.date() == today - timedelta(days=1)


def test_port_in_validates_number_and_pac(conversation):
    verify(conversation, "ACC-1000001")
    form = ValidatePortInForm()
    conversation.say(form, "bring my number", "port_in")
    conversation.say(form, "0161 496 0000")  # a landline
    assert conversation.messages[0]["response"] == "utter_invalid_port_number"
    conversation.say(form, "07456 111222")
    assert conversation.slots["port_number"] == "+447456111222"
    conversation.say(form, "AB123")
    assert conversation.messages[0]["response"] == "utter_invalid_pac"
    conversation.say(form, "abc 123456")
    assert conversation.slots["port_pac"] == "ABC123456"
    assert porting.parse_pac("XYZ987654") == "XYZ987654"


def test_outages_by_postcode_and_area(session):
    now = clock.now()
    assert [o.area for o in network.find_outages(session, "LS1 4AP", now)] == ["Leeds"]
    assert network.find_outages(session, "leeds", now)
    assert network.find_outages(session, "Cardiff", now) == []
    # Fixed more than a day ago: no longer reported.
    assert network.find_outages(session, "M4 1AA", now) == []


def test_outage_check_uses_the_verified_customers_postcode(conversation):
    verify(conversation, "ACC-1000003")  # Chloe lives in LS1
    conversation.run(ActionCheckOutage())
    assert "mast upgrade" in conversation.messages[0]["text"]


def test_troubleshooting_stops_when_a_step_fixes_it(conversation):
    form = ValidateMobileDataTroubleshootingForm()
    conversation.say(form, "my data is slow", "slow_mobile_data")
    assert conversation.slots["requested_slot"] == "fixed_by_airplane_mode"
    conversation.say(form, "no", "deny")
    conversation.say(form, "yes that fixed it", "affirm")
    assert conversation.slots["requested_slot"] is None
    conversation.run(ActionFinishTroubleshooting())
    assert conversation.messages[0]["response"] == "utter_troubleshooting_fixed"


def test_failed_troubleshooting_opens_a_ticket_mentioning_the_outage(conversation, session, today):
    form = ValidateHomeInternetTroubleshootingForm()
    conversation.say(form, "broadband down", "home_internet_problem")
    for _ in range(3):
        conversation.say(form, "no", "deny")
    assert conversation.slots["requested_slot"] == "account_identifier"
    conversation.say(form, "ACC-1000004")  # Dev lives in BS1; the fibre cut is in BS8
    conversation.say(form, "9876")
    assert conversation.slots["requested_slot"] is None  # one broadband line: no question
    conversation.run(ActionFinishTroubleshooting())
    text = conversation.messages[0]["text"]
    assert "trouble ticket TT-" in text
    reference = text.split("trouble ticket ")[1].split()[0]
    ticket = session.query(TroubleTicket).filter_by(reference=reference).one()
    assert ticket.category == "home_internet" and "router restart" in ticket.steps_tried
    assert ticket.created_at.date() == today and ticket.estimated_fix_on > today
    conversation.run(ActionTicketStatus(), f"status of {reference}", "ticket_status")
    assert reference in conversation.messages[0]["text"]


def test_ticket_status_for_an_unknown_reference(conversation):
    verify(conversation, "ACC-1000003")
    conversation.run(ActionTicketStatus(), "what about TT-0000001", "ticket_status")
    assert "can't find a ticket" in conversation.messages[0]["text"]


def test_open_ticket_is_not_duplicated(session):
    first, created = network.open_ticket(session, customer_id=1, line_id=None, category="other", summary="x",
                                steps_tried=[], now=clock.now())
    again, created_again = network.open_ticket(session, customer_id=1, line_id=None, category="other", summary="y",
                                steps_tried=[], now=clock.now() + timedelta(minutes=1))
    assert created and not created_again and first.reference == again.reference
    assert again.summary == "x"


def test_failed_troubleshooting_with_an_open_ticket_updates_it(conversation, session, today):
    existing = session.query(TroubleTicket).filter_by(customer_id=3, status="open").one()  # Chloe's seeded ticket
    assert existing.created_at.date() < today < existing.estimated_fix_on
    form = ValidateHomeInternetTroubleshootingForm()
    conversation.say(form, "wifi down", "home_internet_problem")
    for text, intent in (("no", "deny"), ("no", "deny"), ("no", "deny"), ("ACC-1000003", "inform"), ("1357", "inform")):
        conversation.say(form, text, intent)
    conversation.run(ActionFinishTroubleshooting())
    assert f"You already have an open ticket for this, {existing.reference}" in conversation.messages[0]["text"]
    session.expire_all()
    assert "cable check" in session.get(TroubleTicket, existing.id).steps_tried
