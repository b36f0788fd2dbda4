"""The same code on PostgreSQL: only the database URLs change.

A throwaway cluster is started for this module; each test gets its own copy of a seeded
database (CREATE DATABASE ... TEMPLATE), as tests/conftest.py gives each test its own SQLite file,
so the tests imported below from the SQLite suite run here unchanged.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import create_engine, select, text

from actions.billing import ActionPayBill, ActionShowBill, ValidatePayBillForm
from channels.conversations import ConversationStore
from hotline import clock
from hotline.accounts import billing
from hotline.db import make_engine, session_scope
from hotline.db.models import PostConversationJob
from hotline.db.seed import seed_database
from hotline.insights.jobs import JobQueue
from hotline.settings import Settings, get_settings, with_secrets
from hotline.stack import start_action_server, start_rasa
from tests.conftest import Conversation
from tests.insights.test_queue import ended_conversation
from tests.integration.gateway_helpers import say
from tests.integration.postgres_helpers import PostgresCluster, server_binaries
from tests.ports import free_port
from tests.unit.helpers import verify

# Agents and analytics: the SQLite suite's own fixtures and tests, collected here again so they
# run on PostgreSQL (their `database_url` is this module's).
from tests.insights.test_analytics_and_console import (  # noqa: F401
    client, known_outcomes, test_agents_and_sessions, test_api_and_csv_give_the_same_figures,
    test_figures_match_the_known_outcomes)

TOKEN = "postgres-test-token"
_names = itertools.count()


@pytest.fixture(scope="module")
def postgres():
    """The running cluster, for this module only."""
    bin_dir = server_binaries()
    if bin_dir is None:
        pytest.fail("PostgreSQL server binaries are not installed: `make postgres` (make test does) installs them")
    cluster = PostgresCluster(bin_dir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def seeded_databases(postgres) -> Callable[[date], str]:
    """The name of a database seeded for a given day, made once per module."""
    made: set[date] = set()

    def template(day: date) -> str:
        name = f"seeded_{day:%Y%m%d}"
        if day not in made:
            engine = make_engine(postgres.create_database(name))
            seed_database(engine, seed=7, customers=20, today=day)
            engine.dispose()  # a template database must have no connections
            made.add(day)
        return name

    return template


@pytest.fixture
def database_url(postgres, seeded_databases, today, monkeypatch):
    """A fresh copy of the database seeded for the test's day, used by the settings."""
    url = postgres.create_database(f"test_{next(_names)}", template=seeded_databases(today))
    monkeypatch.setenv("HOTLINE_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_verification_and_payment_on_postgres(database_url, domain):
    conversation = Conversation(domain)
    verify(conversation, "ACC-1000002")
    form = ValidatePayBillForm()
    with session_scope() as session:
        card = billing.customer(session, conversation.slots["customer_id"]).cards[0].last4
    for message, intent in (("pay", "pay_bill"), ("the full amount", "inform"), (card, "inform"), ("yes", "affirm")):
        conversation.say(form, message, intent)
    conversation.run(ActionPayBill())
    assert "Your balance is now £0.00" in conversation.messages[0]["text"]
    conversation.run(ActionShowBill())
    assert "Your balance is £0.00" in conversation.messages[0]["text"]


def drain(queue: JobQueue, claimed: list[int], start: threading.Barrier) -> None:
    """One worker: claim and finish jobs until none is left to claim."""
    start.wait()
    while True:
        job = queue.claim()
        if job is None:
            if queue.counts()["pending"] == 0:
                return
            continue  # every job it looked at was taken meanwhile; look again
        claimed.append(job.id)
        queue.finish(job)


def test_two_workers_claiming_at_once_take_each_job_exactly_once(database_url):
    store = ConversationStore(database_url)
    for _ in range(40):
        ended_conversation(store)
    # A distinct URL per worker: its own engine and connection pool, as two worker processes have.
    queues = [JobQueue(f"{database_url}?application_name=worker-{n}", lease_s=60, max_attempts=3) for n in (1, 2)]
    claimed: list[list[int]] = [[], []]
    start = threading.Barrier(2)
    workers = [threading.Thread(target=drain, args=(queue, ids, start)) for queue, ids in zip(queues, claimed)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not any(worker.is_alive() for worker in workers)
    with session_scope(database_url) as session:
        rows = list(session.scalars(select(PostConversationJob)))
    all_claimed = claimed[0] + claimed[1]
    assert len(rows) == 40 and sorted(all_claimed) == sorted(row.id for row in rows)  # each once, none twice
    assert {(row.status, row.attempts) for row in rows} == {("done", 1)}


@pytest.fixture(scope="module")
def rasa_on_postgres(postgres, seeded_databases, tmp_path_factory):
    """The real action server and Rasa server, customer data and conversations both in PostgreSQL."""
    shared = get_settings()
    settings = with_secrets(Settings(
        var_dir=tmp_path_factory.mktemp("var-postgres"),
        database_url=postgres.create_database("customers", template=seeded_databases(clock.today())),
        tracker_store_url=postgres.create_database("tracker"), rasa_port=free_port(), action_port=free_port(),
        chroma_dir=shared.chroma_dir, llm_model_path=shared.llm_model_path))
    with start_action_server(settings):
        state = {"settings": settings, "token": TOKEN, "rasa": start_rasa(settings, TOKEN)}
        try:
            yield state
        finally:
            state["rasa"].stop()  # the one running now: the test restarts it


def stored_events(tracker_store_url: str, sender: str) -> list[dict]:
    """Rasa's events for one conversation, read straight from its `events` table."""
    engine = create_engine(tracker_store_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT data FROM events WHERE sender_id = :sender ORDER BY id"),
                                      {"sender": sender})
            return [json.loads(data) for (data,) in rows]
    finally:
        engine.dispose()


@pytest.mark.servers
@pytest.mark.timeout(900)
def test_rasa_keeps_conversations_in_postgres_across_a_restart(rasa_on_postgres):
    live, sender = rasa_on_postgres, "postgres-user-1"
    assert "account number" in say(live, "what's my bill?", sender)
    assert "PIN" in say(live, "ACC-1000001", sender)
    reply = say(live, "1234", sender)
    assert "you're verified" in reply and "Your latest bill" in reply

    events = stored_events(live["settings"].tracker_store_url, sender)
    assert [e["text"] for e in events if e["event"] == "user"] == ["what's my bill?", "ACC-1000001", "1234"]
    assert {"event": "slot", "name": "verified", "value": True} in [
        {key: e.get(key) for key in ("event", "name", "value")} for e in events]

    # Rasa restarts; the Postgres tracker store keeps the conversation (still verified).
    live["rasa"].stop()
    live["rasa"] = start_rasa(live["settings"], live["token"])
    reply = say(live, "how much data have I used?", sender)
    assert "Data used this cycle" in reply
    assert "account number" not in reply
    assert len(stored_events(live["settings"].tracker_store_url, sender)) > len(events)
