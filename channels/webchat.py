"""Web chat: the page, its session API, and the WebSocket the page talks over."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, Response, WebSocket, WebSocketDisconnect, status
from fastapi.requests import HTTPConnection
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy.exc import OperationalError

from channels.limits import TEXT, MessageRejected, clean_text, documented_body, typed
from hotline.rasa_client import RasaUnavailable, Turn, history_from_tracker
from channels.state import Gateway
from hotline.insights.transcript import SECRET_SLOTS
from hotline.pseudonyms import pseudonym
from hotline.apologies import CHAT as APOLOGY

STATIC_DIR = Path(__file__).parent / "static"
SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
MASKED = "••••"  # how the page shows the customer's own PIN or date of birth again
KEY_COOKIE = "hotline_chat_"  # + session id: the browser's key to that one conversation

router = APIRouter()


@router.get("/", include_in_schema=False)
async def page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", headers={"Content-Security-Policy": (
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'")})


async def live_session(connection: HTTPConnection, session_id: str) -> bool:
    """A session that is open and belongs to this browser: the id alone opens nothing."""
    gateway: Gateway = connection.app.state.gateway
    conversation = await gateway.conversations.get(session_id) if SESSION_ID.match(session_id) else None
    return (conversation is not None and conversation.ended_at is None
            and await gateway.conversations.holds_key(session_id, connection.cookies.get(KEY_COOKIE + session_id)))


async def known_session(request: Request, session_id: str) -> Gateway:
    """A session the page can use; an ended one is gone, so the page starts afresh."""
    if not await live_session(request, session_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Unknown or ended chat session")
    return request.app.state.gateway


def client_of(connection: HTTPConnection) -> str | None:
    """A pseudonym of the client's address, so identity checks can be limited per client."""
    return pseudonym(connection.client.host) if connection.client else None


@router.post("/api/chat/sessions", status_code=status.HTTP_201_CREATED)
async def new_session(request: Request, response: Response) -> dict[str, str]:
    conversations = request.app.state.gateway.conversations
    session_id = await conversations.open("web")
    response.set_cookie(KEY_COOKIE + session_id, await conversations.bind_key(session_id), httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", max_age=24 * 3600)
    return {"session_id": session_id}


def mask_secrets(messages: list[dict]) -> list[dict]:
    """The customer's answers to the PIN / date-of-birth question are not shown again."""
    return [{**message, "text": MASKED} if message["role"] == "user" and message.get("asked_for") in SECRET_SLOTS
            else message for message in messages]


@router.get("/api/chat/sessions/{session_id}/history")
async def history(session_id: str, request: Request) -> dict:
    gateway = await known_session(request, session_id)
    try:
        messages = mask_secrets(history_from_tracker(await gateway.rasa.tracker(session_id)))
    except RasaUnavailable as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, APOLOGY) from error
    handoff = await gateway.conversations.handoff(session_id)
    return {"messages": messages, "handoff": bool(handoff and not handoff.handed_back_at)}


async def offered_payload(gateway: Gateway, session_id: str, payload: str) -> bool:
    """A quick reply's payload goes to Rasa as it is only if the assistant just offered it."""
    history = history_from_tracker(await gateway.rasa.tracker(session_id))
    last_bot = next((message for message in reversed(history) if message["role"] == "bot"), None)
    return last_bot is not None and payload in {button["payload"] for button in last_bot["buttons"]}


async def take_turn(gateway: Gateway, session_id: str, text: str, client: str | None,
                    on_draft: Callable[[str], Awaitable[None]] | None = None) -> Turn:
    return await gateway.take_turn(session_id, text, {"channel": "web", "client": client}, on_draft)


@router.post("/api/chat/sessions/{session_id}/end")
async def end_session(session_id: str, request: Request) -> dict[str, str]:
    """The customer closed the chat: its transcript and summary are made in the background."""
    gateway = await known_session(request, session_id)
    await gateway.conversations.end(session_id)
    return {"status": "ended"}


@router.post("/api/chat/sessions/{session_id}/messages",
             openapi_extra=documented_body("application/json", {"text": TEXT}, ("text",)))
async def post_message(session_id: str, request: Request) -> JSONResponse:
    """The same turn as the WebSocket, for clients that can't hold a socket open."""
    gateway = await known_session(request, session_id)
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "Send JSON: {\"text\": \"...\"}")
    try:
        body = await request.json()
        text = typed(clean_text(body.get("text") if isinstance(body, dict) else None, gateway.settings.max_message_chars))
        gateway.limiter.check(session_id)
    except MessageRejected as error:
        code = status.HTTP_429_TOO_MANY_REQUESTS if error.code == "rate_limited" else status.HTTP_422_UNPROCESSABLE_CONTENT
        return JSONResponse({"error": error.code, "message": str(error)}, status_code=code)
    except ValueError as error:  # not JSON, or not even UTF-8 (the fuzzer's find)
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "Malformed JSON") from error
    try:
        turn = await take_turn(gateway, session_id, text, client_of(request))
    except RasaUnavailable:
        return JSONResponse({"error": "unavailable", "message": APOLOGY}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
    return JSONResponse({"messages": [reply.as_dict() for reply in turn.replies], "handoff": turn.handoff})


@router.websocket("/ws/chat/{session_id}")
async def chat_socket(websocket: WebSocket, session_id: str) -> None:
    gateway: Gateway = websocket.app.state.gateway
    await websocket.accept()
    if not await live_session(websocket, session_id):
        await websocket.send_json({"type": "error", "code": "unknown_session", "message": "Unknown chat session."})
        await websocket.close(code=4404)
        return
    gateway.sockets[session_id] = websocket
    try:
        while True:
            await handle_frame(gateway, websocket, session_id, await websocket.receive_text())
    except WebSocketDisconnect:
        pass
    finally:
        if gateway.sockets.get(session_id) is websocket:
            del gateway.sockets[session_id]


async def handle_frame(gateway: Gateway, websocket: WebSocket, session_id: str, raw: str) -> None:
    try:
        frame = json.loads(raw)
        if not isinstance(frame, dict) or frame.get("type") not in ("message", "button"):
            raise MessageRejected("bad_request", "I couldn't read that message.")
        text = clean_text(frame.get("payload") if frame["type"] == "button" else frame.get("text"),
                          gateway.settings.max_message_chars)
        gateway.limiter.check(session_id)
        if frame["type"] == "message" or not await offered_payload(gateway, session_id, text):
            text = typed(text)
    except (RasaUnavailable, OperationalError):  # Rasa, or the database, not answering
        await websocket.send_json({"type": "error", "code": "unavailable", "message": APOLOGY})
        return
    except json.JSONDecodeError:
        await websocket.send_json({"type": "error", "code": "bad_request", "message": "I couldn't read that message."})
        return
    except MessageRejected as error:
        await websocket.send_json({"type": "error", "code": error.code, "message": str(error)})
        return
    await websocket.send_json({"type": "typing", "on": True})
    try:
        turn = await take_turn(gateway, session_id, text, client_of(websocket),
                               lambda draft: websocket.send_json({"type": "draft", "text": draft}))
    except (RasaUnavailable, OperationalError):  # Rasa, or the database, not answering
        await websocket.send_json({"type": "error", "code": "unavailable", "message": APOLOGY})
    else:
        for reply in turn.replies:
            await websocket.send_json({"type": "bot", **reply.as_dict()})
        if turn.handoff:
            await websocket.send_json({"type": "handoff", "reason": turn.handoff.get("reason", "")})
    finally:
        await websocket.send_json({"type": "typing", "on": False})
