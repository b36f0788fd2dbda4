"""The agent console: sign-in, the queue of handed-off conversations, the live briefing,
answering a web-chat customer (the assistant pauses) and handing back.

Every page and API here needs a signed-in agent; agents see redacted text and masked
identifiers only.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse

from channels.assist import latest_question, masked_customer, steps_tried
from channels.limits import TEXT, MessageRejected, clean_text, documented_body
from hotline.rasa_client import RasaUnavailable, history_from_tracker
from channels.state import Gateway
from hotline.agents import SignedInAgent, SignInLocked, sign_in, sign_out, signed_in_agent
from hotline import clock
from hotline.db import session_scope
from hotline.db.models import Conversation, ConversationSummary, Transcript
from hotline.insights.analytics import load_facts
from hotline.pseudonyms import pseudonym

STATIC_DIR = Path(__file__).parent / "static"
COOKIE = "hotline_agent"
CSP = {"Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; "
                                   "frame-ancestors 'none'")}
HANDED_BACK = "You're back with the Brightwave virtual assistant. What else can I help you with?"
SUMMARY_FIELDS = ("summary", "primary_intent", "secondary_intents", "topics", "sentiment_start", "sentiment_end",
                  "resolved", "follow_up_actions")

router = APIRouter()


def gateway_of(request: Request) -> Gateway:
    return request.app.state.gateway


async def current_agent(request: Request) -> SignedInAgent | None:
    return await asyncio.to_thread(signed_in_agent, gateway_of(request).settings.database_url,
                                   request.cookies.get(COOKIE))


async def require_agent(request: Request) -> SignedInAgent:
    agent = await current_agent(request)
    if agent is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Sign in to the agent console first.")
    return agent


async def require_agent_page(request: Request) -> SignedInAgent:
    agent = await current_agent(request)
    if agent is None:
        raise HTTPException(status.HTTP_303_SEE_OTHER, headers={"Location": "/console/login"})
    return agent


def page(name: str) -> FileResponse:
    return FileResponse(STATIC_DIR / name, headers=CSP)


@router.get("/console/login", include_in_schema=False)
async def login_page() -> FileResponse:
    return page("login.html")


def login_failed(message: str, code: int) -> HTMLResponse:
    html = (STATIC_DIR / "login.html").read_text().replace(
        "<!--error-->", f'<p class="error" role="alert" data-testid="login-error">{message}</p>')
    return HTMLResponse(html, status_code=code, headers=CSP)


@router.post("/console/login")
async def login(request: Request, username: str = Form(""), password: str = Form("")) -> HTMLResponse:
    settings = gateway_of(request).settings
    client = pseudonym(request.client.host if request.client else "")
    try:
        token = await asyncio.to_thread(sign_in, settings.database_url, username.strip()[:64], password[:200],
                                        settings.agent_session_hours, client)
    except SignInLocked:
        return login_failed("Too many sign-in attempts. Wait five minutes and try again, "
                            "or ask an administrator to unlock your username.", status.HTTP_429_TOO_MANY_REQUESTS)
    if token is None:
        return login_failed("Wrong username or password.", status.HTTP_401_UNAUTHORIZED)
    response = RedirectResponse("/console", status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                        max_age=int(settings.agent_session_hours * 3600))
    return response


@router.post("/console/logout")
async def logout(request: Request) -> RedirectResponse:
    if token := request.cookies.get(COOKIE):
        await asyncio.to_thread(sign_out, gateway_of(request).settings.database_url, token)
    response = RedirectResponse("/console/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(COOKIE)
    return response


@router.get("/console", include_in_schema=False)
async def queue_page(agent: SignedInAgent = Depends(require_agent_page)) -> FileResponse:
    return page("console.html")


@router.get("/console/conversations/{conversation_id}", include_in_schema=False)
async def conversation_page(conversation_id: str, agent: SignedInAgent = Depends(require_agent_page)) -> FileResponse:
    return page("conversation.html")


@router.get("/api/console/me")
async def me(agent: SignedInAgent = Depends(require_agent)) -> dict[str, str]:
    return {"username": agent.username, "name": agent.display_name}


def recent_conversations(database_url: str, days: int = 30, limit: int = 30) -> list[dict[str, Any]]:
    """The latest finished conversations with their labels (the same facts the analytics count)."""
    with session_scope(database_url) as session:
        facts = load_facts(session, clock.today() - timedelta(days=days), clock.today())
    facts.sort(key=lambda fact: fact.ended_at, reverse=True)
    return [{"id": f.id, "channel": f.channel, "ended_at": f.ended_at.isoformat(timespec="seconds"),
             "handoff": f.handoff, "turns": f.customer_turns, "summary_status": f.summary_status or "pending",
             "primary_intent": f.primary_intent, "resolved": f.resolved} for f in facts[:limit]]


@router.get("/api/console/queue")
async def queue(request: Request, agent: SignedInAgent = Depends(require_agent)) -> dict[str, Any]:
    gateway = gateway_of(request)
    waiting = await gateway.conversations.waiting()
    return {"waiting": [{"id": w.id, "channel": w.channel, "reason": w.reason, "agent": w.agent,
                         "requested_at": w.requested_at.isoformat(timespec="seconds")} for w in waiting],
            "recent": await asyncio.to_thread(recent_conversations, gateway.settings.database_url)}


async def known_conversation(gateway: Gateway, conversation_id: str) -> Conversation:
    conversation = await gateway.conversations.get(conversation_id)
    if conversation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Unknown conversation")
    return conversation


def stored_record(database_url: str, conversation_id: str) -> tuple[Transcript | None, ConversationSummary | None]:
    with session_scope(database_url) as session:
        return session.get(Transcript, conversation_id), session.get(ConversationSummary, conversation_id)


@router.get("/api/console/conversations/{conversation_id}")
async def briefing(conversation_id: str, request: Request, agent: SignedInAgent = Depends(require_agent)) -> dict:
    """Everything the agent needs about one conversation, live or finished."""
    gateway = gateway_of(request)
    conversation = await known_conversation(gateway, conversation_id)
    handoff = await gateway.conversations.handoff(conversation_id)
    result: dict[str, Any] = {
        "id": conversation.id, "channel": conversation.channel,
        "started_at": conversation.started_at.isoformat(timespec="seconds"),
        "ended_at": conversation.ended_at.isoformat(timespec="seconds") if conversation.ended_at else None,
        "handoff_reason": conversation.handoff_reason, "agent": handoff.agent if handoff else None,
        "handed_back": bool(handoff and handoff.handed_back_at)}
    if conversation.ended_at:
        transcript, summary = await asyncio.to_thread(stored_record, gateway.settings.database_url, conversation_id)
        result["status"] = "ended"
        result["transcript"] = transcript.turns if transcript else []
        result["summary"] = ({"status": summary.status, "error": summary.error,
                              **{name: getattr(summary, name) for name in SUMMARY_FIELDS}}
                             if summary else {"status": "pending"})
        result["customer"] = {"verified": transcript.verified if transcript else None}
        return result
    try:
        tracker = await gateway.rasa.tracker(conversation_id)
    except RasaUnavailable as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "The assistant is not answering.") from error
    turns = await gateway.assist.transcript(history_from_tracker(tracker))
    question = latest_question(turns)
    result.update(
        status="with_agent" if handoff and handoff.agent else "waiting" if handoff and not handoff.handed_back_at
        else "with_assistant",
        customer=masked_customer(tracker), tried=steps_tried(tracker),
        transcript=[turn.as_dict() for turn in turns],
        summary=gateway.assist.summary_so_far(conversation_id, turns),
        question={"text": question.text, "suggestion": gateway.assist.suggestion(conversation_id, question.text)}
        if question else None)
    return result


async def read_text(request: Request, gateway: Gateway) -> dict[str, Any]:
    try:
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError
        body["text"] = clean_text(body.get("text"), gateway.settings.max_message_chars)
        return body
    except MessageRejected as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from error
    except ValueError as error:  # malformed JSON included
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "Send JSON: {\"text\": \"...\"}") from error


async def live_chat(gateway: Gateway, conversation_id: str) -> None:
    """Only a web chat that is still going and was handed off can be answered from the console."""
    conversation = await known_conversation(gateway, conversation_id)
    if conversation.ended_at:
        raise HTTPException(status.HTTP_409_CONFLICT, "This conversation has ended.")
    if conversation.channel != "web":
        raise HTTPException(status.HTTP_409_CONFLICT, "Phone calls are put through to you by phone; "
                                                      "only web chats can be answered here.")
    if await gateway.conversations.handoff(conversation_id) is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "The assistant has not handed this conversation over.")


async def append(gateway: Gateway, conversation_id: str, events: list[dict[str, Any]]) -> None:
    try:
        await gateway.rasa.append_events(conversation_id, events)
    except RasaUnavailable as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "The assistant is not answering.") from error


def agent_message(agent: SignedInAgent, text: str) -> dict[str, Any]:
    return {"event": "bot", "text": text, "timestamp": clock.now().timestamp(),
            "metadata": {"agent": agent.username}}


@router.post("/api/console/conversations/{conversation_id}/takeover")
async def take_over(conversation_id: str, request: Request, agent: SignedInAgent = Depends(require_agent)) -> dict:
    gateway = gateway_of(request)
    await live_chat(gateway, conversation_id)
    handoff = await gateway.conversations.handoff(conversation_id)
    if handoff.agent and handoff.agent != agent.username:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{handoff.agent} is already answering this conversation.")
    greeting = f"Hi, I'm {agent.display_name} from the Brightwave team. I've read your conversation so far."
    await append(gateway, conversation_id, [{"event": "pause"}, agent_message(agent, greeting)])
    await gateway.conversations.assign(conversation_id, agent.username)
    await gateway.tell_customer(conversation_id, {"type": "agent_joined", "name": agent.display_name})
    await gateway.tell_customer(conversation_id, {"type": "agent", "text": greeting, "buttons": [], "citations": []})
    return {"status": "with_agent"}


async def holding(gateway: Gateway, conversation_id: str, agent: SignedInAgent) -> None:
    await live_chat(gateway, conversation_id)
    if (await gateway.conversations.handoff(conversation_id)).agent != agent.username:
        raise HTTPException(status.HTTP_409_CONFLICT, "Take the conversation over first.")


@router.post("/api/console/conversations/{conversation_id}/messages", openapi_extra=documented_body(
    "application/json", {"text": TEXT, "citations": {"type": "array", "maxItems": 4, "items": {
        "type": "object", "properties": {"title": {"type": "string"}, "url": {"type": "string"}}}}}, ("text",)))
async def send_message(conversation_id: str, request: Request, agent: SignedInAgent = Depends(require_agent)) -> dict:
    gateway = gateway_of(request)
    body = await read_text(request, gateway)
    await holding(gateway, conversation_id, agent)
    citations = [{"title": str(c.get("title", ""))[:200], "url": str(c.get("url", ""))[:300]}
                 for c in body.get("citations") or [] if isinstance(c, dict)][:4]
    events = [agent_message(agent, body["text"])]
    if citations:
        events.append({"event": "bot", "data": {"custom": {"citations": citations}}})
    await append(gateway, conversation_id, events)
    await gateway.conversations.touch(conversation_id)
    await gateway.tell_customer(conversation_id, {"type": "agent", "text": body["text"], "buttons": [],
                                                  "citations": citations})
    return {"status": "sent"}


@router.post("/api/console/conversations/{conversation_id}/handback")
async def hand_back(conversation_id: str, request: Request, agent: SignedInAgent = Depends(require_agent)) -> dict:
    gateway = gateway_of(request)
    await holding(gateway, conversation_id, agent)
    await append(gateway, conversation_id, [
        {"event": "resume"}, {"event": "bot", "text": HANDED_BACK, "timestamp": clock.now().timestamp()},
        {"event": "action", "name": "action_listen"}])
    await gateway.conversations.assign(conversation_id, None)
    await gateway.tell_customer(conversation_id, {"type": "handback"})
    await gateway.tell_customer(conversation_id, {"type": "bot", "text": HANDED_BACK, "buttons": [], "citations": []})
    return {"status": "with_assistant"}


@router.post("/api/console/conversations/{conversation_id}/end")
async def end(conversation_id: str, request: Request, agent: SignedInAgent = Depends(require_agent)) -> JSONResponse:
    gateway = gateway_of(request)
    await known_conversation(gateway, conversation_id)
    if not await gateway.conversations.end(conversation_id):
        raise HTTPException(status.HTTP_409_CONFLICT, "This conversation has already ended.")
    await gateway.tell_customer(conversation_id, {"type": "ended", "by": "agent"})
    return JSONResponse({"status": "ended"})
