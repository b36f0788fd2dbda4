"""What the gateway's routes share: settings, the Rasa client, conversations, limits."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from fastapi import WebSocket, WebSocketDisconnect

from channels.assist import AgentAssist
from channels.conversations import ConversationStore
from channels.limits import RateLimiter
from hotline.rasa_client import RasaClient, Turn
from hotline.settings import Settings


@dataclass
class CallState:
    """What a phone call needs between webhooks: keypad choices, silences, a turn in flight."""

    menu: list[str] = field(default_factory=list)  # button payloads, pressed as 1, 2, ...
    silences: int = 0
    pending: asyncio.Task[Turn] | None = None
    pending_started: float = 0.0


@dataclass
class Gateway:
    settings: Settings
    rasa: RasaClient
    conversations: ConversationStore
    limiter: RateLimiter
    assist: AgentAssist
    sockets: dict[str, WebSocket] = field(default_factory=dict)
    calls: dict[str, CallState] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> "Gateway":
        return cls(settings, RasaClient(settings), ConversationStore(settings.database_url),
                   RateLimiter(settings.rate_limit_messages, settings.rate_limit_window_s), AgentAssist(settings))

    async def tell_customer(self, conversation_id: str, frame: dict) -> None:
        """Push a frame to the web-chat page if it is connected (else it sees it in the history)."""
        socket = self.sockets.get(conversation_id)
        if socket is not None:
            try:
                await socket.send_json(frame)
            except (RuntimeError, WebSocketDisconnect):  # closed between the lookup and the send
                pass
