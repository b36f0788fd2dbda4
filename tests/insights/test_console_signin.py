"""Console sign-in limits: guessing from one address locks that address out, never the agent
signing in from another, the counts survive a restart, and `hotline agent unlock` lifts them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from channels.app import create_app
from hotline import agents, clock
from hotline.agents import SignInLocked, sign_in
from hotline.cli import app as cli
from hotline.db import session_scope
from hotline.db.models import SignInFailure
from hotline.db.seed import DEMO_AGENT
from hotline.settings import get_settings

AGENT = DEMO_AGENT[0], DEMO_AGENT[2]
ATTACKER, OFFICE = ("203.0.113.7", 40000), ("198.51.100.20", 40000)


@contextmanager
def console_from(address: tuple[str, int]):
    """A browser at `address`, talking to a freshly started gateway over the test's database."""
    with TestClient(create_app(get_settings()), client=address, follow_redirects=False) as client:
        yield client


def attempt(client, username: str, password: str) -> int:
    return client.post("/console/login", data={"username": username, "password": password}).status_code


def test_guessing_locks_the_guessers_address_but_not_the_agent(database_url):
    with console_from(ATTACKER) as attacker:
        assert [attempt(attacker, AGENT[0], f"guess {n}") for n in range(5)] == [401] * 5
        response = attacker.post("/console/login", data={"username": AGENT[0], "password": AGENT[1]})
        assert response.status_code == 429 and "Too many sign-in attempts" in response.text
        assert attempt(attacker, AGENT[0].upper(), AGENT[1]) == 429  # the username's case changes nothing
    with console_from(OFFICE) as office:
        assert attempt(office, *AGENT) == 303  # the right password from elsewhere still signs in
    with console_from(ATTACKER) as restarted:
        assert attempt(restarted, *AGENT) == 429  # the count is in the database, not the process


def test_an_address_guessing_across_usernames_is_locked(database_url, monkeypatch):
    monkeypatch.setattr(agents, "CLIENT_FAILURES", 6)  # the real 20, only quicker to reach
    with console_from(ATTACKER) as attacker:
        assert [attempt(attacker, f"user{n % 3}", "guess") for n in range(6)] == [401] * 6
        assert attempt(attacker, AGENT[0], AGENT[1]) == 429
    with console_from(OFFICE) as office:
        assert attempt(office, *AGENT) == 303


def test_guesses_sent_in_parallel_all_count(database_url):
    def guess(n: int) -> str:
        try:
            return "wrong" if sign_in(database_url, AGENT[0], f"guess {n}", 1, client="parallel") is None else "in"
        except SignInLocked:
            return "locked"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(guess, range(16)))
    assert outcomes.count("wrong") <= agents.USERNAME_FAILURES and "in" not in outcomes
    with pytest.raises(SignInLocked):
        sign_in(database_url, *AGENT, 1, client="parallel")


def test_a_success_forgives_its_own_failures_and_locks_lift_after_five_minutes(database_url):
    with console_from(OFFICE) as office:
        assert [attempt(office, AGENT[0], "typo") for _ in range(4)] + [attempt(office, *AGENT)] == [401] * 4 + [303]
        assert [attempt(office, AGENT[0], "typo") for _ in range(6)] == [401] * 5 + [429]
        with time_machine.travel(clock.now() + timedelta(minutes=5, seconds=1), tick=False):
            assert attempt(office, *AGENT) == 303


def test_agent_unlock_lets_a_locked_username_sign_in(database_url):
    with console_from(OFFICE) as office:
        assert [attempt(office, AGENT[0], f"guess {n}") for n in range(6)][-1] == 429
        result = CliRunner().invoke(cli, ["agent", "unlock", AGENT[0]])
        assert result.exit_code == 0 and "Cleared 6 failed sign-ins for agent" in result.output
        assert attempt(office, *AGENT) == 303
        assert CliRunner().invoke(cli, ["agent", "unlock"]).exit_code != 0  # a username or --all
        assert CliRunner().invoke(cli, ["agent", "unlock", "--all"]).exit_code == 0


def test_what_was_typed_as_a_username_is_not_stored(database_url):
    with console_from(OFFICE) as office:
        assert attempt(office, "correct horse battery", "agent") == 401  # the two boxes swapped
    with session_scope(database_url) as session:
        stored = [(row.username_key, row.client_key) for row in session.scalars(select(SignInFailure))]
    assert len(stored) == 1 and "horse" not in repr(stored) and OFFICE[0] not in repr(stored)
