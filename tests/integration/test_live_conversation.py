"""The real action server and Rasa server, a conversation over REST, and a Rasa restart."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from hotline.accounts.lines import current_plan, eligible_lines
from hotline.db import session_scope
from hotline.stack import start_rasa

pytestmark = [pytest.mark.servers, pytest.mark.timeout(900)]


def say(live, text: str, sender: str = "rest-user-1") -> str:
    response = httpx.post(f"{live['settings'].rasa_url}/webhooks/rest/webhook",
                          json={"sender": sender, "message": text}, timeout=60)
    response.raise_for_status()
    return "\n".join(message.get("text", "") for message in response.json())


def test_the_api_requires_the_token(live):
    url = f"{live['settings'].rasa_url}/conversations/rest-user-1/tracker"
    assert httpx.get(url, timeout=10).status_code in (401, 403)
    assert httpx.get(url, params={"token": live["token"]}, timeout=10).status_code == 200


def test_a_help_question_gets_a_cited_answer(live):
    reply = say(live, "how do I set up an eSIM on a Pixel?", sender="rest-user-2")
    assert "Sources:" in reply and "https://help.brightwave.example/sim-and-esim/" in reply


def test_verify_bill_plan_change_and_restart(live):
    assert "account number" in say(live, "what's my bill?")
    assert "PIN" in say(live, "ACC-1000001")
    reply = say(live, "1234")
    assert "you're verified" in reply and "Your latest bill" in reply

    reply = say(live, "I'd like to change my plan")
    assert "Which plan would you like" in reply  # Alice has one line: no line question
    reply = say(live, "Unlimited Plus")
    assert "from Essential to Unlimited Plus" in reply
    reply = say(live, "yes")
    assert "Confirmation PLN-" in reply
    with session_scope(live["settings"].database_url) as session:
        line = eligible_lines(session, 1)[0]
        assert current_plan(line, date.today()).name == "Unlimited Plus"

    # Rasa restarts; the SQL tracker store keeps the conversation (still verified).
    live["rasa"].stop()
    live["rasa"] = start_rasa(live["settings"], live["token"])
    reply = say(live, "how much data have I used?")
    assert "Data used this cycle" in reply
    assert "account number" not in reply
