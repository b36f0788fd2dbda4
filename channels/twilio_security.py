"""Every Twilio webhook must carry a valid X-Twilio-Signature, or it is refused, and is acted on once;
the caller is known to Rasa only by a pseudonym.

A signature stays valid forever, so a captured request could be sent again: SMS are
remembered by their MessageSid and a call's turns by (CallSid, turn number), in the
database so a restart forgets none.
"""

from __future__ import annotations

import asyncio

from fastapi import HTTPException, Request, status
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from twilio.request_validator import RequestValidator

from channels.limits import documented_body
from hotline import clock
from hotline.db import session_scope
from hotline.db.models import TwilioRequest
from hotline.pseudonyms import pseudonym


TWILIO_FORM = documented_body("application/x-www-form-urlencoded", {name: {"type": "string"} for name in (
    "CallSid", "MessageSid", "From", "To", "Body", "SpeechResult", "Digits", "CallStatus")})  # what we read


def public_url(request: Request, public_base_url: str) -> str:
    """The URL Twilio signed: the public address when behind a tunnel or proxy."""
    if not public_base_url:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{public_base_url.rstrip('/')}{request.url.path}{query}"


async def twilio_form(request: Request) -> dict[str, str]:
    """The webhook's form fields, only if Twilio signed them with our auth token."""
    settings = request.app.state.gateway.settings
    token = settings.twilio_auth_token.get_secret_value()
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "Twilio webhooks are form-encoded")
    form = {key: str(value) for key, value in (await request.form()).items()}
    signature = request.headers.get("x-twilio-signature", "")
    if not token or not signature or not RequestValidator(token).validate(
            public_url(request, settings.public_base_url), form, signature):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Invalid Twilio signature")
    return form


def _first_time(database_url: str, sid: str, seq: int) -> bool:
    try:
        with session_scope(database_url) as session:
            session.add(TwilioRequest(sid=sid, seq=seq, received_at=clock.now()))
    except IntegrityError:  # the primary key: two copies arriving at once cannot both be first
        return False
    return True


def _remember(database_url: str, sid: str, seq: int, response: str) -> str:
    with session_scope(database_url) as session:
        session.execute(update(TwilioRequest).where(
            TwilioRequest.sid == sid, TwilioRequest.seq == seq, TwilioRequest.response.is_(None))
            .values(response=response))
        return session.get(TwilioRequest, (sid, seq)).response


def _remembered(database_url: str, sid: str, seq: int) -> str | None:
    with session_scope(database_url) as session:
        request = session.get(TwilioRequest, (sid, seq))
        return request.response if request else None


def _forget_responses(database_url: str, sid: str) -> None:
    with session_scope(database_url) as session:
        session.execute(update(TwilioRequest).where(TwilioRequest.sid == sid).values(response=None))


async def first_time(database_url: str, sid: str, seq: int = 0) -> bool:
    """Record the request; False if it was seen before (a replay, or Twilio retrying)."""
    return await asyncio.to_thread(_first_time, database_url, sid, seq)


async def remember(database_url: str, sid: str, seq: int, response: str) -> str:
    """Keep the answer to a request for its replays; if one was kept already, that one wins."""
    return await asyncio.to_thread(_remember, database_url, sid, seq, response)


async def remembered(database_url: str, sid: str, seq: int) -> str | None:
    return await asyncio.to_thread(_remembered, database_url, sid, seq)


async def forget_responses(database_url: str, sid: str) -> None:
    """Drop the kept answers (what the caller was told) once nobody can need them again; the keys stay."""
    await asyncio.to_thread(_forget_responses, database_url, sid)


def caller_metadata(channel: str, form: dict[str, str]) -> dict[str, str | None]:
    """What Rasa hears about a Twilio message's sender: the channel, and a pseudonym of the
    caller's number so identity checks are limited per caller (the number itself stays here)."""
    number = form.get("From", "")
    return {"channel": channel, "client": pseudonym(number) if number else None}
