"""Answers that reach the customer while they are written, through the real gateway.

Web chat: each checked sentence arrives as a draft frame before the final message, only on its
own conversation's socket. Phone: a caller is never left in silence; the first webhook of every
turn answers within voice_first_words_s with the answer, its first checked sentences or a
filler; later ones with the next sentences or a soft hold sound (never the filler again); the
rest follows once.

The gateway runs in-process over a stand-in for Rasa whose help answers are written slowly,
their checked sentences posted to the drafts as the action server posts them.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from channels.app import create_app
from channels.twilio_voice import APOLOGY, FILLER
from hotline.db.drafts import DraftBoard
from hotline.rasa_client import BotReply, RasaUnavailable, Turn
from hotline.settings import get_settings
from tests.integration.gateway_helpers import PUBLIC, TWILIO_TOKEN, signed_post, spoken_text, twiml

FIRST, SECOND = "Dial 123 from your Brightwave phone.", "Voicemail is free on every plan."
FINAL = f"{FIRST} {SECOND} I can text you a link to the full article if you like."


class SlowWriter:
    """Stands in for Rasa: the answer's sentences appear as drafts at the given times (seconds
    after the turn starts), and the whole answer at `done_after`; or Rasa is down."""

    def __init__(self, board: DraftBoard, drafts: list[tuple[float, str]], done_after: float, down: bool = False):
        self.board, self.drafts, self.done_after, self.down = board, drafts, done_after, down

    async def send(self, sender: str, text: str, metadata: dict | None = None) -> Turn:
        """The drafts and the answer carry the text asked, so a test can tell whose they are."""
        if self.down:
            raise RasaUnavailable("down")
        started = time.monotonic()
        mine = "" if text == "how do I get my voicemail" else f" ({text})"
        for at, draft in self.drafts:
            await asyncio.sleep(max(0.0, at - (time.monotonic() - started)))
            await asyncio.to_thread(self.board.post, sender, draft + mine)
        await asyncio.sleep(max(0.0, self.done_after - (time.monotonic() - started)))
        return Turn([BotReply(FINAL + mine)])

    async def latest_intent(self, sender: str) -> str:
        return "ask_question"

    async def tracker(self, sender: str) -> dict:
        return {"events": []}

    async def close(self) -> None:
        pass


@pytest.fixture
def settings(database_url):
    return get_settings().model_copy(update={"twilio_auth_token": SecretStr(TWILIO_TOKEN),
                                             "public_base_url": PUBLIC, "voice_first_words_s": 0.6})


def test_web_chat_shows_checked_sentences_first_and_only_to_their_own_conversation(settings):
    with TestClient(create_app(settings)) as client:
        gateway = client.app.state.gateway
        gateway.rasa = SlowWriter(gateway.drafts, [(0.05, FIRST), (0.5, SECOND)], done_after=1.0)
        sessions = [client.post("/api/chat/sessions").json()["session_id"] for _ in range(2)]
        frames: dict[str, list[dict]] = {session: [] for session in sessions}

        def converse(session: str, text: str) -> None:
            with client.websocket_connect(f"/ws/chat/{session}") as socket:
                socket.send_json({"type": "message", "text": text})
                while (frame := socket.receive_json()) != {"type": "typing", "on": False}:
                    frames[session].append(frame)

        talks = [threading.Thread(target=converse, args=(session, f"question {n}")) for n, session in enumerate(sessions)]
        for talk in talks:
            talk.start()
        for talk in talks:
            talk.join()
        for n, session in enumerate(sessions):
            kinds = [(frame["type"], frame.get("text", "")) for frame in frames[session] if frame["type"] != "typing"]
            assert kinds == [("draft", f"{FIRST} (question {n})"), ("draft", f"{SECOND} (question {n})"),
                             ("bot", f"{FINAL} (question {n})")]
        assert all(gateway.drafts.last_id(session) == 0 for session in sessions)  # gone with the turn


@pytest.fixture
def call(settings):
    """Starts a call over a gateway whose Rasa writes as told; gives the first webhook's TwiML,
    how long it took, and a function that follows the redirects (TwiML of each)."""
    def run(drafts: list[tuple[float, str]], done_after: float, down: bool = False):
        with TestClient(create_app(settings)) as client:
            gateway = client.app.state.gateway
            gateway.rasa = SlowWriter(gateway.drafts, drafts, done_after, down)
            sid = "CA" + uuid.uuid4().hex
            signed_post(client, "/twilio/voice", {"CallSid": sid})
            started = time.monotonic()
            roots = [twiml(signed_post(client, "/twilio/voice/gather?turn=1",
                                       {"CallSid": sid, "SpeechResult": "how do I get my voicemail"}))]
            first_s = time.monotonic() - started
            while roots[-1].find("Redirect") is not None and len(roots) < 60:
                roots.append(twiml(signed_post(client, roots[-1].find("Redirect").text, {"CallSid": sid})))
            return roots, first_s
    return run


def heard(roots) -> str:
    return " ".join(spoken_text(root) for root in roots).strip()


def test_a_fast_answer_is_said_at_once_and_the_caller_can_interrupt_it(call):
    roots, _ = call([], done_after=0.0)
    assert len(roots) == 1 and roots[0].find("Gather/Say").text.startswith(FIRST)


def test_the_first_checked_sentence_comes_first_and_the_rest_is_said_once(call):
    roots, first_s = call([(0.05, FIRST), (1.0, SECOND)], done_after=2.0)
    assert spoken_text(roots[0]) == FIRST and first_s < 0.6 + 1.0  # the wait is bounded, not the machine
    assert heard(roots).count(FIRST) == 1 and heard(roots).count(SECOND) == 1
    assert FILLER not in heard(roots)
    assert roots[-1].find("Gather") is not None  # the end of the answer listens for the next turn


def test_a_slow_answer_gets_one_filler_then_a_hold_sound_never_silence(call):
    roots, _ = call([], done_after=3.0)
    assert spoken_text(roots[0]) == FILLER
    waiting = roots[1:-1]
    assert waiting and all(root.find("Play") is not None and not spoken_text(root) for root in waiting)
    assert all(root.find("Play").text == f"{PUBLIC}/static/hold.wav" for root in waiting)
    assert heard(roots).count(FILLER) == 1 and FINAL.split(" I can")[0] in heard(roots)


def test_when_the_assistant_is_down_the_caller_hears_the_apology_and_can_go_on(call):
    roots, _ = call([], done_after=0.0, down=True)
    assert spoken_text(roots[-1]) == APOLOGY and roots[-1].find("Gather") is not None
