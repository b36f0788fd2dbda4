"""Phone calls through Twilio: speech and keypad turns, no silence while an answer is written, handoff.

The conversation id is the CallSid, never the caller's number. Every Gather we emit numbers
the caller's next turn in its action URL (which Twilio signs), so a replayed or retried
callback gets the answer that turn already had instead of a second turn.

A webhook waits at most voice_first_words_s for the turn: then the caller hears the answer's
first checked sentences if there are any, else a filler (once per turn), else a soft hold
sound (static/hold.wav: two quiet notes, 2 s, made with numpy), each followed by a redirect
back here; the rest of the answer follows where it left off.
"""

from __future__ import annotations

import asyncio
import re
import time
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from twilio.twiml.voice_response import Gather, VoiceResponse

from channels.limits import typed
from hotline.rasa_client import BotReply, RasaUnavailable, Turn
from channels.state import CallState, Gateway
from channels.twilio_security import (TWILIO_FORM, caller_metadata, first_time, forget_responses, remember, remembered,
                                      twilio_form)
from hotline.apologies import CALL as APOLOGY

VOICE = {"voice": "Polly.Amy", "language": "en-GB"}
HINTS = ("bill, balance, pay my bill, data, roaming, plan, upgrade, eSIM, SIM card, PUK, lost phone, "
         "outage, broadband, ticket, agent, account number, yes, no")
GREETING = ("Hello, you're through to Brightwave. I'm the virtual assistant. You can ask about your bill, data, "
            "plans, roaming, SIMs or network problems, or say agent to speak to a person. How can I help?")
SILENCE = "Sorry, I didn't hear anything. What can I help you with?"
SILENT_GOODBYE = "I still can't hear you, so I'll end the call now. Please call back any time. Goodbye."
GOODBYE = "Thanks for calling Brightwave. Goodbye."
FILLER = "One moment while I check that for you."
STILL_WORKING = "Thanks for waiting, I'm nearly there."
STILL_WORKING_AFTER_S = 12.0
WHERE_WERE_WE = "Sorry, where were we? How can I help?"
ENDED_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}
_URL = re.compile(r"https?://\S+")
_NOT_SPOKEN = re.compile(r"[^\w\s£$%.,!?'&:;()/+-]")

router = APIRouter(prefix="/twilio/voice")


def twiml(response: VoiceResponse | str) -> Response:
    return Response(str(response), media_type="application/xml")


def turn_of(request: Request) -> int | None:
    """The turn a callback belongs to, from the URL we gave Twilio; None where the URL has none
    (TwiML from before turns were numbered). Twilio signs the URL, so a real request's number
    can be neither removed nor changed."""
    turn = request.query_params.get("turn", "")
    return int(turn) if turn.isdigit() else None


def next_turn(turn: int | None) -> int:
    return (turn or 0) + 1


def pending_url(turn: int | None) -> str:
    return "/twilio/voice/pending" + ("" if turn is None else f"?turn={turn}")


def spoken(text: str) -> str:
    """Text fit for speech: no links, source lists, bullets or emoji."""
    text = text.split("\nSources:")[0]
    text = _URL.sub("", text).replace("•", "")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    text = " ".join(line if line[-1] in ".!?:" else line + "." for line in lines)
    return " ".join(_NOT_SPOKEN.sub("", text).split())


def listen(turn: int, *sayings: str) -> VoiceResponse:
    """Say things inside a Gather, so the caller can interrupt (barge in) by speaking or pressing keys;
    what they say comes back as `turn`."""
    response = VoiceResponse()
    gather = Gather(input="speech dtmf", action=f"/twilio/voice/gather?turn={turn}", method="POST",
                    speech_timeout="auto", timeout=6, hints=HINTS, action_on_empty_result=True, language="en-GB")
    for saying in sayings:
        if saying:
            gather.say(saying, **VOICE)
    response.append(gather)
    return response


def menu_prompt(replies: list[BotReply], call: CallState) -> str:
    """Buttons become a keypad menu; the choices are remembered for the next turn."""
    buttons = [button for reply in replies for button in reply.buttons]
    call.menu = [button["payload"] for button in buttons[:9]]
    return " ".join(f"Press {n} for {spoken(button['title']).rstrip('.')}." for n, button in enumerate(buttons[:9], 1))


