"""Starting servers: a stale server on the port is refused, never mistaken for ours; a server
that stops is started again, with back-off when it keeps failing."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hotline.settings import Settings
from hotline.stack import ManagedProcess, Supervised, port_in_use, start_action_server, start_gateway


class AlwaysHealthy(BaseHTTPRequestHandler):
    """A stale server: 200 to every request, as a leftover action server or gateway would give."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args) -> None:
        pass


@contextmanager
def stale_server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), AlwaysHealthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("start, port_setting", [
    (start_action_server, "action_port"),
    (lambda settings: start_gateway(settings, "token"), "gateway_port"),
])
def test_a_port_already_answering_is_refused_before_anything_starts(start, port_setting, tmp_path):
    with stale_server() as port:
        settings = Settings(var_dir=tmp_path, **{port_setting: port})
        with pytest.raises(RuntimeError, match=rf"Port {port} on 127\.0\.0\.1 is already in use"):
            start(settings)
    assert not (tmp_path / "logs").exists()  # refused before launching: no process, no log


def test_a_listening_socket_counts_as_in_use_and_a_closed_one_does_not():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert port_in_use("127.0.0.1", port)
    assert not port_in_use("127.0.0.1", port)


def test_an_answer_while_our_process_is_gone_is_not_ready(tmp_path):
    process = ManagedProcess("actions", [sys.executable, "-c", "raise SystemExit(3)"], env={},
                             cwd=tmp_path, log_dir=tmp_path / "logs")
    process.process.wait()
    with stale_server() as port, pytest.raises(RuntimeError, match="exited with code 3"):
        process.wait_until_ready(f"http://127.0.0.1:{port}/health", timeout_s=10)


def test_a_stopped_server_is_started_again_and_one_that_keeps_failing_is_backed_off(tmp_path):
    started: list[ManagedProcess] = []

    def start() -> ManagedProcess:
        if len(started) == 2:
            raise RuntimeError("The action server did not answer")
        started.append(ManagedProcess("actions", [sys.executable, "-c", "import time; print('up', flush=True); "
                                                  "time.sleep(60)"], env={}, cwd=tmp_path, log_dir=tmp_path))
        return started[-1]

    def kill() -> None:
        os.kill(entry.server.process.pid, signal.SIGKILL)
        entry.server.process.wait()

    entry = Supervised("action", start)
    try:
        assert entry.revive() is None  # running: nothing to do
        time.sleep(0.5)
        kill()
        change = entry.revive()  # the first crash is started again at once, and says why
        assert "killed by SIGKILL" in change and "'up'" in change and "running again" in change
        assert entry.server is started[1] and entry.server.process.poll() is None
        kill()
        assert "did not come back" in entry.revive() and entry.retry_at > time.monotonic() + 1
        assert entry.revive() is None  # not before the pause is over
        entry.retry_at = 0  # the pause is over; it fails again and waits longer
        assert "next try in 4 s" in entry.revive()
    finally:
        entry.stop()
