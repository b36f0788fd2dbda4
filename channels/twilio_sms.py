"""SMS through Twilio: the text variant of the assistant's replies.

The conversation id is a keyed hash of the sender's number, so a thread continues
across messages without the number itself ever reaching Rasa. Nobody can text a customer
back (the console answers web chats only), so a handoff by SMS says how to reach a person.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from twilio.twiml.messaging_response import MessagingResponse

from channels.limits import MessageRejected, clean_text, typed
from hotline.rasa_client import RasaUnavailable
from channels.state import Gateway
from channels.twilio_security import TWILIO_FORM, caller_metadata, first_time, twilio_form
from hotline.apologies import SMS as APOLOGY
from hotline.pseudonyms import sms_conversation_id

SMS_LIMIT = 1500  # Twilio concatenates up to 1600 characters
# Replaces the handoff turn's "I'm connecting you" line, which is not true by text.
HANDOFF = ("Our team can't reply by text message. To speak to someone, call 150 from your Brightwave mobile "
           "(0333 000 0150 from other phones), 8am-8pm Monday to Saturday, or use our web chat{where}, "
           "where the assistant can put you through to a person.")
router = APIRouter(prefix="/twilio")


def reply(text: str | None) -> Response:
    """TwiML that texts `text` back, or sends nothing when it is None."""
    response = MessagingResponse()
    if text is not None:
        response.message(text[:SMS_LIMIT])
    return Response(str(response), media_type="application/xml")


def handoff_text(public_base_url: str) -> str:
    return HANDOFF.format(where=f" at {public_base_url.rstrip('/')}/" if public_base_url else "")


@router.post("/sms", openapi_extra=TWILIO_FORM)
async def incoming_sms(request: Request, form: dict = Depends(twilio_form)) -> Response:
    gateway: Gateway = request.app.state.gateway
    message_sid = form.get("MessageSid", "")  # Twilio sends one with every message, inside the signature
    if message_sid and not await first_time(gateway.settings.database_url, message_sid):
        return reply(None)  # a replay: no second turn, and nothing of the first reply
    conversation_id = sms_conversation_id(form.get("From", ""), gateway.settings.sms_id_secret.get_secret_value())
    try:
        text = typed(clean_text(form.get("Body", ""), gateway.settings.max_message_chars))
        gateway.limiter.check(conversation_id)
    except MessageRejected as error:
        return reply(str(error))
    await gateway.conversations.open("sms", conversation_id)
    try:
        turn = await gateway.take_turn(conversation_id, text, caller_metadata("sms", form))
    except RasaUnavailable:
        return reply(APOLOGY)
    if turn.handoff:
        return reply(handoff_text(gateway.settings.public_base_url))
    parts = []
    for bot in turn.replies:
        parts.append(bot.text)
        if bot.buttons:
            parts.append("Reply with: " + " / ".join(button["title"] for button in bot.buttons))
    return reply("\n".join(part for part in parts if part) or "Sorry, I didn't catch that.")
