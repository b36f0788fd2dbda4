"""No sequence of customer messages leaves a conversation without a reply: the two sequences that
once tripped Rasa's circuit breaker (and silenced the chat until the session expired), then a
seeded fuzz of 100 turns (another seed each run), through the real Rasa and action servers.

The fuzz verifies as the demo customers and may pay, change plans or suspend lines, so these
tests run on servers and a database of their own: the session's `live` database stays as the
other modules expect it.
"""

from __future__ import annotations

import os
import random
import re
import shutil
from collections import Counter
from pathlib import Path

import httpx
import pytest
import yaml

from hotline.catalog import PLANS, ROAMING_COUNTRIES
from hotline.db.seed import DEMO_IDENTITIES
from hotline.insights.transcript import turn_failures
from hotline.apologies import ALL as APOLOGIES
from hotline.settings import PROJECT_ROOT, Settings, get_settings, with_secrets
from hotline.stack import CHANNEL_SECRET_HEADER, auth_token, running_stack
from tests.integration.gateway_helpers import new_id
from tests.ports import free_port

pytestmark = [pytest.mark.servers, pytest.mark.timeout(1800)]
CIRCUIT_BREAKER = "Circuit breaker tripped"
CHLOE = next(demo for demo in DEMO_IDENTITIES if demo.account_number == "ACC-1000003")
FUZZ_TURNS = 100
# Each of these is a model call of seconds (so is many a fallback): a few keep the run bounded.
KNOWLEDGE_INTENTS = {"ask_question", "out_of_scope", "activate_esim"}
MAX_KNOWLEDGE_TURNS = 8


@pytest.fixture(scope="module")
def own_live(tmp_path_factory, seeded_template):
    """An action server and Rasa of this module's own, over a fresh copy of the seeded database
    (the help-article index and the model file are the shared ones, as for `live`)."""
    var = tmp_path_factory.mktemp("no-dead-ends")
    shutil.copy(seeded_template, var / "hotline.db")
    shared = get_settings()
    settings = with_secrets(Settings(var_dir=var, rasa_port=free_port(), action_port=free_port(),
                                     chroma_dir=shared.chroma_dir, llm_model_path=shared.llm_model_path))
    token = auth_token(settings)
    with running_stack(settings, token) as running:
        rasa = running.servers[1]
        yield {"settings": settings, "token": token, "rasa_log": rasa.log_path}


def send(server: dict, sender: str, text: str) -> list[dict]:
    """One customer turn, sent as the gateway sends it: the bot's messages as Rasa returns them."""
    settings = server["settings"]
    response = httpx.post(f"{settings.rasa_url}/webhooks/gateway/webhook",
                          headers={CHANNEL_SECRET_HEADER: settings.channel_secret.get_secret_value()},
                          json={"sender": sender, "message": text}, timeout=90)
    response.raise_for_status()
    return response.json()


class Watched:
    """A conversation whose every turn must get a reply, none sent twice, and no circuit breaker."""

    def __init__(self, server: dict, note: str = "") -> None:
        self.server, self.note, self.sender = server, note, new_id("dead-ends")
        self.log = Path(server["rasa_log"])
        self.log_start = self.log.stat().st_size

    def __call__(self, text: str) -> list[dict]:
        messages = send(self.server, self.sender, text)
        texts = [message.get("text") or "" for message in messages if message.get("text") or message.get("buttons")]
        assert texts, f"{self.note}no reply to {text[:80]!r} in {self.sender}"
        repeated = [reply for reply, count in Counter(texts).items() if reply and count > 1]
        assert not repeated, f"{self.note}{text[:80]!r} got the same reply twice: {repeated[0][:120]!r}"
        assert CIRCUIT_BREAKER not in self.new_log(), f"{self.note}circuit breaker after {text[:80]!r}"
        return messages

    def new_log(self) -> str:
        with self.log.open(errors="replace") as log:
            log.seek(self.log_start)
            return log.read()

    def tracker(self) -> dict:
        response = httpx.get(f"{self.server['settings'].rasa_url}/conversations/{self.sender}/tracker",
                             params={"token": self.server["token"]}, timeout=30)
        response.raise_for_status()
        return response.json()

    def actions_since_last_message(self) -> list[str]:
        events = self.tracker()["events"]
        last = max(index for index, event in enumerate(events) if event["event"] == "user")
        return [event["name"] for event in events[last:] if event["event"] == "action"]


def text_of(messages: list[dict]) -> str:
    return "\n".join(message.get("text") or "" for message in messages)


def test_a_chat_that_opens_with_an_account_number_then_the_pin(own_live):
    chat = Watched(own_live)
    assert "PIN" in text_of(chat(CHLOE.account_number))
    assert f"Thanks {CHLOE.first_name}, you're verified" in text_of(chat(CHLOE.pin))
    assert "Your latest bill" in text_of(chat("what's my bill?"))
    # The PIN alone, before any account number, means nothing yet: one reply each, not ten.
    lost = Watched(own_live)
    lost(CHLOE.pin)
    lost(CHLOE.pin)


