"""The container setup keeps Rasa, the action server and the model server off any network but the internal one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hotline.settings import PROJECT_ROOT


def test_only_the_gateway_is_reachable_from_outside():
    compose = Path(sys.executable).parent / "docker-compose"
    env = {**os.environ, "HOTLINE_RASA_AUTH_TOKEN": "t", "HOTLINE_CHANNEL_SECRET": "c", "HOTLINE_ACTION_SECRET": "a",
           "HOTLINE_MODEL_SERVER_KEY": "m", "HOTLINE_PSEUDONYM_SECRET": "p", "HOTLINE_SMS_ID_SECRET": "s",
           "HOTLINE_TWILIO_AUTH_TOKEN": "tw"}
    config = json.loads(subprocess.run(
        [str(compose), "-f", str(PROJECT_ROOT / "docker" / "compose.yml"), "--profile", "postgres",
         "--profile", "scale", "config", "--format", "json"], env=env, check=True, capture_output=True).stdout)
    assert config["networks"]["internal"]["internal"] is True
    services = config["services"]
    for name, service in services.items():
        networks = set(service.get("networks") or {})
        if name == "gateway":
            assert networks == {"internal", "public"}
            assert [port["host_ip"] for port in service["ports"]] == ["127.0.0.1"]
        else:
            assert networks == {"internal"} and not service.get("ports"), name
    for name in ("rasa", "actions", "gateway", "worker", "model-server"):  # the secrets they check each other with
        assert {"HOTLINE_CHANNEL_SECRET", "HOTLINE_ACTION_SECRET", "HOTLINE_MODEL_SERVER_KEY"} <= set(
            services[name]["environment"]), name
