"""The gateway will not listen beyond this machine while a secret is at its well-known default."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import SecretStr

from channels.security import PublicWithDefaults, refuse_public_defaults
from hotline.agents import save_agent
from hotline.db.seed import DEMO_AGENT
from hotline.settings import PROJECT_ROOT, Settings

SET = {"twilio_auth_token": SecretStr("a-real-token"), "sms_id_secret": SecretStr("s" * 24),
       "pseudonym_secret": SecretStr("p" * 24)}


def test_a_public_address_with_defaults_is_refused_naming_each(database_url):
    with pytest.raises(PublicWithDefaults) as refused:
        refuse_public_defaults(Settings(database_url=database_url, gateway_host="0.0.0.0"))
    message = str(refused.value)
    for what in ("HOTLINE_TWILIO_AUTH_TOKEN", "HOTLINE_SMS_ID_SECRET", "HOTLINE_PSEUDONYM_SECRET",
                 f"hotline agent add {DEMO_AGENT[0]}"):
        assert what in message


def test_loopback_runs_with_the_defaults_and_a_public_address_once_all_are_set(database_url):
    for host in ("127.0.0.1", "localhost", "::1"):
        refuse_public_defaults(Settings(database_url=database_url, gateway_host=host))
    settings = Settings(database_url=database_url, gateway_host="0.0.0.0", **SET)
    with pytest.raises(PublicWithDefaults, match="demo agent") as refused:
        refuse_public_defaults(settings)
    assert "HOTLINE_" not in str(refused.value)
    save_agent(database_url, DEMO_AGENT[0], DEMO_AGENT[1], "a-new-long-password")
    refuse_public_defaults(settings)


def test_the_gateway_process_exits_with_the_reason(database_url):
    env = {**os.environ, "HOTLINE_DATABASE_URL": database_url, "HOTLINE_GATEWAY_HOST": "0.0.0.0"}
    done = subprocess.run([sys.executable, "-m", "uvicorn", "channels.app:create_app", "--factory",
                           "--host", "0.0.0.0", "--port", "1"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "Not starting on 0.0.0.0" in done.stderr and "HOTLINE_TWILIO_AUTH_TOKEN is empty" in done.stderr
