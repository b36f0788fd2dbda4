"""Starting and stopping the real servers: model servers, the action server, Rasa, the gateway, the worker."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import yaml
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from hotline.ml.model_server import ServerPlan, command, plan_for, serving_plans
from hotline.ml.registry import Registry
from hotline.settings import Settings, with_secrets

# How the shared secrets travel: Rasa -> action server, gateway -> Rasa (bot/gateway_channel.py
# runs in Rasa's own environment and names its header again).
ACTION_SECRET_HEADER = "X-Hotline-Action-Secret"
CHANNEL_SECRET_HEADER = "X-Hotline-Channel-Secret"

QUIET_ENV = {
    "RASA_TELEMETRY_ENABLED": "false",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONWARNINGS": "ignore",
}


def rasa_env(settings: Settings) -> dict[str, str]:
    """Rasa's environment: these settings, and the project root for the pipeline's own
    component (bot/spoken_numbers.py imports hotline.spoken)."""
    return {**QUIET_ENV, **settings.as_env(), "PYTHONPATH": str(settings.project_root)}


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
    """Rasa's endpoints file, generated from the settings so there is one source of truth.

    The action server's secret stays out of the file: Rasa fills in ${HOTLINE_ACTION_SECRET}
    from its environment when it reads it.
    """
    path = settings.var_dir / "endpoints.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    endpoints = {
        "action_endpoint": {"url": f"{settings.action_url}/webhook",
                            "headers": {ACTION_SECRET_HEADER: "${HOTLINE_ACTION_SECRET}"}},
        "tracker_store": tracker_store_config(settings.tracker_store_url),
    }
    path.write_text(yaml.safe_dump(endpoints, sort_keys=False))
    return path


def channel_endpoint(settings: Settings) -> tuple[str, dict[str, str]]:
    """Where, and with which header, our own processes post a conversation message to Rasa."""
    settings = with_secrets(settings)
    return (f"{settings.rasa_url}/webhooks/gateway/webhook",
            {CHANNEL_SECRET_HEADER: settings.channel_secret.get_secret_value()})


def auth_token(settings: Settings) -> str:
    token = settings.rasa_auth_token
    return token.get_secret_value() if token else secrets.token_urlsafe(24)


def port_in_use(host: str, port: int) -> bool:
    """Whether a server already listens there: a stale one would answer our readiness checks.

    SO_REUSEADDR, as servers set it, so a stopped server's TIME_WAIT leftovers don't count.
    """
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def answers(url: str, params: dict | None) -> bool:
    try:
        return httpx.get(url, params=params, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


class ManagedProcess:
    """One server process with its log file, stopped politely then firmly.

    A server with an address refuses to start when something already listens there, and is
    ready only when the address answers while this process is still running.
    """

    def __init__(self, name: str, command: list[str], env: dict[str, str], cwd: Path,
                 log_dir: Path, address: tuple[str, int] | None = None) -> None:
        if address and port_in_use(*address):
            host, port = address
            raise RuntimeError(f"Port {port} on {host} is already in use (a {name} server left running?): "
                               f"stop it or choose another port; not starting the {name} server")
        log_dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("a")
        self.process = subprocess.Popen(
            command, env={**os.environ, **QUIET_ENV, **env}, cwd=cwd, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True)

    def __enter__(self) -> "ManagedProcess":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def check_running(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"The {self.name} process exited with code {self.process.returncode}; "
                               f"see {self.log_path}")

    def wait_until_ready(self, url: str, timeout_s: float, params: dict | None = None) -> None:
        """Block until the server answers; stop it if it never does (or on Ctrl-C)."""
        try:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                answered = answers(url, params)
                self.check_running()  # after the answer: it must have come while we were up
                if answered:
                    return
                time.sleep(0.5)
            raise TimeoutError(f"The {self.name} server did not answer at {url} within {timeout_s:.0f} s; "
                               f"see {self.log_path}")
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
        else:  # it died: its children (Sanic's worker, holding the port) must not outlive it
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self._log.close()


def start_model_server(settings: Settings, plan: ServerPlan) -> ManagedProcess:
    settings = with_secrets(settings)
    if not settings.model_server_executable.exists():
        raise FileNotFoundError(f"No llama-server at {settings.model_server_executable}: run `make setup` "
                                "(or set HOTLINE_LLM_BACKEND=llama_cpp to load the model in each process)")
    if not plan.base_path.exists():
        raise FileNotFoundError(f"No model file at {plan.base_path}: run `hotline assemble-model`")
    name = "model-server" if plan.port == settings.model_server_port else f"model-server-{plan.port}"
    server = ManagedProcess(name, command(settings, settings.model_server_executable, plan),
                            env={"LLAMA_API_KEY": settings.model_server_key.get_secret_value()},
                            cwd=settings.project_root, log_dir=settings.var_dir / "logs",
                            address=(settings.model_server_host, plan.port))
    server.wait_until_ready(f"http://{settings.model_server_host}:{plan.port}/health",
                            settings.model_server_startup_timeout_s)
    return server


class ModelServers:
    """The model servers the served tasks need, kept in line with the registry: a crashed one,
    a newly registered adapter or a champion on another base (re)starts the server concerned.
    A server already answering on a base's port (another `hotline run`) is used as it is."""

    def __init__(self, settings: Settings, also: tuple[str | None, ...] = ()) -> None:
        """`also`: model ids (candidates under evaluation) whose bases need a server too."""
        self.settings, self.also = with_secrets(settings), [model_id for model_id in also if model_id]
        self.running: dict[Path, tuple[ServerPlan, ManagedProcess | None]] = {}

    def wanted(self) -> list[ServerPlan]:
        registry = Registry(self.settings)
        extra = [registry.spec(model_id, "answer").base_path for model_id in self.also]
        served = serving_plans(self.settings)
        return served + [plan_for(self.settings, base) for base in dict.fromkeys(extra)
                         if base not in {plan.base_path for plan in served}]

    def sync(self) -> list[str]:
        """Start or restart what differs from the wanted servers; says what it did."""
        if self.settings.llm_backend != "server":
            return []
        changes, wanted = [], self.wanted()
        for base in set(self.running) - {plan.base_path for plan in wanted}:
            _, server = self.running.pop(base)
            if server is not None:
                changes.append(f"stopping the model server for {base.name} (no longer served)")
                server.stop()
        for plan in wanted:
            plan_now, server = self.running.get(plan.base_path, (None, None))
            if plan_now is not None and (server is None or (plan_now == plan and server.process.poll() is None)):
                continue
            if server is not None:
                changes.append(f"restarting the model server for {plan.base_path.name} "
                               f"({'new adapters' if plan_now != plan else 'it stopped'})")
                server.stop()
            elif answers(f"http://{self.settings.model_server_host}:{plan.port}/health", None):
                self.running[plan.base_path] = (plan, None)
                continue
            else:
                changes.append(f"starting the model server for {plan.base_path.name}")
            self.running[plan.base_path] = (plan, start_model_server(self.settings, plan))
        return changes

    def __enter__(self) -> "ModelServers":
        try:
            self.sync()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def stop(self) -> None:
        for _, server in self.running.values():
            if server is not None:
                server.stop()
        self.running.clear()


