"""The real action server and Rasa server, started once for all integration tests."""

from __future__ import annotations

import shutil

import pytest

from hotline.settings import PROJECT_ROOT, Settings, get_settings
from hotline.stack import start_action_server, start_rasa

MODEL = PROJECT_ROOT / "bot" / "models" / "hotline.tar.gz"
TOKEN = "test-token-123"


@pytest.fixture(scope="session")
def live(tmp_path_factory, seeded_template):
    """Servers on their own ports over a fresh copy of the seeded database.

    The help-article index and the model file are the ones `make test` prepared.
    """
    if not MODEL.exists():
        pytest.fail("No trained model: run `make model` (make test does) first.")
    var = tmp_path_factory.mktemp("var")
    shutil.copy(seeded_template, var / "hotline.db")
    shared = get_settings()
    settings = Settings(var_dir=var, rasa_port=5105, action_port=5155, gateway_port=8105,
                        chroma_dir=shared.chroma_dir, llm_model_path=shared.llm_model_path)
    actions = start_action_server(settings)
    state = {"settings": settings, "token": TOKEN, "rasa": start_rasa(settings, TOKEN)}
    yield state
    state["rasa"].stop()
    actions.stop()
