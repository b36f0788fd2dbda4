"""The main account tasks end to end: a customer talks to the real Rasa and action servers over
REST, and the database shows what happened.

The live database is shared by the session, so each test works on the demo customer its story
needs and changes only facts no other test relies on, whatever the order:
Alice: roaming on and off, a PAC; Ben: paying his overdue bill, suspending his second line;
Chloe: her open home-internet ticket, a Boost, a number ported in; Dev: an eSIM, a mobile-data
ticket. Other modules only read Alice's bill. Failed checks count against an account across
conversations, so the lockout uses a generated customer nobody verifies as.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from hotline import clock
from hotline.accounts import billing, usage, verification
from hotline.accounts.identity import pin_matches
from hotline.accounts.lines import eligible_lines
from hotline.accounts.money import format_pence
from hotline.catalog import DATA_ADDONS
from hotline.db import session_scope
from hotline.db.models import (
    AddonPurchase, Customer, Line, Payment, PortRequest, SimOrder, TroubleTicket, VerificationFailure)
from tests.integration.gateway_helpers import generated_customers
from tests.unit.helpers import DEMO_PINS

pytestmark = [pytest.mark.servers, pytest.mark.timeout(600)]
ALICE, BEN, CHLOE, DEV = "ACC-1000001", "ACC-1000002", "ACC-1000003", "ACC-1000004"


def database(live):
    return session_scope(live["settings"].database_url)


def customer_id(session, account: str) -> int:
    return session.scalar(select(Customer.id).where(Customer.account_number == account))


def mobile_line(live, account: str, index: int = 0) -> Line:
    with database(live) as session:
        return eligible_lines(session, customer_id(session, account))[index]


def verified(chat, request: str, account: str) -> str:
    """Ask for a task and answer the verification questions; the reply to the PIN."""
    assert "account number" in chat(request)
    assert "PIN" in chat(account)
    reply = chat(DEMO_PINS[account])
    assert "you're verified" in reply, reply
    return reply


def found(pattern: str, reply: str) -> re.Match:
    match = re.search(pattern, reply)
    assert match, f"{pattern!r} not in {reply!r}"
    return match


def open_tickets(live, account: str, category: str) -> list[TroubleTicket]:
    with database(live) as session:
        return list(session.scalars(select(TroubleTicket).where(
            TroubleTicket.customer_id == customer_id(session, account), TroubleTicket.category == category,
            TroubleTicket.status != "resolved")))


def test_ben_pays_his_overdue_balance_in_full_with_his_stored_card(live, chat):
    with database(live) as session:
        ben = customer_id(session, BEN)
        owed = billing.summary(session, ben, clock.today()).balance_pence
        card = billing.customer(session, ben).cards[0].last4
    assert owed > 0  # his latest bill is overdue
    reply = verified(chat, "i'd like to pay my bill", BEN)
    assert f"Your balance is {format_pence(owed)}. How much would you like to pay?" in reply
    assert "Which stored card" in chat("the full amount")
    assert f"pay {format_pence(owed)} with the card ending {card}?" in chat(f"the card ending {card}")
    reply = chat("yes")
    assert f"Done: {format_pence(owed)} paid with the card ending {card}" in reply
    assert "Your balance is now £0.00" in reply
    confirmation = found(r"confirmation number is (\S+)\.", reply)[1]
    with database(live) as session:
        assert billing.summary(session, ben, clock.today()).balance_pence == 0
        payment = session.scalar(select(Payment).where(Payment.confirmation == confirmation))
        assert (payment.customer_id, payment.amount_pence, payment.card.last4) == (ben, owed, card)


@pytest.fixture
def stranger(live) -> Customer:
    """A generated customer, not a demo identity: failures count against an account across
    conversations, so a lockout must not use an account other tests verify as."""
    with database(live) as session:
        return session.scalars(generated_customers()).all()[-1]  # the plan-change test takes an early one


def test_three_wrong_secrets_lock_verification_offer_a_person_and_refuse_account_tasks(live, chat, stranger):
    wrong = [pin for pin in ("9999", "8888", "7777", "6666") if not pin_matches(stranger, pin)][:3]
    assert "account number" in chat("what is my balance")
    for attempts_left, pin in ((2, wrong[0]), (1, wrong[1])):
        assert "PIN" in chat(stranger.account_number)
        reply = chat(pin)
        assert f"You have {attempts_left} attempt(s) left" in reply and "account number" in reply
    assert "PIN" in chat(stranger.account_number)
    reply = chat(wrong[2])
    assert "can't try verification again" in reply and "connect you" in reply

    reply = chat("how much data have I used?")  # another account task: refused, not asked again
    assert "can't try verification again" in reply
    assert "Data used" not in reply and "account number" not in reply
    with database(live) as session:
        assert verification.locked(session, verification.failure_keys(stranger.id, None), clock.now()) is False
        failures = session.scalar(select(func.count()).select_from(VerificationFailure).where(
            VerificationFailure.key.in_(verification.failure_keys(stranger.id, None))))
        assert failures == 3  # counted against the account beyond this conversation, not yet locking it


def test_a_lost_phone_s_line_is_suspended_at_once(live, chat):
    line = mobile_line(live, BEN, -1)  # his second line: paying does not care about lines
    assert "Which line is this about?" in verified(chat, "someone stole my phone", BEN)
    assert "Suspend it now?" in chat(f"the line ending {line.number[-4:]}")
    assert f"your mobile ending {line.number[-4:]} is suspended from now" in chat("yes")
    with database(live) as session:
        suspended = session.get(Line, line.id)
        assert (suspended.status, suspended.suspended_reason) == ("suspended", "lost or stolen phone")


def test_an_esim_is_issued_for_the_only_mobile_line(live, chat):
    line = mobile_line(live, DEV)
    assert "Shall I issue the eSIM?" in verified(chat, "can i switch to an esim", DEV)
    reply = chat("yep")
    reference, code = found(r"is ready \(reference (ESIM-\w+)\).*activation code by hand: (\S+)", reply).groups()
    with database(live) as session:
        order = session.scalar(select(SimOrder).where(SimOrder.reference == reference))
        assert (order.line_id, order.kind, order.status, order.activation_code) == (line.id, "esim", "ready", code)
        now_on = session.get(Line, line.id)
        assert now_on.esim and now_on.iccid == order.new_iccid != line.iccid


def test_a_pac_for_leaving_is_recorded(live, chat):
    line = mobile_line(live, ALICE)
    reply = verified(chat, "I need my PAC code to leave", ALICE)
    code = found(rf"Your PAC for the mobile ending {line.number[-4:]} is ([A-Z]{{3}}\d{{6}})", reply)[1]
    with database(live) as session:
        request = session.scalar(select(PortRequest).where(PortRequest.code == code))
        assert (request.direction, request.line_id, request.number) == ("out", line.id, line.number)
        assert request.expires_on >= clock.today()


def test_a_number_from_another_provider_is_ported_in(live, chat):
    line = mobile_line(live, CHLOE)
    # The seed's numbers start 074-079, so 07000 is with another provider.
    assert "Which mobile number do you want to bring" in verified(chat, "I want to bring my old number over to you", CHLOE)
    assert "What's the PAC your old provider gave you?" in chat("07000 000001")
    reply = chat("ABC123456")
    reference = found(r"your number ending 0001 moves to your mobile ending \d{4} on .+ \(reference (PR-\w+)\)", reply)[1]
    with database(live) as session:
        request = session.scalar(select(PortRequest).where(PortRequest.reference == reference))
        assert (request.direction, request.line_id, request.number, request.code, request.status) == (
            "in", line.id, "+447000000001", "ABC123456", "scheduled")
        assert request.scheduled_on > clock.today() and request.scheduled_on.weekday() < 5


def troubleshoot_without_luck(chat, account: str, turns: list[tuple[str, str]]) -> str:
    """Say each text, expecting each step; nothing helps, so verify and return the ticket reply."""
    for text, step in turns:
        assert step in chat(text)
    assert "account number" in chat("no still not working")
    assert "PIN" in chat(account)
    return chat(DEMO_PINS[account])


def test_slow_mobile_data_not_fixed_opens_a_trouble_ticket(live, chat):
    line = mobile_line(live, DEV)
    assert not open_tickets(live, DEV, "mobile_data")  # Dev's seeded tickets are about his broadband
    reply = troubleshoot_without_luck(chat, DEV, [("my 4g is super slow", "Airplane mode"),
                                                  ("no", "turn your phone off completely"),
                                                  ("no", "reset network settings")])
    reference = found(rf"I've logged trouble ticket (TT-\d+) for your line ending {line.number[-4:]}", reply)[1]
    [ticket] = open_tickets(live, DEV, "mobile_data")
    assert (ticket.reference, ticket.line_id, ticket.status) == (reference, line.id, "open")
    assert ticket.steps_tried == "airplane mode; restart; network reset"


def test_home_internet_not_fixed_updates_the_open_ticket(live, chat):
    [before] = open_tickets(live, CHLOE, "home_internet")  # the README's demo story
    reply = troubleshoot_without_luck(chat, CHLOE, [("my broadband keeps dropping out", "router off at the wall"),
                                                    ("no", "check the cable"),
                                                    ("nope", "plug a laptop into the router")])
    assert f"You already have an open ticket for this, {before.reference}; I've added today's checks" in reply
    [after] = open_tickets(live, CHLOE, "home_internet")
    assert after.id == before.id and after.updated_at >= before.updated_at
    assert after.steps_tried == "router restart; cable check; wired test"


def roaming_enabled(live, line_id: int) -> bool:
    with database(live) as session:
        return session.get(Line, line_id).roaming.enabled


def test_roaming_is_switched_on_then_off(live, chat):
    line = mobile_line(live, ALICE)
    reply = verified(chat, "switch roaming on please, off to Italy tomorrow", ALICE)
    assert f"Roaming is now on for your mobile ending {line.number[-4:]}" in reply
    assert roaming_enabled(live, line.id) is True
    assert f"Roaming is now off for your mobile ending {line.number[-4:]}" in chat("turn off data roaming")
    assert roaming_enabled(live, line.id) is False


def test_a_boost_is_bought_for_this_cycle(live, chat):
    line, boost = mobile_line(live, CHLOE), next(addon for addon in DATA_ADDONS if addon.data_gb == 5)
    with database(live) as session:
        extra_before = usage.line_usage(session, session.get(Line, line.id), clock.today()).addon_gb
    assert "Which Boost would you like?" in verified(chat, "i need more data", CHLOE)
    assert f"The {boost.name} costs {format_pence(boost.price_pence)}, added to your next bill" in chat("5GB")
    reply = chat("yes")
    confirmation = found(rf"{boost.name} added to your mobile ending {line.number[-4:]}\. Confirmation (ADD-\w+)\.",
                         reply)[1]
    with database(live) as session:
        purchase = session.scalar(select(AddonPurchase).where(AddonPurchase.confirmation == confirmation))
        assert (purchase.line_id, purchase.data_gb, purchase.price_pence) == (line.id, 5, boost.price_pence)
        assert usage.line_usage(session, session.get(Line, line.id), clock.today()).addon_gb == extra_before + 5
