"""REST turn latency against the real Rasa and action servers.

Two kinds of turn are timed separately: NLU-only turns (answered by a template
response) and database turns (a custom action that reads the customer database).
"""

from __future__ import annotations

import statistics
import time
import uuid
from pathlib import Path

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


def signed_webhook(settings: Settings, path: str, params: dict[str, str]) -> dict:
    """A Twilio webhook's body and headers, signed as Twilio signs them: httpx post() arguments."""
    from urllib.parse import urlencode

    from twilio.request_validator import RequestValidator

    signature = RequestValidator(settings.twilio_auth_token.get_secret_value()).compute_signature(
        settings.gateway_url + path, params)
    return {"content": urlencode(params),
            "headers": {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}}


def _twilio_turns(settings: Settings, turns: int) -> list[float]:
    samples = []
    with httpx.Client(base_url=settings.gateway_url, timeout=60) as client:
        for index in range(turns):
            call = f"CAbench{index // 5}"
            path, params = (("/twilio/voice", {"CallSid": call}) if index % 5 == 0 else
                            ("/twilio/voice/gather", {"CallSid": call, "SpeechResult": NLU_ONLY[index % len(NLU_ONLY)]}))
            signed = signed_webhook(settings, path, params)
            started = time.perf_counter()
            client.post(path, **signed).raise_for_status()
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


async def _help_session(gateway_url: str, texts: list[str], first: list[float], full: list[float],
                        apologies: list[str]) -> None:
    """One web-chat customer asking help questions: the time to the first text shown (a checked
    sentence or the whole answer) and to the end of the turn, at the client."""
    import json

    import websockets

    from hotline.apologies import CHAT

    async with httpx.AsyncClient(base_url=gateway_url, timeout=120) as client:
        session = (await client.post("/api/chat/sessions")).json()["session_id"]
        cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    async with websockets.connect(gateway_url.replace("http", "ws") + f"/ws/chat/{session}",
                                  additional_headers={"Cookie": cookies}, open_timeout=60) as socket:
        for text in texts:
            started, shown = time.perf_counter(), None
            await socket.send(json.dumps({"type": "message", "text": text}))
            while (frame := json.loads(await socket.recv())) != {"type": "typing", "on": False}:
                if frame["type"] in ("draft", "bot", "error") and shown is None:
                    shown = time.perf_counter()
                if frame.get("text", "").startswith(CHAT[:40]) or frame.get("message", "").startswith(CHAT[:40]):
                    apologies.append(text)
            full.append((time.perf_counter() - started) * 1000)
            first.append(((shown or time.perf_counter()) - started) * 1000)


def _help_customers(gateway_url: str, questions: list[list[str]]) -> dict:
    import asyncio

    first, full, apologies = [], [], []

    async def everyone() -> None:
        await asyncio.gather(*(_help_session(gateway_url, texts, first, full, apologies) for texts in questions))

    asyncio.run(everyone())
    return {"first_shown": summarise(first), "full_answer": summarise(full), "apologies": len(apologies)}


def _nlu_while_answering(settings: Settings, answers: list[list[str]], sessions: int = 50) -> dict:
    """NLU-only turns from many sessions at once while help answers are being written."""
    import asyncio
    import threading

    samples: list[float] = []
    writer = threading.Thread(target=_help_customers, args=(settings.gateway_url, answers))
    writer.start()
    time.sleep(2)  # the answers are under way

    async def nlu_session(index: int) -> None:
        url, headers = channel_endpoint(settings)
        async with httpx.AsyncClient(timeout=60) as client:
            for text in NLU_ONLY[:3]:
                started = time.perf_counter()
                (await client.post(url, headers=headers, json={"sender": f"bench-nlu-{index}-{uuid.uuid4().hex[:6]}",
                                                               "message": text})).raise_for_status()
                samples.append((time.perf_counter() - started) * 1000)

    async def all_sessions() -> None:
        await asyncio.gather(*(nlu_session(index) for index in range(sessions)))

    asyncio.run(all_sessions())
    writer.join()
    return summarise(samples)


