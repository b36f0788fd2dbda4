"""What the gateway's routes share: settings, the Rasa client, conversations, limits."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from fastapi import WebSocket, WebSocketDisconnect

from channels.assist import AgentAssist
from channels.conversations import ConversationStore
from channels.limits import RateLimiter
from hotline.db.drafts import DraftBoard
from hotline.rasa_client import RasaClient, RasaUnavailable, Turn
from hotline.settings import Settings

DRAFT_POLL_S = 0.1  # how often a waiting channel looks for the answer's next checked sentence


@dataclass
class CallState:
    """What a phone call needs between webhooks: keypad choices, silences, a turn in flight."""

    menu: list[str] = field(default_factory=list)  # button payloads, pressed as 1, 2, ...
    silences: int = 0
    pending: asyncio.Task[Turn] | None = None
    pending_started: float = 0.0
    # The turn in flight: the answer's sentences already said, the last draft read, a filler said.
    said: list[str] = field(default_factory=list)
    last_draft: int = 0
    filled: bool = False
    reassured: bool = False

    def start_turn(self, task: asyncio.Task[Turn], last_draft: int, now: float) -> None:
        self.pending, self.pending_started, self.last_draft = task, now, last_draft
        self.said, self.filled, self.reassured, self.menu = [], False, False, []


@dataclass
class Gateway:
    settings: Settings
    rasa: RasaClient
    conversations: ConversationStore
    limiter: RateLimiter
    assist: AgentAssist
    drafts: DraftBoard
    sockets: dict[str, WebSocket] = field(default_factory=dict)
    calls: dict[str, CallState] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> "Gateway":
        return cls(settings, RasaClient(settings), ConversationStore(settings.database_url),
                   RateLimiter(settings.rate_limit_messages, settings.rate_limit_window_s), AgentAssist(settings),
                   DraftBoard(settings.database_url))

    async def take_turn(self, conversation_id: str, text: str, metadata: dict,
                        on_draft: Callable[[str], Awaitable[None]] | None = None) -> Turn:
        """Every channel's turn: Rasa answers (`on_draft` gets each checked sentence of a help
        answer while it is written), the conversation stays open while it is used, and a handoff
        is recorded and the agent's notes prepared. Raises RasaUnavailable."""
        last = await asyncio.to_thread(self.drafts.last_id, conversation_id) if on_draft else 0
        pending = asyncio.create_task(self.rasa.send(conversation_id, text, metadata))
        try:
            while on_draft is not None and not pending.done():
                await asyncio.wait({pending}, timeout=DRAFT_POLL_S)
                for draft_id, draft in await asyncio.to_thread(self.drafts.after, conversation_id, last):
                    last = draft_id
                    await on_draft(draft)
            turn = await pending
        finally:
            pending.cancel()
            await asyncio.to_thread(self.drafts.clear, conversation_id)
        await self.conversations.touch(conversation_id)
        if not turn.replies and not turn.handoff and not await self.with_agent(conversation_id):
            # Rasa answers nothing when an action failed (its server down): a silence, not a reply.
            raise RasaUnavailable("no reply: an action failed")
        if turn.handoff:
            await self.conversations.hand_off(conversation_id, str(turn.handoff.get("reason", "")))
            self.assist.prepare()
        return turn

    async def with_agent(self, conversation_id: str) -> bool:
        """An agent has taken the conversation over (Rasa is paused and answers nothing)."""
        handoff = await self.conversations.handoff(conversation_id)
        return bool(handoff and handoff.agent and not handoff.handed_back_at)

    async def tell_customer(self, conversation_id: str, frame: dict) -> None:
        """Push a frame to the web-chat page if it is connected (else it sees it in the history)."""
        socket = self.sockets.get(conversation_id)
        if socket is not None:
            try:
                await socket.send_json(frame)
            except (RuntimeError, WebSocketDisconnect):  # closed between the lookup and the send
                pass
