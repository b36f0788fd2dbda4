"""The demo data is deterministic and realistic; settings drive Rasa's endpoints."""

from datetime import date

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.accounts.billing import bill_status
from hotline.db import make_engine
from hotline.db.models import Bill, Customer, Line, Outage, TroubleTicket
from hotline.db.seed import DEMO_IDENTITIES, luhn_complete, seed_database
from hotline.settings import Settings
from hotline.stack import tracker_store_config, write_endpoints


def _fingerprint(url: str) -> list[tuple]:
    with Session(make_engine(url)) as session:
        return list(session.execute(select(Customer.account_number, Customer.last_name, Bill.total_pence)
                                    .join(Bill).order_by(Bill.id)))


def test_same_seed_same_data(tmp_path):
    urls = [f"sqlite:///{tmp_path / name}.db" for name in ("a", "b")]
    for url in urls:
        seed_database(make_engine(url), seed=3, customers=20, today=date(2026, 11, 21))
    assert _fingerprint(urls[0]) == _fingerprint(urls[1])


def test_full_seed_has_the_variety_the_demo_needs(tmp_path):
    url = f"sqlite:///{tmp_path / 'full.db'}"
    seed_database(make_engine(url), seed=7, customers=240, today=date(2026, 11, 21))
    with Session(make_engine(url)) as session:
        assert session.scalar(select(func.count(Customer.id))) == 240
        customers = session.scalars(select(Customer)).all()
        assert all(len(c.bills) == 6 for c in customers)
        overdue = [c for c in customers if any(bill_status(b, date(2026, 11, 21)) == "overdue" for b in c.bills)]
        assert 20 <= len(overdue) <= 80
        assert session.scalar(select(func.count(TroubleTicket.id)).where(TroubleTicket.status == "open")) >= 10
        assert session.scalar(select(func.count(Outage.id)).where(Outage.resolved_at.is_(None))) >= 2
        plans = {line.subscriptions[-1].plan.name for line in session.scalars(select(Line))}
        assert len(plans) == 6
        assert [c.account_number for c in customers[:4]] == [d.account_number for d in DEMO_IDENTITIES]
        for line in session.scalars(select(Line).where(Line.kind == "mobile")):
            assert luhn_complete(line.imei[:-1]) == line.imei and line.iccid.startswith("89")
            assert not line.number.startswith("+447700")


def test_tracker_store_follows_the_url(tmp_path):
    assert tracker_store_config(f"sqlite:///{tmp_path}/t.db") == {
        "type": "SQL", "dialect": "sqlite", "db": f"{tmp_path}/t.db"}
    assert tracker_store_config("postgresql+psycopg://bot:secret@db.internal:5433/rasa") == {
        "type": "SQL", "dialect": "postgresql", "db": "rasa", "url": "db.internal", "port": 5433,
        "username": "bot", "password": "secret"}


def test_endpoints_are_generated_from_settings(tmp_path):
    settings = Settings(var_dir=tmp_path, action_port=6055)
    endpoints = yaml.safe_load(write_endpoints(settings).read_text())
    assert endpoints["action_endpoint"]["url"] == "http://127.0.0.1:6055/webhook"
    assert endpoints["tracker_store"]["db"] == str(tmp_path / "tracker.db")
    assert settings.database_url == f"sqlite:///{tmp_path / 'hotline.db'}"
    assert settings.rasa_host == "127.0.0.1" and settings.action_host == "127.0.0.1"
