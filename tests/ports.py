"""Free loopback ports, so test servers never meet a stale server (or each other) on a fixed port."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
