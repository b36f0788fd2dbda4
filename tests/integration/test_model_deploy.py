"""Deploy and rollback while a conversation goes on: the running action server follows the
registry without a restart, /health names the model in use, the tracker records which model
wrote each answer, and a model that never passed the gate needs --force and a reason."""

from __future__ import annotations

import time

import httpx
import pytest

from hotline import clock
from hotline.db.models import ModelVersion
from hotline.ml.files import SMOLLM2_SHA256
from hotline.ml.registry import DeployRefused, Registry, stock_id
from tests.integration.gateway_helpers import RestChat

QUESTIONS = ["how do i listen to my voicemail", "tell me about wifi calling", "how do I turn on wifi calling"]


def model_in_use(settings, expected: str | None = None, within_s: float = 10) -> str:
    """The answer model /health names; with `expected`, once it names that one (a serving process
    looks at the registry every `model_refresh_s`) or the time is up."""
    deadline = time.monotonic() + within_s
    while True:
        named = httpx.get(f"{settings.action_url}/health", timeout=5).json()["models"]["answer"]
        if expected is None or named == expected or time.monotonic() > deadline:
            return named
        time.sleep(0.5)


def answer_models(live, sender: str) -> list[str]:
    tracker = httpx.get(f"{live['settings'].rasa_url}/conversations/{sender}/tracker",
                        params={"token": live["token"]}, timeout=10).json()
    return [((event.get("data") or {}).get("custom") or {}).get("model_id") for event in tracker["events"]
            if event.get("event") == "bot" and "model_id" in ((event.get("data") or {}).get("custom") or {})]


def test_deploy_and_rollback_switch_the_running_action_server(live):
    settings = live["settings"]
    registry = Registry(settings)
    stock = stock_id(settings)
    chat = RestChat(live)
    assert chat(QUESTIONS[0])
    assert model_in_use(settings) == stock

    other = ModelVersion(id="smollm2-135m+deploy-test", task="answer", base="smollm2-135m",
                         base_sha256=SMOLLM2_SHA256, gate_passed=None, created_at=clock.now())
    registry.register(other)
    with pytest.raises(DeployRefused, match="verification gate"):
        registry.deploy(other.id)
    with pytest.raises(DeployRefused, match="reason"):
        registry.deploy(other.id, force=True)
    try:
        registry.deploy(other.id, force=True, reason="deploy test: a different base")
        assert any("starting" in change for change in live["models"].sync())  # as `hotline run` does
        assert chat(QUESTIONS[1]), "the conversation goes on across the switch"
        assert model_in_use(settings, other.id) == other.id
    finally:
        assert registry.rollback("answer") == stock
        live["models"].sync()
    assert chat(QUESTIONS[2])
    assert model_in_use(settings, stock) == stock
    # Answers the model wrote (not quoted) carry its id; only these two models wrote here.
    assert set(answer_models(live, chat.sender)) - {None} <= {stock, other.id}  # None: quoted
