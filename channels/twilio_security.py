"""Every Twilio webhook must carry a valid X-Twilio-Signature, or it is refused."""

from __future__ import annotations

from fastapi import HTTPException, Request, status
from twilio.request_validator import RequestValidator


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
