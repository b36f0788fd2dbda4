"""The one model server every process calls: the model is loaded once (not by the action
server, the worker or the gateway), only our own processes may call it, and when it dies
mid-answer the customer gets the quoted fallback and the next answer once it is back."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from knowledge.cache import AnswerCache
from tests.integration.test_model_deploy import answer_models
from tests.integration.gateway_helpers import RestChat

pytestmark = [pytest.mark.servers, pytest.mark.timeout(600)]


def mapped_files(pid: int) -> set[str]:
    return {line.split(maxsplit=5)[-1] for line in Path(f"/proc/{pid}/maps").read_text().splitlines()
            if len(line.split()) == 6}


def stock_server(live):
    [(plan, server)] = [entry for entry in live["models"].running.values()
                        if entry[0].base_path == live["settings"].llm_model_path]
    return plan, server


def listening(port: int) -> int:
    import psutil

    return next(c.pid for c in psutil.net_connections("tcp") if c.laddr.port == port and c.status == "LISTEN")


def test_the_model_is_loaded_once_by_the_model_server(live, worker, web_url):
    settings = live["settings"]
    RestChat(live)("how do I turn on wifi calling")  # the action server has built its answerer
    plan, server = stock_server(live)
    assert str(plan.base_path) in mapped_files(server.process.pid)
    others = [listening(settings.action_port), listening(settings.gateway_port), worker.process.pid]
    assert all(str(plan.base_path) not in mapped_files(pid) for pid in others)


def test_only_our_processes_may_call_the_model_server(live):
    plan, _ = stock_server(live)
    url = f"http://{live['settings'].model_server_host}:{plan.port}"
    body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    assert httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30).status_code == 401
    assert httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30,
                      headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.post(f"{url}/lora-adapters", json=[], timeout=30).status_code == 401
    key = live["settings"].model_server_key.get_secret_value()
    assert httpx.post(f"{url}/v1/chat/completions", json=body, timeout=60,
                      headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_a_model_server_killed_mid_answer_gives_the_fallback_then_comes_back(live):
    chat = RestChat(live)
    _, server = stock_server(live)
    AnswerCache(live["settings"]).clear()  # other tests asked this: it must reach the model
    replies: list[str] = []
    asking = threading.Thread(target=lambda: replies.append(chat("tell me about wifi calling")))
    asking.start()
    time.sleep(1.0)  # the question is on its way to the model (or being written)
    server.process.kill()
    server.process.wait()
    asking.join()
    assert replies and "Wi-Fi Calling" in replies[0]  # quoted from the article instead
    assert any("stopped" in change for change in live["models"].sync())  # as `hotline run` does
    chat("how do I turn on wifi calling")
    assert answer_models(live, chat.sender)[-1]  # the model wrote this one
