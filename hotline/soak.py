"""A soak: many simulated customers at once for minutes, through the running gateway as real
ones would come (web chat over the WebSocket with account tasks, help questions and handoffs;
texts and calls over signed Twilio webhooks), while every server's memory and open files are
sampled. It proves no message is lost (each one sent got a reply or an apology and is in Rasa's
tracker), no server error, and flat memory and file handles after warm-up.

`hotline bench soak` runs the full one (50 customers, 10 minutes) with a plot; the test suite a
short one over its live servers.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import httpx
import psutil
import websockets

from hotline.apologies import ALL as APOLOGIES
from hotline.bench import signed_webhook, summarise
from hotline.pseudonyms import sms_conversation_id
from hotline.settings import Settings

# What each kind of customer says, one conversation after another; accounts are README demo ones.
SCRIPTS = {
    "account": ["hi", "what's my bill", "ACC-1000001", "1234", "how much data have I used", "what plans do you have",
                "thanks, bye"],
    "help": ["hello", "how does wifi calling work", "what are the APN settings?", "thanks"],
    "handoff": ["my internet keeps dropping", "I want to talk to a person"],
    "sms": ["what plans do you have", "is there an outage in Leeds", "thanks"],
    "voice": ["is there an outage in Leeds", "what plans do you have", "that's all, bye"],
}
MIX = ("account", "help", "account", "handoff", "sms", "account", "voice", "help", "account", "sms")


@dataclass
class SoakRecord:
    """What the customers saw, and what the servers used."""

    turns: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # kind -> ms
    sent: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # conversation id -> messages
    answered: int = 0
    apologies: int = 0
    server_errors: list[str] = field(default_factory=list)
    samples: list[dict] = field(default_factory=list)  # {"t", "process", "rss_mb", "files"}

    def reply(self, kind: str, conversation_id: str, started: float, texts: list[str]) -> None:
        self.turns[kind].append((time.perf_counter() - started) * 1000)
        self.sent[conversation_id] += 1
        if any(text.strip() in APOLOGIES for text in texts):
            self.apologies += 1
        elif any(text.strip() for text in texts):
            self.answered += 1


class SoakCustomers:
    """The simulated customers, against one running gateway."""

    def __init__(self, settings: Settings, record: SoakRecord) -> None:
        self.settings, self.record = settings, record
        self.url = settings.gateway_url

    async def web(self, kind: str) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=120) as client:
            session = (await client.post("/api/chat/sessions")).json()["session_id"]
            cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
            async with websockets.connect(self.url.replace("http", "ws") + f"/ws/chat/{session}", open_timeout=60,
                                          additional_headers={"Cookie": cookies}) as socket:
                for text in SCRIPTS[kind]:
                    started, texts = time.perf_counter(), []
                    await socket.send(json.dumps({"type": "message", "text": text}))
                    while (frame := json.loads(await socket.recv())) != {"type": "typing", "on": False}:
                        if frame["type"] == "error" and frame["code"] != "unavailable":
                            self.record.server_errors.append(f"web {frame['code']}")
                            break
                        if frame["type"] in ("bot", "error"):
                            texts.append(frame.get("text") or frame.get("message") or "")
                    self.record.reply(kind, session, started, texts)
            await self.checked(await client.post(f"/api/chat/sessions/{session}/end"), "end")

    async def twilio(self, client: httpx.AsyncClient, path: str, params: dict) -> httpx.Response:
        return await self.checked(await client.post(path, **signed_webhook(self.settings, path, params)), path)

    async def checked(self, response: httpx.Response, what: str) -> httpx.Response:
        if response.status_code >= 500:
            self.record.server_errors.append(f"{what} {response.status_code}")
        return response

    async def sms(self) -> None:
        number = f"+4477009{uuid.uuid4().int % 10 ** 5:05d}"
        conversation_id = sms_conversation_id(number, self.settings.sms_id_secret.get_secret_value())
        async with httpx.AsyncClient(base_url=self.url, timeout=120) as client:
            for text in SCRIPTS["sms"]:
                started = time.perf_counter()
                response = await self.twilio(client, "/twilio/sms", {
                    "From": number, "To": "+441130000001", "Body": text, "MessageSid": "SM" + uuid.uuid4().hex})
                self.record.reply("sms", conversation_id, started,
                                  [message.text or "" for message in ElementTree.fromstring(response.text).iter("Message")])

    async def voice(self) -> None:
        """A call: each turn's speech to the Gather's action, redirects followed as Twilio does."""
        call = {"CallSid": "CA" + uuid.uuid4().hex, "From": f"+4477009{uuid.uuid4().int % 10 ** 5:05d}"}
        async with httpx.AsyncClient(base_url=self.url, timeout=120) as client:
            async def twiml(path: str, params: dict) -> ElementTree.Element:
                return ElementTree.fromstring((await self.twilio(client, path, params)).text)

            root = await twiml("/twilio/voice", call)
            for text in SCRIPTS["voice"]:
                gather = root.find("Gather")
                if gather is None:  # the call was ended (a goodbye)
                    break
                started, said = time.perf_counter(), []
                root = await twiml(gather.get("action"), {**call, "SpeechResult": text, "Confidence": "0.9"})
                while True:
                    said += [say.text or "" for say in root.iter("Say")]
                    if (redirect := root.find("Redirect")) is None:
                        break
                    root = await twiml(redirect.text, call)
                self.record.reply("voice", call["CallSid"], started, said)
            await self.twilio(client, "/twilio/voice/status", {**call, "CallStatus": "completed"})

    async def customer(self, index: int, until: float) -> None:
        """One simulated customer: conversations of their kind, one after another, until the end."""
        kind = MIX[index % len(MIX)]
        while time.monotonic() < until:
            try:
                await (self.sms() if kind == "sms" else self.voice() if kind == "voice" else self.web(kind))
            except (httpx.HTTPError, websockets.WebSocketException, OSError) as error:
                self.record.server_errors.append(f"{kind} {type(error).__name__}")
                await asyncio.sleep(1)


def sample(record: SoakRecord, processes: dict[str, int], started: float) -> None:
    """Memory and open files of each server (with its children: Rasa's and Sanic's workers)."""
    for name, pid in processes.items():
        try:
            family = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
            record.samples.append({"t": time.monotonic() - started, "process": name,
                                   "rss_mb": sum(p.memory_info().rss for p in family) / 2 ** 20,
                                   "files": sum(p.num_fds() for p in family)})
        except psutil.NoSuchProcess:
            continue


async def _soak(settings: Settings, processes: dict[str, int], customers: int, duration_s: float,
                every_s: float, record: SoakRecord) -> None:
    started = time.monotonic()
    simulated = SoakCustomers(settings, record)

    async def sampler() -> None:
        while time.monotonic() - started < duration_s:
            await asyncio.to_thread(sample, record, processes, started)
            await asyncio.sleep(every_s)

    await asyncio.gather(sampler(), *(simulated.customer(index, started + duration_s) for index in range(customers)))
    await asyncio.to_thread(sample, record, processes, started)


def lost_messages(settings: Settings, token: str, record: SoakRecord) -> int:
    """Messages sent that are not in the conversation's tracker (Rasa never saw them)."""
    lost = 0
    with httpx.Client(base_url=settings.rasa_url, timeout=60) as client:
        for conversation_id, sent in record.sent.items():
            events = client.get(f"/conversations/{conversation_id}/tracker", params={"token": token}).json()["events"]
            lost += max(0, sent - sum(event["event"] == "user" for event in events))
    return lost