def test_repeated_misunderstandings_offer_a_person_once(own_live, domain):
    offer = domain["responses"]["utter_reprompt_offer_human"][0]["text"]
    chat = Watched(own_live)
    replies = [text_of(chat("/nlu_fallback")) for _ in range(4)]
    assert [reply == offer for reply in replies] == [False, True, False, False]
    assert text_of(chat("yes please")), "the conversation went on answering"


def test_a_verified_customer_who_volunteers_their_details(own_live):
    chat = Watched(own_live)
    assert "account number" in text_of(chat("what's my bill?"))
    chat(CHLOE.account_number)
    assert f"Thanks {CHLOE.first_name}, you're verified" in text_of(chat(CHLOE.pin))
    chat(f"by the way my date of birth is {CHLOE.date_of_birth:%d/%m/%Y} and my mobile is 07700 900461")
    actions = chat.actions_since_last_message()
    assert len(actions) == len(set(actions)), f"an action ran twice in one turn: {actions}"
    assert text_of(chat("how much data have I used?")), "the conversation went on answering"


def nlu_examples() -> dict[str, list[str]]:
    """Every intent's training examples, entity annotations reduced to their text."""
    examples: dict[str, list[str]] = {}
    for path in sorted((PROJECT_ROOT / "bot" / "data" / "nlu").glob("*.yml")):
        for item in yaml.safe_load(path.read_text()).get("nlu") or []:
            if "intent" in item:
                lines = [line.strip()[2:] for line in item["examples"].splitlines() if line.strip().startswith("- ")]
                examples.setdefault(item["intent"], []).extend(
                    re.sub(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})", r"\1", line) for line in lines)
    return examples


SLOT_VALUES = [
    *(demo.account_number for demo in DEMO_IDENTITIES), "ACC-9999999", "acc 1000002", "07700 900461",
    *(demo.pin for demo in DEMO_IDENTITIES), "0000", "12345",
    *(f"{demo.date_of_birth:%d/%m/%Y}" for demo in DEMO_IDENTITIES), "31/02/1990", "1 January 2001",
    *(plan.name for plan in PLANS), *(country for zone in ROAMING_COUNTRIES.values() for country in zone),
    *(demo.postcode for demo in DEMO_IDENTITIES), "Leeds", "£10", "25.50", "5GB", "20GB Boost", "March",
    "the second one", "yes", "no", "1", "2",
]


class Fuzzer:
    """Seeded customer messages: intent examples, slot values, the buttons just offered, and noise."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.examples = nlu_examples()
        self.knowledge_turns = 0

    def message(self, offered: list[str]) -> str:
        kind = self.random.choices(["example", "slot", "button", "payload", "noise"], [45, 18, 22, 5, 10])[0]
        if kind == "button" and offered:
            return self.random.choice(offered)
        if kind == "slot":
            return self.random.choice(SLOT_VALUES)
        if kind == "payload":
            return "/" + self.random.choice(sorted(self.examples))
        if kind == "noise":
            return self.noise()
        return self.example()

    def example(self) -> str:
        intents = sorted(self.examples)
        if self.knowledge_turns >= MAX_KNOWLEDGE_TURNS:
            intents = [intent for intent in intents if intent not in KNOWLEDGE_INTENTS]
        intent = self.random.choice(intents)
        self.knowledge_turns += intent in KNOWLEDGE_INTENTS
        return self.random.choice(self.examples[intent])

    def noise(self) -> str:
        pick = self.random
        letters = "abcdefghijklmnopqrstuvwxyz      0123456789?!.,'£-"
        return pick.choice([
            lambda: "".join(pick.choice(letters) for _ in range(pick.randint(1, 40))).strip() or "?",
            lambda: "".join(pick.choice("😀🙏📱💷🔥❓👍🇬🇧") for _ in range(pick.randint(1, 6))),
            lambda: " ".join(pick.choice(SLOT_VALUES) for _ in range(pick.randint(2, 5))),
            lambda: " ".join(pick.choice(self.examples[pick.choice(sorted(self.examples))])
                             for _ in range(pick.randint(8, 30)))[:1000],
            lambda: pick.choice(["?", ".", "...", "ok", "hmm", "asdf", "<script>alert(1)</script>", "NULL", "{}"]),
        ])()


def test_random_turns_all_get_a_reply(own_live):
    """A new seed each run explores further; DEAD_ENDS_SEED=<seed> replays a failure."""
    seed = int(os.environ.get("DEAD_ENDS_SEED") or random.SystemRandom().randrange(10**6))
    fuzzer = Fuzzer(seed)
    turns = 0
    while turns < FUZZ_TURNS:
        chat = Watched(own_live, note=f"seed {seed}: ")
        offered: list[str] = []
        for _ in range(min(fuzzer.random.randint(4, 40), FUZZ_TURNS - turns)):
            messages = chat(fuzzer.message(offered))
            offered = [button["payload"] for message in messages for button in message.get("buttons") or []]
            turns += 1
        # What the worker would read: a healthy conversation must not look like a failed one.
        assert turn_failures(chat.tracker()["events"], APOLOGIES) == [], f"seed {seed}: {chat.sender}"
