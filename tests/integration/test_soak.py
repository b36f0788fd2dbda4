"""A short soak in every test run (the full one is `hotline bench soak`): simulated customers on
web chat, SMS and voice at once through a real gateway process; nothing lost, no server error."""

from __future__ import annotations

import pytest

from hotline.soak import MIX, run_soak
from hotline.stack import start_gateway
from tests.integration.gateway_helpers import gateway_settings
from tests.ports import free_port

pytestmark = [pytest.mark.servers, pytest.mark.timeout(600)]


def test_customers_at_once_lose_no_message_and_meet_no_server_error(live):
    settings = gateway_settings(live, public_base_url="", rate_limit_messages=1000, gateway_port=free_port())
    with start_gateway(settings, live["token"]) as gateway:
        figures = run_soak(settings, live["token"], {**live["stack"].pids, "gateway": gateway.process.pid},
                           customers=len(MIX), duration_s=20, every_s=2)
    assert figures["server_errors"] == [] and figures["lost"] == 0 and figures["unanswered"] == 0, figures
    assert figures["answered"] + figures["apologies"] == figures["messages"] >= 20
    assert set(figures["turns"]) == set(MIX)
    assert {sample["process"] for sample in figures["samples"]} >= {"gateway", "rasa", "actions"}
