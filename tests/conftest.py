"""Shared fixtures: a real seeded SQLite database per test, the day it is, and Rasa SDK trackers."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
import time_machine
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from hotline import clock
from hotline.db import make_engine, session_scope
from hotline.db.seed import seed_database
from hotline.settings import PROJECT_ROOT, get_settings

# Tests load a model in their own process unless they start the shared model server
# (tests/integration/conftest.py does, for the servers every integration test talks to).
os.environ.setdefault("HOTLINE_LLM_BACKEND", "llama_cpp")

TEST_CUSTOMERS = 60
# The days on which dates go wrong: month starts and ends, either side of the bills' due
# date (the 15th), a leap day and the day before it, and the turn of the year.
AWKWARD_DAYS = (date(2027, 3, 1), date(2027, 3, 14), date(2027, 3, 15), date(2027, 4, 30),
                date(2028, 2, 28), date(2028, 2, 29), date(2027, 12, 31))
# Mark a test (or a module, as pytestmark) to run once on each awkward day.
on_awkward_days = pytest.mark.parametrize("today", AWKWARD_DAYS, indirect=True, ids=str)


@pytest.fixture
def today(request: pytest.FixtureRequest):
    """The day the test runs on: the real one, or (parametrized) a fixed day the clock travels to."""
    day = getattr(request, "param", None)
    if day is None:
        yield clock.today()
        return
    with time_machine.travel(datetime.combine(day, time(12, 0)), tick=True):
        yield day


@pytest.fixture(scope="session")
def seeded_templates(tmp_path_factory: pytest.TempPathFactory) -> Callable[[date], Path]:
    """A seeded database file per day, made once per test session."""
    made: dict[date, Path] = {}

    def template(day: date) -> Path:
        if day not in made:
            made[day] = tmp_path_factory.mktemp(f"template-{day}") / "hotline.db"
            seed_database(make_engine(f"sqlite:///{made[day]}"), seed=7, customers=TEST_CUSTOMERS, today=day)
        return made[day]

    return template


@pytest.fixture(scope="session")
def seeded_template(seeded_templates: Callable[[date], Path]) -> Path:
    """The database seeded for the real today (what the live servers run on)."""
    return seeded_templates(clock.today())


@pytest.fixture
def database_url(today: date, seeded_templates: Callable[[date], Path], tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh copy of the database seeded for the test's day, used by the settings."""
    path = tmp_path / "hotline.db"
    shutil.copy(seeded_templates(today), path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("HOTLINE_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


@pytest.fixture
def session(database_url: str):
    with session_scope(database_url) as session:
        yield session


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    """The real domain, merged from bot/domain/*.yml as Rasa sends it to actions."""
    merged: dict[str, Any] = {"forms": {}, "slots": {}, "responses": {}}
    for part in _domain_parts():
        for key in merged:
            merged[key].update(part.get(key) or {})
    return merged


@pytest.fixture(scope="session")
def domain_actions() -> set[str]:
    return {action for part in _domain_parts() for action in part.get("actions") or []}


def _domain_parts() -> list[dict[str, Any]]:
    return [yaml.safe_load(path.read_text()) for path in sorted((PROJECT_ROOT / "bot" / "domain").glob("*.yml"))]


class Conversation:
    """Drives form validators and actions the way Rasa calls them, turn by turn."""

    def __init__(self, domain: dict[str, Any], client: str | None = None) -> None:
        self.domain = domain
        self.metadata = {"channel": "web", **({"client": client} if client else {})}  # as the gateway sends
        self.slots: dict[str, Any] = {"verified": False, "verification_attempts": 0,
                                      "verification_locked": False, "human_offered": False}
        self.active_loop: str | None = None
        self.events: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []

    def tracker(self, text: str, intent: str, entities: list[dict] | None = None,
                ranking: list[str] | None = None) -> Tracker:
        message = {"text": text, "intent": {"name": intent, "confidence": 0.9},
                   "intent_ranking": [{"name": name, "confidence": 0.9 - index / 10}
                                      for index, name in enumerate(ranking or [intent])],
                   "entities": entities or [], "metadata": self.metadata}
        self.events.append({"event": "user", "text": text, "parse_data": message, "metadata": self.metadata})
        return Tracker("test-user", dict(self.slots), message, list(self.events), False, None,
                       {"name": self.active_loop} if self.active_loop else {}, "action_listen")

    def run(self, action, text: str = "", intent: str = "inform",
            entities: list[dict] | None = None, ranking: list[str] | None = None) -> list[dict[str, Any]]:
        import asyncio

        dispatcher = CollectingDispatcher()
        result = action.run(dispatcher, self.tracker(text, intent, entities, ranking), self.domain)
        events = asyncio.run(result) if asyncio.iscoroutine(result) else result
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        self.messages = dispatcher.messages
        return events

    def say(self, validator, text: str, intent: str = "inform",
            entities: list[dict] | None = None) -> list[dict[str, Any]]:
        """A user turn inside the validator's form; like Rasa's FormAction, it picks the
        next slot from the domain when the validator leaves that to Rasa."""
        form = validator.name().removeprefix("validate_")
        self.active_loop = form
        events = self.run(validator, text, intent, entities)
        if not any(e.get("event") == "slot" and e["name"] == "requested_slot" for e in events):
            required = self.domain["forms"][form]["required_slots"]
            self.slots["requested_slot"] = next((s for s in required if self.slots.get(s) is None), None)
        return events

    def replies(self) -> list[str]:
        """Bot messages of the last run, with responses named rather than rendered."""
        return [m.get("text") or m.get("response") or "" for m in self.messages]


@pytest.fixture
def conversation(domain: dict[str, Any], database_url: str) -> Conversation:
    return Conversation(domain)


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()