def start_action_server(settings: Settings) -> ManagedProcess:
    settings = with_secrets(settings)
    server = ManagedProcess(
        "actions", [sys.executable, "-m", "rasa_sdk", "--actions", "actions",
                    "-p", str(settings.action_port)],
        env={**settings.as_env(), "SANIC_HOST": settings.action_host, "HOTLINE_WARM_UP_KNOWLEDGE": "true"},
        cwd=settings.project_root, log_dir=settings.var_dir / "logs",
        address=(settings.action_host, settings.action_port))
    server.wait_until_ready(f"{settings.action_url}/health", 60)
    return server


def start_rasa(settings: Settings, token: str) -> ManagedProcess:
    settings = with_secrets(settings)
    if not settings.rasa_model.exists():
        raise FileNotFoundError(f"No trained model at {settings.rasa_model}: run `make model`.")
    server = ManagedProcess(
        "rasa", [str(settings.rasa_executable), "run", "--enable-api", f"--auth-token={token}",
                 "-i", settings.rasa_host, "-p", str(settings.rasa_port),
                 "-m", str(settings.rasa_model), "--endpoints", str(write_endpoints(settings)),
                 "--credentials", str(settings.bot_dir / "credentials.yml")],
        env=rasa_env(settings), cwd=settings.bot_dir, log_dir=settings.var_dir / "logs",
        address=(settings.rasa_host, settings.rasa_port))
    server.wait_until_ready(f"{settings.rasa_url}/status", settings.rasa_startup_timeout_s,
                            params={"token": token})
    return server


