"""REST turn latency against the real Rasa and action servers.

Two kinds of turn are timed separately: NLU-only turns (answered by a template
response) and database turns (a custom action that reads the customer database).
"""

from __future__ import annotations

import statistics
import time
import uuid

import httpx

from hotline.settings import Settings
from hotline.stack import auth_token, running_stack

NLU_ONLY = ["hi there", "are you a bot?", "what can you do", "thanks a lot", "tell me a joke about cats"]
VERIFY = ["what's my bill", "ACC-1000001", "1234"]
DATABASE = ["what's my bill", "how much data have I used", "explain my bill", "what plans do you have"]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summarise(samples: list[float]) -> dict[str, float]:
    return {"turns": len(samples), "p50_ms": statistics.median(samples), "p95_ms": percentile(samples, 0.95),
            "max_ms": max(samples)}


def timed_turn(client: httpx.Client, url: str, sender: str, text: str) -> float:
    started = time.perf_counter()
    response = client.post(url, json={"sender": sender, "message": text})
    response.raise_for_status()
    if not response.json():
        raise RuntimeError(f"No reply to {text!r}")
    return (time.perf_counter() - started) * 1000


def run_turn_benchmark(settings: Settings, turns: int) -> dict[str, dict[str, float]]:
    """Start the servers, warm them up, then alternate NLU-only and database turns."""
    token = auth_token(settings)
    samples: dict[str, list[float]] = {"nlu_only": [], "database_action": []}
    with running_stack(settings, token), httpx.Client(timeout=30) as client:
        url = f"{settings.rasa_url}/webhooks/rest/webhook"
        sender = f"bench-{uuid.uuid4().hex[:8]}"
        for text in VERIFY:
            timed_turn(client, url, sender, text)
        for index in range(turns):
            kind, texts = ("nlu_only", NLU_ONLY) if index % 2 == 0 else ("database_action", DATABASE)
            samples[kind].append(timed_turn(client, url, sender, texts[index // 2 % len(texts)]))
    return {kind: summarise(values) for kind, values in samples.items()}
