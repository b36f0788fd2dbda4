"""The real action server and Rasa server, started once for all integration tests."""

from __future__ import annotations

import shutil

import pytest

from hotline.settings import PROJECT_ROOT, Settings, get_settings
from hotline.stack import start_action_server, start_gateway, start_rasa, start_worker
from tests.integration.browser_helpers import CHROMIUM, FLAGS
from tests.integration.gateway_helpers import gateway_settings

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


@pytest.fixture(scope="session")
def worker(live):
    """The real post-conversation worker process (local model included), over the live servers."""
    process = start_worker(live["settings"], live["token"])
    yield process
    process.stop()


@pytest.fixture(scope="session")
def web_url(live):
    """The gateway as its own process, for the browser."""
    settings = gateway_settings(live)
    gateway = start_gateway(settings, live["token"])
    yield settings.gateway_url + "/"
    gateway.stop()


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module: Playwright's sync API keeps an event loop running while it is
    open, which later tests that call asyncio.run() must not see."""
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM):
        pytest.fail("Chromium is not installed: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()
