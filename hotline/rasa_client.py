"""Talking to the Rasa server over its REST channel, and reading its conversation store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from hotline.settings import Settings
from hotline.stack import channel_endpoint


class RasaUnavailable(RuntimeError):
    """Rasa (or an action behind it) failed or timed out; the channel apologises."""


@dataclass
class BotReply:
    """One assistant message as the channels render it."""

    text: str = ""
    buttons: list[dict[str, str]] = field(default_factory=list)
    citations: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "buttons": self.buttons, "citations": self.citations}


@dataclass
class Turn:
    replies: list[BotReply]
    handoff: dict[str, Any] | None = None


def parse_rest_output(messages: list[dict[str, Any]]) -> Turn:
    """Rasa's REST messages -> replies; citation payloads attach to the reply before them."""
    turn = Turn(replies=[])
    for message in messages:
        custom = message.get("custom") or {}
        if "handoff" in custom:
            turn.handoff = custom["handoff"]
        if "citations" in custom and turn.replies:
            turn.replies[-1].citations = custom["citations"]
        if message.get("text") or message.get("buttons"):
            turn.replies.append(BotReply(message.get("text") or "", [
                {"title": b.get("title", ""), "payload": b.get("payload", "")} for b in message.get("buttons") or []]))
    return turn


class RasaClient:
    """Messages go through Rasa's gateway channel (bot/gateway_channel.py), with the shared
    secret; reading and writing trackers uses Rasa's HTTP API with its token."""

    def __init__(self, settings: Settings) -> None:
        token = settings.rasa_auth_token.get_secret_value() if settings.rasa_auth_token else ""
        self._token = {"token": token} if token else {}
        self._webhook, self._channel = channel_endpoint(settings)
        self._http = httpx.AsyncClient(base_url=settings.rasa_url, timeout=settings.rasa_timeout_s)

    async def send(self, sender: str, text: str, metadata: dict[str, Any] | None = None) -> Turn:
        try:
            response = await self._http.post(self._webhook, headers=self._channel, json={
                "sender": sender, "message": text, "metadata": metadata or {}})
            response.raise_for_status()
            return parse_rest_output(response.json())
        except (httpx.HTTPError, ValueError) as error:
            raise RasaUnavailable(str(error)) from error

    async def tracker(self, sender: str) -> dict[str, Any]:
        try:
            response = await self._http.get(f"/conversations/{sender}/tracker", params=self._token)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise RasaUnavailable(str(error)) from error

    async def append_events(self, sender: str, events: list[dict[str, Any]]) -> None:
        """Add events without a prediction: pause/resume for agent takeover, an agent's message."""
        try:
            response = await self._http.post(f"/conversations/{sender}/tracker/events",
                                             params={**self._token, "include_events": "NONE"}, json=events)
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise RasaUnavailable(str(error)) from error

    async def latest_intent(self, sender: str) -> str | None:
        tracker = await self.tracker(sender)
        return ((tracker.get("latest_message") or {}).get("intent") or {}).get("name")

    async def healthy(self) -> bool:
        try:
            return (await self._http.get("/", timeout=2)).status_code == 200
        except httpx.HTTPError:
            return False

    async def close(self) -> None:
        await self._http.aclose()


def history_from_tracker(tracker: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages of a conversation, as the web page shows them and transcripts store them.

    Each carries its time ("at", epoch seconds); customer turns also carry the intent NLU
    gave them and the form slot being asked for when they were written ("asked_for");
    messages an agent sent from the console have the role "agent".
    """
    history: list[dict[str, Any]] = []
    asked_for = None
    for event in tracker.get("events") or []:
        kind = event.get("event")
        if kind == "slot" and event.get("name") == "requested_slot":
            asked_for = event.get("value")
        elif kind == "active_loop" and not event.get("name"):
            asked_for = None
        elif kind == "user" and event.get("text"):
            text = event["text"]
            if text.startswith("/"):  # a quick reply: show the button's title, as the page did
                offered = history[-1]["buttons"] if history and history[-1]["role"] == "bot" else []
                text = next((b["title"] for b in offered if b["payload"] == text), "")
            if text:
                history.append({"role": "user", "text": text, "buttons": [], "citations": [],
                                "at": event.get("timestamp"), "asked_for": asked_for,
                                "intent": ((event.get("parse_data") or {}).get("intent") or {}).get("name")})
        elif kind == "bot":
            data = event.get("data") or {}
            custom = data.get("custom") or {}
            if "citations" in custom and history and history[-1]["role"] in ("bot", "agent"):
                history[-1]["citations"] = custom["citations"]
            if event.get("text") or data.get("buttons"):
                agent = (event.get("metadata") or {}).get("agent")
                history.append({"role": "agent" if agent else "bot", "text": event.get("text") or "",
                                "citations": [], "at": event.get("timestamp"),
                                "buttons": [{"title": b.get("title", ""), "payload": b.get("payload", "")}
                                            for b in data.get("buttons") or []]})
    return history