def caller_text(form: dict[str, str], call: CallState) -> str:
    digits = form.get("Digits", "").strip().rstrip("#")
    if digits:
        choices = [str(n) for n in range(1, len(call.menu) + 1)]
        if digits in choices:
            return call.menu[choices.index(digits)]
        return digits
    speech = form.get("SpeechResult", "").strip()
    return typed(speech) if speech.strip("/ ") else ""


async def answer(gateway: Gateway, call_sid: str, turn: int | None, response: VoiceResponse) -> Response:
    """The answer to a turn, kept for replays of its request; an answer kept already wins."""
    if turn is None:
        return twiml(response)
    return twiml(await remember(gateway.settings.database_url, call_sid, turn, str(response)))


def unsaid(sayings: list[str], said: list[str]) -> list[str]:
    """The answer less the sentences the caller already heard while it was written. If the final
    answer does not begin with them (it fell back to quoting), the caller hears it whole."""
    heard = spoken(" ".join(said))
    if heard and sayings and sayings[0].startswith(heard):
        return [sayings[0][len(heard):].strip(), *sayings[1:]]
    return sayings


async def answer_call_turn(gateway: Gateway, call_sid: str, call: CallState, bot: Turn, then: int) -> VoiceResponse:
    """What the caller hears of the assistant's turn; `then` numbers the caller's next turn."""
    sayings = unsaid([spoken(reply.text) for reply in bot.replies], call.said)
    if bot.handoff:
        response = VoiceResponse()
        for saying in sayings:
            response.say(saying, **VOICE)
        dial = response.dial(timeout=30)
        dial.number(gateway.settings.agent_number, url="/twilio/voice/whisper?" + urlencode(
            {"conversation_id": call_sid, "reason": str(bot.handoff.get("reason", ""))[:120]}))
        response.say("Sorry, nobody is free right now. Please call back later. Goodbye.", **VOICE)
        response.hangup()
        return response
    try:
        ending = await gateway.rasa.latest_intent(call_sid) == "goodbye"
    except RasaUnavailable:
        ending = False
    if ending:
        response = VoiceResponse()
        response.say(" ".join(sayings) or GOODBYE, **VOICE)
        response.hangup()
        return response
    return listen(then, *sayings, menu_prompt(bot.replies, call))


def hold_url(settings) -> str:
    return f"{settings.public_base_url.rstrip('/')}/static/hold.wav"


async def while_waiting(gateway: Gateway, call_sid: str, call: CallState, turn: int | None) -> Response:
    """Something to hear while the answer is written, then back to wait for the rest."""
    response = VoiceResponse()
    drafts = await asyncio.to_thread(gateway.drafts.after, call_sid, call.last_draft)
    if drafts:
        call.last_draft = drafts[-1][0]
        call.said += [text for _, text in drafts]
        response.say(spoken(" ".join(text for _, text in drafts)), **VOICE)
    elif not call.filled:
        response.say(FILLER, **VOICE)
    elif not call.reassured and time.monotonic() - call.pending_started > STILL_WORKING_AFTER_S:
        call.reassured = True
        response.say(STILL_WORKING, **VOICE)
    else:
        response.play(hold_url(gateway.settings))
    call.filled = True
    response.redirect(pending_url(turn), method="POST")
    return twiml(response)


async def wait_for_turn(gateway: Gateway, call_sid: str, call: CallState, turn: int | None) -> Response:
    """The answer if it comes within voice_first_words_s; otherwise something to hear and a redirect back here.

    More than one request may wait for the same answer (a replay of the turn's callback): each
    holds the task it waits for, and the first answer kept is the one every one of them returns.
    """
    settings = gateway.settings
    task = call.pending
    done, _ = await asyncio.wait({task}, timeout=settings.voice_first_words_s)
    if not done:
        if time.monotonic() - call.pending_started > settings.voice_turn_limit_s:
            task.cancel()
            call.pending = None
            return await answer(gateway, call_sid, turn, listen(next_turn(turn), APOLOGY))
        return await while_waiting(gateway, call_sid, call, turn)
    if call.pending is task:
        call.pending = None
    try:
        result = task.result()
    except (RasaUnavailable, asyncio.CancelledError):  # cancelled: another request for this turn gave up on it
        return await answer(gateway, call_sid, turn, listen(next_turn(turn), APOLOGY))
    return await answer(gateway, call_sid, turn, await answer_call_turn(gateway, call_sid, call, result,
                                                                        next_turn(turn)))


