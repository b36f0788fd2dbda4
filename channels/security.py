"""What a public page and API need in front of them: the security headers on every response,
requests from other sites refused (a WebSocket's handshake, a console form, a chat message), and
no start on a public address while a secret is still at its well-known default.

Cross-site requests are told apart by the headers browsers set and pages cannot forge (Origin,
Sec-Fetch-Site); a client that is not a browser sends neither and is judged by its credentials
alone. Twilio's webhooks are signed instead, so they are not asked where they come from.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hotline.agents import password_matches
from hotline.db import session_scope
from hotline.db.models import Agent
from hotline.db.seed import DEMO_AGENT
from hotline.settings import Settings

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
SIGNED_PATHS = ("/twilio/",)  # their own proof of origin: Twilio's signature
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # "no-referrer" would make a browser send "Origin: null" on our own forms
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
NO_CONTENT_POLICY = "default-src 'none'; frame-ancestors 'none'"  # JSON, TwiML: nothing to load
PRIVATE_PREFIXES = ("/api/", "/console", "/ws/")  # a customer's or an agent's data: never cached
CROSS_SITE = "Requests from other sites are not accepted here."


class SiteGuard:
    """ASGI middleware: refuses cross-site requests that could act with a visitor's cookies, and
    adds the security headers to every response that does not set its own."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.trusted = {origin_of(url) for url in (*settings.trusted_origins, settings.public_base_url) if url}
        self.https = settings.public_base_url.startswith("https://")

    def same_site(self, headers: Headers) -> bool:
        origin = headers.get("origin")
        if origin is None:  # no browser leaves it out of a cross-origin request; Sec-Fetch-Site says the rest
            return headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")
        return origin in self.trusted or (origin != "null" and urlsplit(origin).netloc == headers.get("host"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        guarded = scope["type"] == "websocket" or (scope["method"] not in SAFE_METHODS
                                                   and not scope["path"].startswith(SIGNED_PATHS))
        if guarded and not self.same_site(headers):
            if scope["type"] == "websocket":  # closing before accepting answers the handshake with 403
                await send({"type": "websocket.close", "code": 4403, "reason": CROSS_SITE})
            else:
                await JSONResponse({"error": "cross_site", "message": CROSS_SITE}, status_code=403)(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    response_headers.setdefault(name, value)
                response_headers.setdefault("Content-Security-Policy", NO_CONTENT_POLICY)
                if scope["path"].startswith(PRIVATE_PREFIXES):
                    response_headers["Cache-Control"] = "no-store"
                if self.https:
                    response_headers.setdefault("Strict-Transport-Security", "max-age=31536000")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name other than localhost: reachable from elsewhere
        return False


def defaults_left(settings: Settings) -> list[str]:
    """What must be set before the gateway listens beyond this machine, each with how to set it."""
    defaults = Settings.model_fields
    left = [f"HOTLINE_{name.upper()} is at its default: {why}" for name, why in (
        ("sms_id_secret", "anyone could work out which phone number an SMS conversation id belongs to"),
        ("pseudonym_secret", "anyone could work out which caller or address a pseudonym stands for"))
        if getattr(settings, name).get_secret_value() == defaults[name].default.get_secret_value()]
    if not settings.twilio_auth_token.get_secret_value():
        left.append("HOTLINE_TWILIO_AUTH_TOKEN is empty: set your Twilio account's auth token")
    with session_scope(settings.database_url) as session:
        demo = session.query(Agent).filter_by(username=DEMO_AGENT[0]).one_or_none()
        if demo is not None and password_matches(DEMO_AGENT[2], demo.password_hash):
            left.append(f"the demo agent '{DEMO_AGENT[0]}' still has the password in README.md: "
                        f"`hotline agent add {DEMO_AGENT[0]} --name {DEMO_AGENT[1]}` sets a new one")
    return left


class PublicWithDefaults(SystemExit):
    """The gateway would listen on a public address with a default secret."""


def refuse_public_defaults(settings: Settings) -> None:
    if is_loopback(settings.gateway_host):
        return
    left = defaults_left(settings)
    if left:
        raise PublicWithDefaults(f"Not starting on {settings.gateway_host}: it is reachable from other machines and\n  - "
                                 + "\n  - ".join(left))
