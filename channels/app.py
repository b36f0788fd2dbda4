"""The Hotline gateway: web chat and Twilio voice and SMS in front of the Rasa server.

Run with `uvicorn channels.app:create_app --factory` (`hotline run` does).
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager, suppress
from datetime import timedelta

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError

from channels import analytics, console, locks, logs, twilio_sms, twilio_voice, webchat
from channels.security import SiteGuard, refuse_public_defaults
from channels.state import Gateway
from hotline import apologies
from hotline.settings import Settings, get_settings

log = logging.getLogger("hotline.gateway")


async def end_idle_conversations(gateway: Gateway, every_s: float = 30.0) -> None:
    """Session expiry: conversations idle longer than Rasa's session timeout end (and get summarised)."""
    idle_for = timedelta(minutes=gateway.settings.conversation_idle_end_minutes)
    while True:
        for conversation_id in await gateway.conversations.end_idle(idle_for):
            await gateway.tell_customer(conversation_id, {"type": "ended", "by": "idle"})
        await asyncio.sleep(every_s)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    refuse_public_defaults(settings)
    logs.install()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.gateway = gateway = Gateway.from_settings(settings)
        sweeper = asyncio.create_task(end_idle_conversations(gateway))
        yield
        sweeper.cancel()
        with suppress(asyncio.CancelledError):
            await sweeper
        await gateway.rasa.close()

    app = FastAPI(title="Hotline gateway", lifespan=lifespan)
    app.add_middleware(SiteGuard, settings=settings)
    app.mount("/static", StaticFiles(directory=webchat.STATIC_DIR), name="static")
    app.include_router(webchat.router)
    app.include_router(twilio_voice.router)
    app.include_router(twilio_sms.router)
    app.include_router(console.router)
    app.include_router(locks.router)
    app.include_router(analytics.router)

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, error: OperationalError) -> Response:
        """The database locked by a long writer, or away: the channel's apology, never a 500."""
        log.warning("database unavailable: %s", type(error.orig).__name__)
        if request.url.path.startswith("/twilio/voice"):  # the caller is asked to say it again
            return Response(str(twilio_voice.listen(twilio_voice.turn_of(request) or 1, apologies.CALL)),
                            media_type="application/xml")
        if request.url.path.startswith("/twilio"):
            return twilio_sms.reply(apologies.SMS)
        return JSONResponse({"error": "unavailable", "message": apologies.CHAT}, status_code=503)

    @app.get("/health")
    async def health(request: Request) -> dict:
        gateway: Gateway = request.app.state.gateway
        models = {}
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                response = await client.get(f"{settings.action_url}/health")
            actions = response.status_code == 200
            models = response.json().get("models") or {}
        except (httpx.HTTPError, ValueError):
            actions = False
        rasa = await gateway.rasa.healthy()
        return {"status": "ok" if rasa and actions else "degraded", "rasa": rasa, "actions": actions,
                "models": models}

    return app
