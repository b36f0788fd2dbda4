"""Staff see verification locks in the console and lift them; nobody else can."""

from __future__ import annotations

from fastapi.testclient import TestClient

from channels.app import create_app
from hotline import clock
from hotline.accounts import verification
from hotline.db import session_scope
from hotline.settings import get_settings
from tests.insights.test_analytics_and_console import sign_in_demo


def test_a_locked_account_is_listed_and_lifted(database_url):
    with session_scope(database_url) as session:
        verification.record_failure(session, verification.failure_keys(2, "c0ffee"), clock.now())
        for _ in range(4):
            verification.record_failure(session, verification.failure_keys(2, None), clock.now())
        assert verification.locked(session, ["account:2"], clock.now())
    with TestClient(create_app(get_settings())) as client:
        assert client.get("/api/console/verification-locks").status_code == 401
        assert client.post("/api/console/verification-locks/lift", json={"key": "account:2"}).status_code == 401
        sign_in_demo(client)
        [lock] = client.get("/api/console/verification-locks").json()
        assert lock["key"] == "account:2" and lock["label"] == "Account ACC-10•••02" and lock["failures"] == 5
        assert "c0ffee" not in str(lock)  # the one client failure is not a lock
        assert client.post("/api/console/verification-locks/lift", json={"key": "account:2"}).json() == {"status": "lifted"}
        assert client.get("/api/console/verification-locks").json() == []
        assert client.post("/api/console/verification-locks/lift", json={"key": "account:2"}).status_code == 404
    with session_scope(database_url) as session:
        assert not verification.locked(session, ["account:2"], clock.now())
