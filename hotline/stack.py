"""Starting and stopping the real servers: the action server and the Rasa server."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from collections.abc import Iterator
from pathlib import Path

import httpx
import yaml
from sqlalchemy.engine import make_url

from hotline.settings import Settings

QUIET_ENV = {
    "RASA_TELEMETRY_ENABLED": "false",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONWARNINGS": "ignore",
}


def tracker_store_config(url: str) -> dict:
    """Rasa's SQL tracker store settings from a SQLAlchemy URL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    config = {"type": "SQL", "dialect": "postgresql" if backend == "postgresql" else backend,
              "db": parsed.database}
    if backend == "sqlite":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return config
    for key, value in (("url", parsed.host), ("port", parsed.port),
                       ("username", parsed.username), ("password", parsed.password)):
        if value is not None:
            config[key] = value
    return config


def write_endpoints(settings: Settings) -> Path:
    """Rasa's endpoints file, generated from the settings so there is one source of truth."""
    path = settings.var_dir / "endpoints.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    endpoints = {
        "action_endpoint": {"url": f"{settings.action_url}/webhook"},
        "tracker_store": tracker_store_config(settings.tracker_store_url),
    }
    path.write_text(yaml.safe_dump(endpoints, sort_keys=False))
    return path


def auth_token(settings: Settings) -> str:
    token = settings.rasa_auth_token
    return token.get_secret_value() if token else secrets.token_urlsafe(24)


def wait_until(url: str, timeout_s: float, process: subprocess.Popen, name: str,
               params: dict | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The {name} server exited with code {process.returncode}; see var/logs/{name}.log")
        try:
            if httpx.get(url, params=params, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"The {name} server did not answer at {url} within {timeout_s:.0f} s")


class ManagedProcess:
    """One server process with its log file, stopped politely then firmly."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], cwd: Path,
                 log_dir: Path) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("a")
        self.process = subprocess.Popen(
            command, env={**os.environ, **QUIET_ENV, **env}, cwd=cwd, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True)

    def wait_until_ready(self, url: str, timeout_s: float, params: dict | None = None) -> None:
        """Block until the server answers; stop it if it never does (or on Ctrl-C)."""
        try:
            wait_until(url, timeout_s, self.process, self.name, params)
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout_s: float = 20) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


def start_action_server(settings: Settings) -> ManagedProcess:
    server = ManagedProcess(
        "actions", [sys.executable, "-m", "rasa_sdk", "--actions", "actions",
                    "-p", str(settings.action_port)],
        env={**settings.as_env(), "SANIC_HOST": settings.action_host, "HOTLINE_WARM_UP_KNOWLEDGE": "true"},
        cwd=settings.project_root,
        log_dir=settings.var_dir / "logs")
    server.wait_until_ready(f"{settings.action_url}/health", 60)
    return server


def start_rasa(settings: Settings, token: str) -> ManagedProcess:
    if not settings.rasa_model.exists():
        raise FileNotFoundError(f"No trained model at {settings.rasa_model}: run `make model`.")
    server = ManagedProcess(
        "rasa", [str(settings.rasa_executable), "run", "--enable-api", f"--auth-token={token}",
                 "-i", settings.rasa_host, "-p", str(settings.rasa_port),
                 "-m", str(settings.rasa_model), "--endpoints", str(write_endpoints(settings)),
                 "--credentials", str(settings.bot_dir / "credentials.yml")],
        env=settings.as_env(), cwd=settings.bot_dir, log_dir=settings.var_dir / "logs")
    server.wait_until_ready(f"{settings.rasa_url}/status", settings.rasa_startup_timeout_s,
                            params={"token": token})
    return server


def start_gateway(settings: Settings, token: str) -> ManagedProcess:
    server = ManagedProcess(
        "gateway", [sys.executable, "-m", "uvicorn", "channels.app:create_app", "--factory",
                    "--host", settings.gateway_host, "--port", str(settings.gateway_port), "--no-access-log"],
        env={**settings.as_env(), "HOTLINE_RASA_AUTH_TOKEN": token}, cwd=settings.project_root,
        log_dir=settings.var_dir / "logs")
    server.wait_until_ready(f"{settings.gateway_url}/health", 60)
    return server


def start_worker(settings: Settings, token: str) -> ManagedProcess:
    """The post-conversation worker; it has no port, so 'ready' means it is still running."""
    worker = ManagedProcess("worker", [sys.executable, "-m", "hotline.cli", "worker"],
                            env={**settings.as_env(), "HOTLINE_RASA_AUTH_TOKEN": token},
                            cwd=settings.project_root, log_dir=settings.var_dir / "logs")
    time.sleep(1)
    if worker.process.poll() is not None:
        raise RuntimeError(f"The worker exited with code {worker.process.returncode}; see var/logs/worker.log")
    return worker


@contextmanager
def running_stack(settings: Settings, token: str, gateway: bool = False) -> Iterator[list[ManagedProcess]]:
    """The action server and Rasa (and the gateway with its worker), answering, for as long as the block runs."""
    with ExitStack() as stack:
        started: list[ManagedProcess] = []
        for start in (start_action_server, lambda s: start_rasa(s, token),
                      *([lambda s: start_gateway(s, token), lambda s: start_worker(s, token)] if gateway else [])):
            server = start(settings)
            stack.callback(server.stop)
            started.append(server)
        yield started