async def answer_again(gateway: Gateway, call_sid: str, turn: int | None) -> Response:
    """A turn asked before: the answer it had, the answer still on its way, or (lost in a restart) a prompt."""
    if turn is not None and (kept := await remembered(gateway.settings.database_url, call_sid, turn)):
        return twiml(kept)
    call = gateway.calls.get(call_sid)
    if call is None or call.pending is None:
        return twiml(listen(next_turn(turn), WHERE_WERE_WE))
    return await wait_for_turn(gateway, call_sid, call, turn)


@router.post("", openapi_extra=TWILIO_FORM)
async def incoming_call(request: Request, form: dict = Depends(twilio_form)) -> Response:
    gateway: Gateway = request.app.state.gateway
    call_sid = form.get("CallSid", "")
    if not await first_time(gateway.settings.database_url, call_sid, 0):
        return await answer_again(gateway, call_sid, 0)
    await gateway.conversations.open("voice", call_sid)
    gateway.calls[call_sid] = CallState()
    return await answer(gateway, call_sid, 0, listen(1, GREETING))


@router.post("/gather", openapi_extra=TWILIO_FORM)
async def gathered(request: Request, form: dict = Depends(twilio_form)) -> Response:
    gateway: Gateway = request.app.state.gateway
    call_sid, turn = form.get("CallSid", ""), turn_of(request)
    if turn is not None and not await first_time(gateway.settings.database_url, call_sid, turn):
        return await answer_again(gateway, call_sid, turn)
    call = gateway.calls.setdefault(call_sid, CallState())
    text = caller_text(form, call)
    if not text:
        call.silences += 1
        if call.silences >= gateway.settings.voice_silence_limit:
            response = VoiceResponse()
            response.say(SILENT_GOODBYE, **VOICE)
            response.hangup()
            return await answer(gateway, call_sid, turn, response)
        return await answer(gateway, call_sid, turn, listen(next_turn(turn), SILENCE))
    call.silences = 0
    last_draft = await asyncio.to_thread(gateway.drafts.last_id, call_sid)
    call.start_turn(asyncio.create_task(gateway.take_turn(call_sid, text[: gateway.settings.max_message_chars],
                                                          caller_metadata("voice", form))),
                    last_draft, time.monotonic())
    return await wait_for_turn(gateway, call_sid, call, turn)


@router.post("/pending", openapi_extra=TWILIO_FORM)
async def pending(request: Request, form: dict = Depends(twilio_form)) -> Response:
    return await answer_again(request.app.state.gateway, form.get("CallSid", ""), turn_of(request))


@router.post("/whisper", openapi_extra=TWILIO_FORM)
async def whisper(request: Request, form: dict = Depends(twilio_form)) -> Response:
    """Played to the agent before the caller is connected: the conversation to open."""
    response = VoiceResponse()
    params = request.query_params
    response.say(f"Brightwave assistant handoff. Conversation {params.get('conversation_id', 'unknown')}. "
                 f"Reason: {params.get('reason', 'not given')}.", **VOICE)
    return twiml(response)


@router.post("/status", openapi_extra=TWILIO_FORM)
async def call_status(request: Request, form: dict = Depends(twilio_form)) -> Response:
    gateway: Gateway = request.app.state.gateway
    call_sid = form.get("CallSid", "")
    if form.get("CallStatus") in ENDED_STATUSES:
        await gateway.conversations.end(call_sid)
        call = gateway.calls.pop(call_sid, None)
        if call and call.pending:
            call.pending.cancel()
        await forget_responses(gateway.settings.database_url, call_sid)
    return Response(status_code=204)
