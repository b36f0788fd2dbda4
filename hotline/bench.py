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
from hotline.stack import auth_token, channel_endpoint, running_stack

NLU_ONLY = ["hi there", "are you a bot?", "what can you do", "thanks a lot", "bye for now"]
SESSION_TURNS = 20  # a new conversation every so often, as real traffic has
VERIFY = ["what's my bill", "ACC-1000001", "1234"]
DATABASE = ["what's my bill", "how much data have I used", "explain my bill", "what plans do you have"]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summarise(samples: list[float]) -> dict[str, float]:
    return {"turns": len(samples), "p50_ms": statistics.median(samples), "p95_ms": percentile(samples, 0.95),
            "max_ms": max(samples)}


def timed_turn(client: httpx.Client, endpoint: tuple[str, dict[str, str]], sender: str, text: str) -> float:
    url, headers = endpoint
    started = time.perf_counter()
    response = client.post(url, headers=headers, json={"sender": sender, "message": text})
    response.raise_for_status()
    if not response.json():
        raise RuntimeError(f"No reply to {text!r}")
    return (time.perf_counter() - started) * 1000


def run_turn_benchmark(settings: Settings, turns: int) -> dict[str, dict[str, float]]:
    """Start the servers, warm them up, then alternate NLU-only and database turns."""
    token = auth_token(settings)
    samples: dict[str, list[float]] = {"nlu_only": [], "database_action": []}
    with running_stack(settings, token), httpx.Client(timeout=60) as client:
        endpoint = channel_endpoint(settings)
        timed_turn(client, endpoint, "bench-warm-up", "what are the APN settings?")  # waits for the model to load
        for index in range(turns):
            if index % SESSION_TURNS == 0:
                sender = f"bench-{uuid.uuid4().hex[:8]}"
                for text in VERIFY:
                    timed_turn(client, endpoint, sender, text)
            kind, texts = ("nlu_only", NLU_ONLY) if index % 2 == 0 else ("database_action", DATABASE)
            samples[kind].append(timed_turn(client, endpoint, sender, texts[index // 2 % len(texts)]))
    return {kind: summarise(values) for kind, values in samples.items()}


async def _chat_session(gateway_url: str, texts: list[str], samples: list[float]) -> None:
    """One web-chat session: create it, then time each turn at the client until typing stops."""
    import json

    import websockets

    async with httpx.AsyncClient(base_url=gateway_url, timeout=60) as client:
        session = (await client.post("/api/chat/sessions")).json()["session_id"]
        cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    async with websockets.connect(gateway_url.replace("http", "ws") + f"/ws/chat/{session}",
                                  additional_headers={"Cookie": cookies}) as socket:
        for text in texts:
            started = time.perf_counter()
            await socket.send(json.dumps({"type": "message", "text": text}))
            while json.loads(await socket.recv()) != {"type": "typing", "on": False}:
                pass
            samples.append((time.perf_counter() - started) * 1000)


def _web_chat(gateway_url: str, sessions: int, texts: list[str]) -> list[float]:
    import asyncio

    samples: list[float] = []

    async def all_sessions() -> None:
        await asyncio.gather(*(_chat_session(gateway_url, texts, samples) for _ in range(sessions)))

    asyncio.run(all_sessions())
    return samples


def _twilio_turns(settings: Settings, turns: int) -> list[float]:
    from urllib.parse import urlencode

    from twilio.request_validator import RequestValidator

    validator = RequestValidator(settings.twilio_auth_token.get_secret_value())
    samples = []
    with httpx.Client(base_url=settings.gateway_url, timeout=60) as client:
        for index in range(turns):
            call = f"CAbench{index // 5}"
            path, params = (("/twilio/voice", {"CallSid": call}) if index % 5 == 0 else
                            ("/twilio/voice/gather", {"CallSid": call, "SpeechResult": NLU_ONLY[index % len(NLU_ONLY)]}))
            signature = validator.compute_signature(settings.gateway_url + path, params)
            started = time.perf_counter()
            client.post(path, content=urlencode(params), headers={
                "X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}).raise_for_status()
            samples.append((time.perf_counter() - started) * 1000)
    return samples


KNOWLEDGE_TURNS = ["what are the APN settings?", "how does wifi calling work", "how do I get my voicemail",
                   "what is content lock"]


def run_channel_benchmark(settings: Settings, turns_per_session: int = 6) -> dict[str, dict[str, float]]:
    """Web chat turns measured at the client (1 and 20 sessions at once) and Twilio webhook latency."""
    from pydantic import SecretStr

    settings = settings.model_copy(update={"twilio_auth_token": SecretStr("bench-token"),
                                           "rate_limit_messages": 1000})
    token = auth_token(settings)
    with running_stack(settings, token, gateway=True):
        _web_chat(settings.gateway_url, 1, ["hello", KNOWLEDGE_TURNS[0]])  # warm up, model loaded
        return {
            "web_nlu_1_session": summarise(_web_chat(settings.gateway_url, 1, NLU_ONLY * 4)),
            "web_nlu_20_sessions": summarise(_web_chat(settings.gateway_url, 20, NLU_ONLY[:turns_per_session])),
            "web_knowledge_1_session": summarise(_web_chat(settings.gateway_url, 1, KNOWLEDGE_TURNS * 2)),
            "web_knowledge_20_sessions": summarise(_web_chat(settings.gateway_url, 20, KNOWLEDGE_TURNS[:2])),
            "twilio_webhook": summarise(_twilio_turns(settings, 100)),
        }