def growth(samples: list[dict], measure: str, warm_up: float) -> dict[str, float]:
    """Per process: the last fifth of the run against the first fifth after warm-up, in percent."""
    result = {}
    for name in {s["process"] for s in samples}:
        values = [s[measure] for s in samples if s["process"] == name and s["t"] >= warm_up]
        if len(values) >= 5:
            fifth = max(1, len(values) // 5)
            early, late = sum(values[:fifth]) / fifth, sum(values[-fifth:]) / fifth
            result[name] = 100 * (late - early) / early if early else 0.0
    return result


def run_soak(settings: Settings, token: str, processes: dict[str, int], customers: int = 50,
             duration_s: float = 600, every_s: float = 5) -> dict:
    record = SoakRecord()
    asyncio.run(_soak(settings, processes, customers, duration_s, every_s, record))
    sent = sum(record.sent.values())
    warm_up = min(60.0, duration_s / 4)
    return {"customers": customers, "duration_s": duration_s, "messages": sent, "answered": record.answered,
            "apologies": record.apologies, "unanswered": sent - record.answered - record.apologies,
            "lost": lost_messages(settings, token, record), "server_errors": record.server_errors,
            "turns": {kind: summarise(values) for kind, values in record.turns.items()},
            "memory_growth_pct": growth(record.samples, "rss_mb", warm_up),
            "files_growth_pct": growth(record.samples, "files", warm_up), "samples": record.samples}


def plot(figures: dict, path: Path) -> None:
    """Memory and open files of each server over the run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (memory, files) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    for name in sorted({s["process"] for s in figures["samples"]}):
        points = [s for s in figures["samples"] if s["process"] == name]
        memory.plot([p["t"] for p in points], [p["rss_mb"] for p in points], label=name)
        files.plot([p["t"] for p in points], [p["files"] for p in points], label=name)
    memory.set_ylabel("resident memory (MB)")
    files.set_ylabel("open files")
    files.set_xlabel("seconds")
    memory.legend(loc="upper left", fontsize=8)
    memory.set_title(f"Soak: {figures['customers']} customers, {figures['messages']} messages, "
                     f"{figures['lost']} lost, {len(figures['server_errors'])} server errors")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