def start_gateway(settings: Settings, token: str) -> ManagedProcess:
    settings = with_secrets(settings)
    server = ManagedProcess(
        "gateway", [sys.executable, "-m", "uvicorn", "channels.app:create_app", "--factory",
                    "--host", settings.gateway_host, "--port", str(settings.gateway_port), "--no-access-log",
                    "--no-server-header"],
        env={**settings.as_env(), "HOTLINE_RASA_AUTH_TOKEN": token}, cwd=settings.project_root,
        log_dir=settings.var_dir / "logs", address=(settings.gateway_host, settings.gateway_port))
    server.wait_until_ready(f"{settings.gateway_url}/health", 60)
    return server


def start_worker(settings: Settings, token: str) -> ManagedProcess:
    """The post-conversation worker; it has no port, so 'ready' means it is still running."""
    settings = with_secrets(settings)
    worker = ManagedProcess("worker", [sys.executable, "-m", "hotline.cli", "worker"],
                            env={**settings.as_env(), "HOTLINE_RASA_AUTH_TOKEN": token},
                            cwd=settings.project_root, log_dir=settings.var_dir / "logs")
    time.sleep(1)
    try:
        worker.check_running()
    except RuntimeError:
        worker.stop()
        raise
    return worker


# A server that keeps failing to start is tried again after these pauses (then every minute);
# one that stayed up for STABLE_S had recovered, so its next crash is retried at once.
BACK_OFF_S = (1, 2, 4, 8, 16, 30, 60)
STABLE_S = 60.0


def why_it_stopped(server: ManagedProcess) -> str:
    code = server.process.returncode
    how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
    lines = server.log_path.read_text(errors="replace").strip().splitlines() if server.log_path.exists() else []
    return f"{how}; last log line: {lines[-1][:200]!r}" if lines else how


class Supervised:
    """One server and how to start it again: `revive` restarts it if it stopped, with back-off."""

    def __init__(self, name: str, start: Callable[[], ManagedProcess]) -> None:
        self.name, self.start = name, start
        self.server, self.started_at = start(), time.monotonic()
        self.failures, self.retry_at = 0, 0.0

    def revive(self) -> str | None:
        """What happened, if anything: a stopped server is started again (which blocks until it answers)."""
        now = time.monotonic()
        if self.server.process.poll() is None or now < self.retry_at:
            return None
        if self.failures == 0 and now - self.started_at < STABLE_S:
            self.failures = 1  # it crashed soon after starting: back off from the next failure on
        elif now - self.started_at >= STABLE_S:
            self.failures = 0
        why = why_it_stopped(self.server)
        self.server.stop()
        try:
            self.server, self.started_at = self.start(), time.monotonic()
        except (RuntimeError, TimeoutError, OSError) as error:
            pause = BACK_OFF_S[min(self.failures, len(BACK_OFF_S) - 1)]
            self.failures, self.retry_at = self.failures + 1, time.monotonic() + pause
            return f"the {self.name} server stopped ({why}) and did not come back ({error}); next try in {pause} s"
        return f"the {self.name} server stopped ({why}); it is running again"

    def stop(self) -> None:
        self.server.stop()


@dataclass
class RunningStack:
    models: ModelServers
    supervised: list[Supervised]  # action server, Rasa, then gateway and worker if asked for

    @property
    def servers(self) -> list[ManagedProcess]:
        return [entry.server for entry in self.supervised]

    @property
    def pids(self) -> dict[str, int]:
        """Each server's process id by name; a model server's by the base model file it serves."""
        return {**{server.name: server.process.pid for server in self.servers},
                **{f"model {base.stem}": server.process.pid for base, (_, server) in self.models.running.items()
                   if server is not None}}

    def revive(self) -> list[str]:
        """Start again what stopped, the model servers first (as `hotline run` does every 2 s)."""
        changes = self.models.sync()
        return changes + [change for entry in self.supervised if (change := entry.revive())]


@contextmanager
def running_stack(settings: Settings, token: str, gateway: bool = False) -> Iterator[RunningStack]:
    """The model servers, the action server and Rasa (and the gateway with its worker), answering,
    for as long as the block runs."""
    with ExitStack() as stack:
        running = RunningStack(stack.enter_context(ModelServers(settings)), [])
        starts = [("action", lambda: start_action_server(settings)), ("Rasa", lambda: start_rasa(settings, token))]
        if gateway:
            starts += [("gateway", lambda: start_gateway(settings, token)), ("worker", lambda: start_worker(settings, token))]
        for name, start in starts:
            entry = Supervised(name, start)
            stack.callback(entry.stop)
            running.supervised.append(entry)
        yield running
