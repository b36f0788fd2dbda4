"""The real action server and Rasa server, started once for all integration tests."""

from __future__ import annotations

import shutil
import sys

import pytest

from hotline.settings import PROJECT_ROOT, Settings, get_settings, with_secrets
from hotline.stack import running_stack, start_gateway, start_worker
from tests.integration.browser_helpers import CHROMIUM, FLAGS
from tests.integration.gateway_helpers import RestChat, gateway_settings
from tests.ports import free_port

MODEL = PROJECT_ROOT / "bot" / "models" / "hotline.tar.gz"
TOKEN = "test-token-123"


@pytest.fixture(scope="session")
def live(tmp_path_factory, seeded_template):
    """Servers on free ports over a fresh copy of the seeded database, for the whole session: the
    model server that the action server, the worker and the gateway share, the action server, Rasa
    (supervised as `hotline run` supervises them: `stack.revive()` starts again what stopped).

    The help-article index and the model file are the ones `make test` prepared. Every test
    leaves both servers running, talks under sender ids of its own, and changes only customers
    whose changed facts no other test relies on (tests/integration/test_account_flows.py).
    """
    if not MODEL.exists():
        pytest.fail("No trained model: run `make model` (make test does) first.")
    var = tmp_path_factory.mktemp("var")
    shutil.copy(seeded_template, var / "hotline.db")
    shared = get_settings()
    # The shared secrets are filled in here, so settings copied with another var_dir keep them.
    settings = with_secrets(Settings(
        var_dir=var, rasa_port=free_port(), action_port=free_port(), gateway_port=free_port(),
        chroma_dir=shared.chroma_dir, llm_model_path=shared.llm_model_path,
        llm_backend="server", model_server_port=free_port()))
    with running_stack(settings, TOKEN) as stack:
        yield {"settings": settings, "token": TOKEN, "models": stack.models, "stack": stack}


@pytest.fixture
def chat(live) -> RestChat:
    """A new conversation with the live bot over REST: chat(text) gives its reply."""
    return RestChat(live)


@pytest.fixture(scope="session")
def worker(live):
    """The real post-conversation worker process (local model included), over the live servers and database."""
    with start_worker(live["settings"], live["token"]) as process:
        yield process


@pytest.fixture(scope="session")
def web_url(live):
    """The gateway as its own process, for the browser."""
    settings = gateway_settings(live)
    with start_gateway(settings, live["token"]):
        yield settings.gateway_url + "/"


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


def pytest_terminal_summary(terminalreporter) -> None:
    """The attack suite's result per category, when it ran."""
    suite = sys.modules.get("tests.integration.test_attack_suite")
    if suite is not None and suite.RESULTS:
        terminalreporter.write_line("Attack suite (tests/integration/attacks.yml): category, attacks, passed")
        for category, passed in suite.RESULTS.items():
            terminalreporter.write_line(f"  {category:<40} {len(passed):>3} {sum(passed):>3}")
