"""The same code on PostgreSQL: only the database URL changes."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from datetime import date
from pathlib import Path

import pytest

from actions.billing import ActionPayBill, ActionShowBill, ValidatePayBillForm
from hotline.accounts import billing
from hotline.db import make_engine, session_scope
from hotline.db.seed import seed_database
from hotline.settings import get_settings
from tests.conftest import Conversation
from tests.unit.helpers import verify

PORT = 55432


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root; use its own account when we are root."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="module")
def postgres_url():
    """A throwaway PostgreSQL cluster on a loopback port, for this module only."""
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not binaries:
        pytest.skip("PostgreSQL server binaries are not installed")
    bin_dir = os.path.dirname(binaries[-1])
    root = Path(tempfile.mkdtemp(prefix="hotline-pg-"))  # under /tmp, which the postgres user can reach
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    subprocess.run(_as_postgres([f"{bin_dir}/initdb", "-D", str(data), "-U", "hotline", "--auth=trust"]),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres([f"{bin_dir}/pg_ctl", "-D", str(data), "-w", "-l", str(root / "log"), "-o",
                                 f"-p {PORT} -k {root} -c listen_addresses=127.0.0.1", "start"]),
                   check=True, capture_output=True)
    yield f"postgresql+psycopg://hotline@127.0.0.1:{PORT}/postgres"
    subprocess.run(_as_postgres([f"{bin_dir}/pg_ctl", "-D", str(data), "-m", "fast", "stop"]), capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


def test_verification_and_payment_on_postgres(postgres_url, domain, monkeypatch):
    seed_database(make_engine(postgres_url), seed=7, customers=20, today=date.today())
    monkeypatch.setenv("HOTLINE_DATABASE_URL", postgres_url)
    get_settings.cache_clear()
    try:
        conversation = Conversation(domain)
        verify(conversation, "ACC-1000002")
        form = ValidatePayBillForm()
        with session_scope() as session:
            card = billing.customer(session, conversation.slots["customer_id"]).cards[0].last4
        for text, intent in (("pay", "pay_bill"), ("the full amount", "inform"), (card, "inform"), ("yes", "affirm")):
            conversation.say(form, text, intent)
        conversation.run(ActionPayBill())
        assert "Your balance is now £0.00" in conversation.messages[0]["text"]
        conversation.run(ActionShowBill())
        assert "Your balance is £0.00" in conversation.messages[0]["text"]
    finally:
        get_settings.cache_clear()
