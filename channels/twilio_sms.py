"""SMS through Twilio: the text variant of the assistant's replies.

The conversation id is a keyed hash of the sender's number, so a thread continues
across messages without the number itself ever reaching Rasa.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import APIRouter, Depends, Request, Response
from twilio.twiml.messaging_response import MessagingResponse

from channels.limits import MessageRejected, clean_text
from channels.rasa_client import RasaUnavailable
from channels.state import Gateway
from channels.twilio_security import twilio_form

SMS_LIMIT = 1500  # Twilio concatenates up to 1600 characters
router = APIRouter(prefix="/twilio")


def sms_conversation_id(number: str, secret: str) -> str:
    return "sms-" + hmac.new(secret.encode(), number.encode(), hashlib.sha256).hexdigest()[:32]


def reply(text: str) -> Response:
    response = MessagingResponse()
    response.message(text[:SMS_LIMIT])
    return Response(str(response), media_type="application/xml")


@router.post("/sms")
async def incoming_sms(request: Request, form: dict = Depends(twilio_form)) -> Response:
    gateway: Gateway = request.app.state.gateway
    conversation_id = sms_conversation_id(form.get("From", ""), gateway.settings.sms_id_secret.get_secret_value())
    try:
        text = clean_text(form.get("Body", ""), gateway.settings.max_message_chars)
        gateway.limiter.check(conversation_id)
    except MessageRejected as error:
        return reply(str(error))
    await gateway.conversations.open("sms", conversation_id)
    try:
        turn = await gateway.rasa.send(conversation_id, text, {"channel": "sms"})
    except RasaUnavailable:
        return reply("Sorry, I'm having trouble right now. Please try again shortly or call 150.")
    parts = []
    for bot in turn.replies:
        parts.append(bot.text)
        if bot.buttons:
            parts.append("Reply with: " + " / ".join(button["title"] for button in bot.buttons))
    if turn.handoff:
        await gateway.conversations.hand_off(conversation_id, str(turn.handoff.get("reason", "")))
        parts.append("A member of our team will text you back shortly.")
    return reply("\n".join(part for part in parts if part) or "Sorry, I didn't catch that.")
