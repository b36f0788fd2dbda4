"""The real action server and Rasa server, a conversation over REST, and a new Rasa process
that carries on the same conversation from the SQL tracker store."""

from __future__ import annotations

import httpx
import pytest

from hotline import clock
from hotline.accounts.lines import current_plan, eligible_lines
from hotline.db import session_scope
from hotline.stack import start_rasa
from tests.integration.gateway_helpers import RestChat, generated_customers
from tests.ports import free_port

pytestmark = [pytest.mark.servers, pytest.mark.timeout(900)]


def test_the_api_requires_the_token(live, chat):
    url = f"{live['settings'].rasa_url}/conversations/{chat.sender}/tracker"
    assert httpx.get(url, timeout=10).status_code in (401, 403)
    assert httpx.get(url, params={"token": live["token"]}, timeout=10).status_code == 200


def test_a_help_question_gets_a_cited_answer(chat):
    reply = chat("how do I set up an eSIM on a Pixel?")
    assert "Sources:" in reply and "https://help.brightwave.example/sim-and-esim/" in reply


@pytest.fixture
def essential_customer(live) -> dict:
    """A generated customer with one line, on Essential: no other test relies on them, unlike the
    demo identities. They verify with their date of birth (the seed keeps no PINs in the clear)."""
    with session_scope(live["settings"].database_url) as session:
        for customer in session.scalars(generated_customers()):
            lines = customer.lines
            if (len(lines) == 1
                    and eligible_lines(session, customer.id) == lines
                    and current_plan(lines[0], clock.today()).name == "Essential"):
                return {"id": customer.id, "account": customer.account_number, "name": customer.first_name,
                        "born": f"{customer.date_of_birth:%d/%m/%Y}"}
    pytest.fail("The seeded database has no generated customer with one Essential line")


@pytest.fixture
def second_rasa(live, tmp_path):
    """Another Rasa process over the same tracker store and action server, as after a restart;
    the session's Rasa is left alone for the other tests."""
    settings = live["settings"].model_copy(update={"rasa_port": free_port(), "var_dir": tmp_path})
    with start_rasa(settings, live["token"]):
        yield {**live, "settings": settings}


def test_verify_bill_plan_change_and_a_new_rasa_process(chat, essential_customer, live, second_rasa):
    customer = essential_customer
    assert "account number" in chat("what's my bill?")
    assert "date of birth" in chat(customer["account"])
    reply = chat(customer["born"])
    assert f"Thanks {customer['name']}, you're verified" in reply and "Your latest bill" in reply

    reply = chat("I'd like to change my plan")
    assert "Which plan would you like" in reply  # one line: no line question
    reply = chat("Unlimited Plus")
    assert "from Essential to Unlimited Plus" in reply
    reply = chat("yes")
    assert "Confirmation PLN-" in reply
    with session_scope(live["settings"].database_url) as session:
        line = eligible_lines(session, customer["id"])[0]
        assert current_plan(line, clock.today()).name == "Unlimited Plus"

    # A fresh Rasa process finds the conversation in the SQL tracker store (still verified).
    reply = RestChat(second_rasa, chat.sender)("how much data have I used?")
    assert "Data used this cycle" in reply and "unlimited data" in reply
    assert "account number" not in reply