def _phone_first_content(settings: Settings, texts: list[str]) -> dict:
    """Per caller turn: how long Twilio waits for our first webhook response, and for the first
    <Say> that carries content (not the filler), following redirects as Twilio does."""
    from xml.etree import ElementTree

    from channels.twilio_voice import FILLER, STILL_WORKING

    webhook, content, silent = [], [], []
    with httpx.Client(base_url=settings.gateway_url, timeout=60) as client:
        def post(path: str, params: dict) -> ElementTree.Element:
            response = client.post(path, **signed_webhook(settings, path, params))
            response.raise_for_status()
            return ElementTree.fromstring(response.text)

        for index, text in enumerate(texts):
            call = f"CAbench{uuid.uuid4().hex}"
            post("/twilio/voice", {"CallSid": call})
            started = time.perf_counter()
            root, longest = post("/twilio/voice/gather?turn=1", {"CallSid": call, "SpeechResult": text}), 0.0
            webhook.append((time.perf_counter() - started) * 1000)
            heard = started
            while True:
                said = [say.text for say in root.iter("Say") if say.text not in (FILLER, STILL_WORKING)]
                if said and len(content) <= index:
                    content.append((time.perf_counter() - started) * 1000)
                longest = max(longest, time.perf_counter() - heard)
                heard = time.perf_counter()
                redirect = root.find("Redirect")
                if redirect is None:
                    break
                root = post(redirect.text, {"CallSid": call})
            silent.append(longest * 1000)
    return {"first_webhook": summarise(webhook), "first_content": summarise(content),
            "longest_wait_for_a_webhook": summarise(silent)}


def _memory(running) -> dict:
    """Resident and proportional memory of every process of the stack (PSS counts a shared
    model file once across the processes that map it)."""
    import psutil

    pids = list(running.pids.values())
    rss = pss = 0
    for pid in pids:
        for process in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
            info = process.memory_full_info()
            rss, pss = rss + info.rss, pss + info.pss
    return {"processes": len(pids), "rss_gb": rss / 2 ** 30, "pss_gb": pss / 2 ** 30}


def run_answer_benchmark(settings: Settings, questions: int = 8, crowd: int = 20) -> dict:
    """Today's path (the model in every process) and the shared model server, side by side, in
    one run: help answers for 1 and for `crowd` web-chat customers, NLU-only turns from 50 sessions
    while answers are written, the phone's first content, memory, and the answer cache."""
    from pydantic import SecretStr

    from knowledge.answer import _QUOTE_FIRST
    from knowledge.bench import cache_figures
    from knowledge.evaluate import load_jsonl

    generated = [row["question"] for row in load_jsonl("qa.jsonl")
                 if row["answerable"] and not _QUOTE_FIRST.search(row["question"])]
    base = settings.model_copy(update={"twilio_auth_token": SecretStr("bench-token"), "rate_limit_messages": 1000,
                                       "answer_cache": False})
    figures = {}
    for backend in ("llama_cpp", "server"):
        current = base.model_copy(update={"llm_backend": backend})
        token = auth_token(current)
        with running_stack(current, token, gateway=True) as running:
            _help_customers(current.gateway_url, [generated[-2:]])  # warm up: every process has its model
            figures[backend] = {
                "memory": _memory(running),
                "help_1_customer": _help_customers(current.gateway_url, [generated[:questions]]),
                f"help_{crowd}_customers": _help_customers(current.gateway_url,
                                                           [[text] for text in generated[questions:questions + crowd]]),
                "nlu_50_sessions_while_answering": _nlu_while_answering(
                    current, [[text] for text in generated[questions + crowd:questions + crowd + 10]]),
                "phone_nlu": _phone_first_content(current, NLU_ONLY),
                "phone_database": _phone_first_content(current, ["what plans do you have", "is there an outage"] * 2),
                "phone_help": _phone_first_content(current, generated[questions + crowd + 10:][:6]),
            }
    cached = base.model_copy(update={"llm_backend": "server", "answer_cache": True})
    with running_stack(cached, auth_token(cached), gateway=True):
        _help_customers(cached.gateway_url, [generated[:2]])  # answered once, now cached
        figures["server"]["cache_hit_end_to_end"] = _help_customers(cached.gateway_url, [generated[:2] * 3])
    figures["cache"] = cache_figures(settings, "test")
    return figures


def run_soak_benchmark(settings: Settings, customers: int, duration_s: float, plot_path: Path) -> dict:
    """The full soak (hotline/soak.py) over freshly started servers, gateway and worker included."""
    from pydantic import SecretStr

    from hotline.soak import plot, run_soak

    settings = settings.model_copy(update={"twilio_auth_token": SecretStr("bench-token"), "rate_limit_messages": 1000})
    token = auth_token(settings)
    with running_stack(settings, token, gateway=True) as running:
        _web_chat(settings.gateway_url, 1, ["hello", KNOWLEDGE_TURNS[0]])  # warm up, model loaded
        figures = run_soak(settings, token, running.pids, customers, duration_s)
    plot(figures, plot_path)
    return figures
