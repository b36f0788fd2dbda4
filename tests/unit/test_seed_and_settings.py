"""The demo data is deterministic and realistic on any date; settings drive Rasa's endpoints."""

from datetime import date

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline import clock
from hotline.accounts import billing
from hotline.accounts.billing import bill_status
from hotline.accounts.network import find_outages
from hotline.db import make_engine
from hotline.db.models import Bill, BillItem, Customer, Line, Outage, PaymentCard, Subscription, TroubleTicket
from hotline.db.seed import DEMO_IDENTITIES, luhn_complete, seed_database
from hotline.settings import PROJECT_ROOT, Settings
from hotline.stack import tracker_store_config, write_endpoints
from tests.conftest import AWKWARD_DAYS, on_awkward_days


def _fingerprint(url: str) -> dict[str, list[tuple]]:
    """What must not depend on the date: who the customers are, their lines, plans, cards,
    tickets and every bill's items (the bills' dates and paid state follow the date)."""
    with Session(make_engine(url)) as session:
        def rows(query):
            return [tuple(row) for row in session.execute(query)]
        return {
            "customers": rows(select(Customer.account_number, Customer.first_name, Customer.last_name,
                                     Customer.date_of_birth, Customer.postcode, Customer.autopay,
                                     Customer.pin_hash).order_by(Customer.id)),
            "lines": rows(select(Line.customer_id, Line.number, Line.iccid, Line.imei, Line.puk, Line.esim)
                          .order_by(Line.id)),
            "plans": rows(select(Subscription.line_id, Subscription.plan_id).order_by(Subscription.id)),
            "cards": rows(select(PaymentCard.customer_id, PaymentCard.brand, PaymentCard.last4).order_by(PaymentCard.id)),
            "tickets": rows(select(TroubleTicket.reference, TroubleTicket.customer_id, TroubleTicket.status)
                            .order_by(TroubleTicket.id)),
            # Which bill carries a late fee follows the date (the newest one past due), so as a set.
            "bill items": sorted(rows(select(Bill.customer_id, BillItem.category, BillItem.description,
                                             BillItem.amount_pence).join(Bill))),
        }


def test_same_seed_same_data_on_any_date(tmp_path):
    days = (date(2026, 11, 21), *AWKWARD_DAYS[:3], date(2027, 7, 10))  # a summer month too
    prints = []
    for number, day in enumerate(days):
        url = f"sqlite:///{tmp_path / str(number)}.db"
        seed_database(make_engine(url), seed=3, customers=30, today=day)
        prints.append(_fingerprint(url))
    for other in prints[1:]:
        for part, rows in prints[0].items():
            assert other[part] == rows, part


def test_another_seed_gives_other_customers(tmp_path):
    urls = [f"sqlite:///{tmp_path / name}.db" for name in ("a", "b")]
    for seed, url in zip((3, 4), urls):
        seed_database(make_engine(url), seed=seed, customers=20, today=date(2026, 11, 21))
    first, second = (_fingerprint(url) for url in urls)
    assert first["customers"][:4] != second["customers"][:4]  # the demo four too (PIN salts)
    assert first["customers"][4:] != second["customers"][4:]


@on_awkward_days
def test_the_demo_identities_show_what_the_readme_promises(session, today):
    alice, ben, chloe, dev = (session.scalar(select(Customer).where(Customer.account_number == demo.account_number))
                              for demo in DEMO_IDENTITIES)
    alice_bills = billing.summary(session, alice.id, today)
    assert len(alice.lines) == 1 and alice_bills.balance_pence == 0
    latest, previous = alice.bills[-1], alice.bills[-2]
    assert any(item.category == "roaming" for item in latest.items) and latest.total_pence > previous.total_pence

    ben_bills = billing.summary(session, ben.id, today)
    assert len(ben.lines) == 2 and ben_bills.overdue_bills
    assert all(bill.due_on < today for bill in ben_bills.overdue_bills)
    assert any(item.category == "late_fee" for item in ben_bills.overdue_bills[-1].items)
    newest_past_due = max((bill for bill in ben.bills if bill.due_on < today), key=lambda bill: bill.due_on)
    assert newest_past_due in ben_bills.overdue_bills  # the overdue one is the newest bill already due

    assert {line.kind for line in chloe.lines} == {"mobile", "broadband"}
    assert [o.area for o in find_outages(session, chloe.postcode, clock.now())] == ["Leeds"]
    assert open_tickets(session, chloe) == 1

    assert dev.autopay and dev.lines[0].esim
    assert {line.subscriptions[-1].plan.name for line in dev.lines} == {"Unlimited Plus", "Fibre 500"}
    assert open_tickets(session, dev) == 0
    assert not billing.summary(session, dev.id, today).overdue_bills


def open_tickets(session: Session, customer: Customer) -> int:
    return session.scalar(select(func.count(TroubleTicket.id)).where(
        TroubleTicket.customer_id == customer.id, TroubleTicket.status == "open"))


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


def test_idle_conversations_end_when_rasa_sessions_expire():
    domain = yaml.safe_load((PROJECT_ROOT / "bot" / "domain" / "session.yml").read_text())
    assert domain["session_config"]["session_expiration_time"] == Settings().conversation_idle_end_minutes
