"""The Hotline gateway: web chat and Twilio voice and SMS in front of the Rasa server.

Run with `uvicorn channels.app:create_app --factory` (`hotline run` does).
"""

from __future__ import annotations

from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles

from channels import twilio_sms, twilio_voice, webchat
from channels.state import Gateway
from hotline.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.gateway = Gateway.from_settings(settings)
        yield
        await app.state.gateway.rasa.close()

    app = FastAPI(title="Hotline gateway", lifespan=lifespan)
    app.mount("/static", StaticFiles(directory=webchat.STATIC_DIR), name="static")
    app.include_router(webchat.router)
    app.include_router(twilio_voice.router)
    app.include_router(twilio_sms.router)

    @app.get("/health")
    async def health(request: Request) -> dict:
        gateway: Gateway = request.app.state.gateway
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                actions = (await client.get(f"{settings.action_url}/health")).status_code == 200
        except httpx.HTTPError:
            actions = False
        rasa = await gateway.rasa.healthy()
        return {"status": "ok" if rasa and actions else "degraded", "rasa": rasa, "actions": actions}

    return app
