"""Action-server plugin (rasa-sdk loads a package of this name at start).

Only Rasa may call the server: Rasa sends the shared secret in a header (the generated
endpoints file sets it); any other caller of the webhook or the action list is refused with
401. /health stays open and names the model answering questions. With HOTLINE_WARM_UP_KNOWLEDGE the knowledge pipeline is built once
the server is up, in the serving process only (building it at import time did it twice and
could keep Sanic's worker from reporting ready within its 30 s).
"""

from __future__ import annotations

import hmac

import pluggy
from sanic import Sanic
from sanic.request import Request
from sanic.response import json

from actions.knowledge import model_in_use, warm_up
from hotline.settings import get_settings
from hotline.stack import ACTION_SECRET_HEADER
hookimpl = pluggy.HookimplMarker("rasa_sdk")


class RasaOnly:
    @hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        secret = get_settings().action_secret
        if secret is None:
            raise RuntimeError("HOTLINE_ACTION_SECRET is not set: the action server would accept anyone's calls.")
        expected = secret.get_secret_value().encode()

        if get_settings().warm_up_knowledge:
            @app.after_server_start
            async def build_knowledge(app: Sanic) -> None:
                warm_up()

        @app.on_request
        async def only_rasa(request: Request):
            if request.path == "/health":
                return json({"status": "ok", "models": {"answer": model_in_use()}})
            given = (request.headers.get(ACTION_SECRET_HEADER) or "").encode()
            if not hmac.compare_digest(given, expected):
                return json({"error": "unauthorized", "message": "Only the Rasa server may call actions."}, status=401)
            return None


def init_hooks(manager: pluggy.PluginManager) -> None:
    manager.register(RasaOnly())
