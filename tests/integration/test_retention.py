"""A chat full of personal data, ended: after the worker stores its redacted transcript the raw
text is gone from everywhere (Rasa's tracker store, the databases, logs, transcripts, analytics,
the CSV export, tuning data); the right to erasure then removes the conversation itself."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import JSON, MetaData, String, Text, create_engine, func, select, update

from channels.app import create_app
from hotline.db import session_scope
from hotline.db.models import Conversation, Customer, Transcript
from hotline.db.seed import hash_pin
from hotline.insights.retention import EVENTS, erase_customer
from hotline.stack import start_worker
from tests.integration.gateway_helpers import gateway_settings, generated_customers, sign_in_agent

pytestmark = [pytest.mark.servers, pytest.mark.timeout(900)]
PIN = "0946"
PERSONAL = ("Jessamy", "Quintrell", "jessamy.quintrell@example.org", "Larkspur", "900461", "LS6 2QT")
CHAT = ("hello, my name is Jessamy Quintrell", "what's my balance", "{account}", PIN,
        "I want to make a complaint",
        "Jessamy Quintrell here, email jessamy.quintrell@example.org, I live at 27 Larkspur Crescent, Leeds LS6 2QT "
        "and my other number 07700 900461 keeps dropping calls", "no thanks, that's all")


@pytest.fixture
def customer(live):
    """A generated customer whose PIN the test knows (other tests take the last two)."""
    with session_scope(live["settings"].database_url) as session:
        customer = session.scalars(generated_customers()).all()[-3]
        session.execute(update(Customer).where(Customer.id == customer.id)
                        .values(pin_hash=hash_pin(PIN, os.urandom(8))))
        return customer.account_number


@pytest.fixture
def own_settings(live, seeded_template, tmp_path):
    """The gateway's and worker's database of this test's own, so its job is the only one waiting."""
    shutil.copy(seeded_template, tmp_path / "hotline.db")
    return gateway_settings(live, database_url=f"sqlite:///{tmp_path / 'hotline.db'}", var_dir=tmp_path)


def wait_for(condition, timeout_s: float = 400, what: str = ""):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(2)
    pytest.fail(f"{what} not within {timeout_s:.0f} s")


def text_in(url: str, *, skip: tuple[str, ...] = ()) -> str:
    """Every text value of every table but the skipped (numbers and hashes are not chat text)."""
    tables = MetaData()
    tables.reflect(create_engine(url))
    with create_engine(url).connect() as connection:
        return "\n".join(str(row) for table in tables.sorted_tables if table.name not in skip
                         if (columns := [c for c in table.columns if isinstance(c.type, (String, Text, JSON))])
                         for row in connection.execute(select(*columns)))


def found(haystack: str) -> list[str]:
    return [p for p in PERSONAL if p.lower() in haystack.lower()] + re.findall(rf"\b{PIN}\b", haystack)


def test_a_finished_chat_leaves_no_personal_data_and_can_be_erased(live, customer, own_settings):
    settings = own_settings
    with TestClient(create_app(settings)) as client:
        chat = client.post("/api/chat/sessions").json()["session_id"]
        replies = [client.post(f"/api/chat/sessions/{chat}/messages", json={"text": line.format(account=customer)})
                   .json()["messages"] for line in CHAT]
        said = json.dumps(replies)
        assert "balance" in said.lower() and "logged your complaint" in said, said
        assert client.post(f"/api/chat/sessions/{chat}/end").json() == {"status": "ended"}
        tracker_url = f"{live['settings'].rasa_url}/conversations/{chat}/tracker?token={live['token']}"
        assert "Quintrell" in httpx.get(tracker_url).text  # the raw text is there until the transcript is stored

        with start_worker(settings, live["token"]):
            wait_for(lambda: _redacted(settings.database_url, chat), what="the raw text's redaction")

        sign_in_agent(client)
        analytics = client.get("/api/analytics?days=2").text + client.get("/api/analytics/conversations.csv?days=2").text

    tracker = httpx.get(tracker_url)  # Rasa still reads the conversation
    assert tracker.status_code == 200 and "<PIN_OR_DATE_OF_BIRTH>" in tracker.text
    with create_engine(settings.tracker_store_url).connect() as connection:
        events = "\n".join(connection.execute(select(EVENTS.c.data).where(EVENTS.c.sender_id == chat)).scalars())
    with session_scope(settings.database_url) as session:
        transcript = json.dumps(session.get(Transcript, chat).turns)
    logs = "\n".join(path.read_text(errors="replace") for var in (settings.var_dir, live["settings"].var_dir)
                     for path in Path(var, "logs").glob("*") if path.is_file())
    tuning = "\n".join(path.read_text(errors="replace") for var in (settings.var_dir, live["settings"].var_dir)
                       for path in Path(var, "tuning").rglob("*") if path.is_file())
    databases = text_in(settings.database_url, skip=("customers",)) + text_in(live["settings"].database_url,
                                                                               skip=("customers",))
    assert "<PERSON>" in transcript or "<EMAIL_ADDRESS>" in transcript, transcript
    for place, haystack in (("tracker store", events), ("transcript", transcript), ("logs", logs),
                            ("analytics and CSV", analytics), ("tuning data", tuning), ("databases", databases)):
        assert not found(haystack), (place, found(haystack))

    erased = erase_customer(settings, customer)
    assert chat in erased.conversations and erased.events > 0
    with create_engine(settings.tracker_store_url).connect() as connection:
        assert connection.execute(select(func.count()).where(EVENTS.c.sender_id == chat)).scalar() == 0
    with session_scope(settings.database_url) as session:
        assert session.get(Conversation, chat) is None and session.get(Transcript, chat) is None


def _redacted(database_url: str, conversation_id: str) -> bool:
    with session_scope(database_url) as session:
        return session.get(Conversation, conversation_id).raw_redacted_at is not None
