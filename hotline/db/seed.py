"""Deterministic demo data: the same seed gives the same customers on any date.

A handful of hand-made demo identities come first (listed in the README), then
generated customers with six months of bills, varied plans, overdue accounts,
open tickets and outages. Every customer, and every month of a customer's bills
and usage, draws from its own generator derived from the seed, so one month's
draws never shift another customer's; dates are placed relative to today so the
states hold on every day of the year (an overdue bill is always past its due date).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from faker import Faker
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session

from hotline import catalog
from hotline.agents import hash_password
from hotline.db import upgrade_schema
from hotline.db.models import (
    AddonPurchase,
    Agent,
    Base,
    Bill,
    BillItem,
    Customer,
    Line,
    ModelDeployment,
    ModelVersion,
    Outage,
    Payment,
    PaymentCard,
    Plan,
    PortRequest,
    RoamingRate,
    RoamingSetting,
    Subscription,
    TroubleTicket,
    UsageRecord,
)

PIN_ITERATIONS = 20_000
BILL_MONTHS = 6
PAYMENT_DAYS = 14  # a bill is due this many days after it is issued

CITIES = {
    "London": ["SW1A", "E1", "N1", "SE1"],
    "Manchester": ["M1", "M4"],
    "Leeds": ["LS1", "LS6"],
    "Birmingham": ["B1", "B5"],
    "Bristol": ["BS1", "BS8"],
    "Glasgow": ["G1"],
    "Cardiff": ["CF10"],
    "Edinburgh": ["EH1"],
    "Liverpool": ["L1"],
    "Newcastle": ["NE1"],
    "Sheffield": ["S1"],
    "Nottingham": ["NG1"],
}


def hash_pin(pin: str, salt: bytes) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, PIN_ITERATIONS)
    return f"pbkdf2${PIN_ITERATIONS}${salt.hex()}${digest.hex()}"


def luhn_complete(digits: str) -> str:
    """Append the Luhn check digit, as IMEIs and ICCIDs carry."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            value -= 9 if value > 9 else 0
        total += value
    return digits + str((10 - total % 10) % 10)


def month_start(day: date, months_back: int = 0) -> date:
    month_index = day.year * 12 + day.month - 1 - months_back
    return date(month_index // 12, month_index % 12 + 1, 1)


@dataclass(frozen=True)
class DemoIdentity:
    account_number: str
    first_name: str
    last_name: str
    pin: str
    date_of_birth: date
    city: str
    postcode: str
    mobile_plans: tuple[str, ...]
    broadband_plan: str | None
    story: str  # what the demo shows; rendered in the README


# The console's demo sign-in (username, name customers see, password); `hotline agent add` makes real ones.
DEMO_AGENT = ("agent", "Sam", "brightwave-demo")

DEMO_IDENTITIES = (
    DemoIdentity("ACC-1000001", "Alice", "Morgan", "1234", date(1985, 3, 12), "London",
                 "SW1A 2AA", ("ESSENTIAL",), None,
                 "one mobile line, bills paid, last bill higher because of roaming"),
    DemoIdentity("ACC-1000002", "Ben", "Carter", "2468", date(1990, 7, 4), "Manchester",
                 "M1 4BT", ("UNLIMITED", "STARTER"), None,
                 "two lines, an overdue bill with a late fee on it (before the 15th, also the new bill, not yet due)"),
    DemoIdentity("ACC-1000003", "Chloe", "Davies", "1357", date(1978, 11, 30), "Leeds",
                 "LS1 4AP", ("STARTER",), "FIBRE_150",
                 "broadband and mobile, lives in an outage area, an open trouble ticket"),
    DemoIdentity("ACC-1000004", "Dev", "Patel", "9876", date(2001, 1, 9), "Bristol",
                 "BS1 5TR", ("UNLIMITED_PLUS",), "FIBRE_500",
                 "Unlimited Plus on eSIM and Fibre 500, autopay on"),
)


def overdue_months_back(today: date) -> int:
    """Which bill (months back) is the newest one already past its due date today."""
    latest_due = month_start(today) + timedelta(days=PAYMENT_DAYS)
    return 1 if latest_due < today else 2


class Seeder:
    """Builds the whole database in one pass; each customer and each month has its own generator."""

    def __init__(self, session: Session, seed: int, today: date) -> None:
        self.session = session
        self.seed = seed
        self.today = today
        self.rng = self.generator("catalogue")
        self.fake = Faker("en_GB")
        self.plans: dict[str, Plan] = {}
        self.used_numbers: set[str] = set()
        self.used_accounts: set[str] = {d.account_number for d in DEMO_IDENTITIES}
        self.reference_counters: dict[str, int] = {}

    def generator(self, *path: object) -> random.Random:
        """A generator of its own for one part of the data, stable whatever else is drawn."""
        return random.Random("/".join(map(str, (self.seed, *path))))

    def start_customer(self, index: int) -> None:
        """From here on, draws belong to customer number `index`."""
        self.rng = self.generator("customer", index)
        self.fake.seed_instance(self.rng.getrandbits(32))

    # -- identifiers --------------------------------------------------------
    def reference(self, prefix: str, rng: random.Random | None = None) -> str:
        self.reference_counters[prefix] = count = self.reference_counters.get(prefix, 0) + 1
        return f"{prefix}-{(rng or self.rng).randint(100, 999)}{count:04d}"

    def mobile_number(self) -> str:
        while True:
            prefix = self.rng.choice(["7400", "7456", "7507", "7588", "7723", "7811", "7911", "7984"])
            number = f"+44{prefix}{self.rng.randint(100000, 999999)}"
            if number not in self.used_numbers:
                self.used_numbers.add(number)
                return number

    def landline_number(self, city: str) -> str:
        area = {"London": "20", "Manchester": "161", "Leeds": "113", "Birmingham": "121",
                "Bristol": "117", "Glasgow": "141", "Cardiff": "29", "Edinburgh": "131",
                "Liverpool": "151", "Newcastle": "191", "Sheffield": "114",
                "Nottingham": "115"}[city]
        while True:
            number = f"+44{area}{self.rng.randint(10**(9 - len(area)), 10**(10 - len(area)) - 1)}"
            if number not in self.used_numbers:
                self.used_numbers.add(number)
                return number

    def account_number(self) -> str:
        while True:
            number = f"ACC-{self.rng.randint(1000100, 1999999)}"
            if number not in self.used_accounts:
                self.used_accounts.add(number)
                return number

    # -- catalogue ----------------------------------------------------------
    def add_catalogue(self) -> None:
        for spec in catalog.PLANS:
            plan = Plan(**spec.__dict__)
            self.session.add(plan)
            self.plans[spec.code] = plan
        for zone, countries in catalog.ROAMING_COUNTRIES.items():
            day_pass, per_mb, per_minute, per_text = catalog.ZONE_PRICES[zone]
            for country, aliases in countries.items():
                self.session.add(RoamingRate(
                    country=country, zone=zone, aliases=aliases, day_pass_pence=day_pass,
                    per_mb_pence=per_mb, per_minute_pence=per_minute, per_text_pence=per_text,
                ))

    def add_outages(self) -> None:
        now = datetime.combine(self.today, time(9, 0))
        self.session.add_all([
            Outage(area="Leeds", postcode_district="LS1", service="mobile",
                   summary="4G and 5G mast upgrade near Leeds city centre: calls and data may drop",
                   started_at=now - timedelta(hours=20), estimated_fix_at=now + timedelta(hours=30),
                   resolved_at=None),
            Outage(area="Bristol", postcode_district="BS8", service="broadband",
                   summary="Damaged fibre cable in Clifton: home broadband down for some customers",
                   started_at=now - timedelta(hours=6), estimated_fix_at=now + timedelta(hours=18),
                   resolved_at=None),
            Outage(area="Manchester", postcode_district="M4", service="mobile",
                   summary="Power cut at a mast in the Northern Quarter",
                   started_at=now - timedelta(days=9), estimated_fix_at=now - timedelta(days=8),
                   resolved_at=now - timedelta(days=8, hours=2)),
        ])

    # -- customers ----------------------------------------------------------
    def add_customer(self, *, account_number: str, first_name: str, last_name: str, pin: str,
                     date_of_birth: date, city: str, postcode: str, mobile_plans: tuple[str, ...],
                     broadband_plan: str | None, autopay: bool) -> Customer:
        salt = self.rng.randbytes(8)
        customer = Customer(
            account_number=account_number, first_name=first_name, last_name=last_name,
            email=f"{first_name}.{last_name}{self.rng.randint(1, 99)}@example.com".lower(),
            date_of_birth=date_of_birth, pin_hash=hash_pin(pin, salt),
            address_line=self.fake.street_address().replace("\n", ", "), city=city,
            postcode=postcode, autopay=autopay,
            created_on=month_start(self.today, self.rng.randint(8, 90)),
        )
        self.session.add(customer)
        for _ in range(self.rng.choice([1, 1, 2])):
            customer.cards.append(PaymentCard(
                brand=self.rng.choice(["Visa", "Mastercard", "Amex"]),
                last4=f"{self.rng.randint(0, 9999):04d}",
                expiry=date(self.today.year + self.rng.randint(1, 4), self.rng.randint(1, 12), 1),
            ))
        for code in mobile_plans:
            self.add_line(customer, "mobile", code)
        if broadband_plan:
            self.add_line(customer, "broadband", broadband_plan)
        return customer

    def add_line(self, customer: Customer, kind: str, plan_code: str) -> Line:
        mobile = kind == "mobile"
        esim = mobile and self.rng.random() < 0.25
        line = Line(
            kind=kind,
            number=self.mobile_number() if mobile else self.landline_number(customer.city),
            iccid=luhn_complete("8944" + "".join(str(self.rng.randint(0, 9)) for _ in range(14))) if mobile else None,
            imei=luhn_complete("35" + "".join(str(self.rng.randint(0, 9)) for _ in range(12))) if mobile else None,
            puk=f"{self.rng.randint(0, 99_999_999):08d}" if mobile else None,
            esim=esim,
            status="active",
        )
        customer.lines.append(line)
        line.subscriptions.append(Subscription(
            plan=self.plans[plan_code], started_on=customer.created_on, ended_on=None))
        if mobile:
            line.roaming = RoamingSetting(
                enabled=self.rng.random() < 0.3,
                updated_at=datetime.combine(customer.created_on, time(12, 0)))
        return line

    def add_usage(self, line: Line) -> None:
        plan = line.subscriptions[-1].plan
        allowance_mb = (plan.data_gb or 60) * 1024
        for months_back in range(BILL_MONTHS + 1):
            rng = self.generator("usage", line.number, months_back)
            cycle = month_start(self.today, months_back)
            share = rng.uniform(0.15, 1.05)
            if months_back == 0:  # the current cycle is only partly over
                share *= min(1.0, self.today.day / 28)
            used = int(allowance_mb * share)
            if plan.data_gb:
                used = min(used, allowance_mb)
            self.session.add(UsageRecord(
                line_id=line.id, cycle_start=cycle, data_used_mb=used,
                minutes_used=rng.randint(20, 900), texts_used=rng.randint(0, 300)))

    def add_bills(self, customer: Customer, overdue: bool, late_fee: bool, extras: bool = True) -> None:
        """Six monthly bills. An overdue customer has not paid the newest bill past its due
        date (nor any newer one); with `late_fee` the bill before it was paid late and the
        overdue bill carries the fee. Without `extras` a bill holds only the plan charges."""
        first_unpaid = overdue_months_back(self.today) if overdue else 0
        for months_back in range(BILL_MONTHS, 0, -1):
            rng = self.generator("bill", customer.account_number, months_back)
            start = month_start(self.today, months_back)
            end = month_start(self.today, months_back - 1) - timedelta(days=1)
            issued = end + timedelta(days=1)
            bill = Bill(customer_id=customer.id, period_start=start, period_end=end,
                        issued_on=issued, due_on=issued + timedelta(days=PAYMENT_DAYS), total_pence=0)
            for line in customer.lines:
                plan = line.subscriptions[-1].plan
                bill.items.append(BillItem(line_id=line.id, category="plan",
                                           description=f"{plan.name} monthly charge",
                                           amount_pence=plan.monthly_price_pence))
                if line.kind != "mobile" or not extras:
                    continue
                if rng.random() < 0.15:
                    addon = rng.choice(catalog.DATA_ADDONS)
                    bill.items.append(BillItem(line_id=line.id, category="addon",
                                               description=f"{addon.name} data add-on",
                                               amount_pence=addon.price_pence))
                if rng.random() < 0.15:
                    country = rng.choice(["United States", "Japan", "Turkey", "Canada", "Thailand"])
                    days = rng.randint(2, 9)
                    bill.items.append(BillItem(line_id=line.id, category="roaming",
                                               description=f"Roaming day passes in {country} x{days}",
                                               amount_pence=days * 600))
                if rng.random() < 0.2:
                    bill.items.append(BillItem(line_id=line.id, category="international",
                                               description="Calls to international numbers",
                                               amount_pence=rng.randint(80, 1500)))
            if late_fee and months_back == first_unpaid:
                bill.items.append(BillItem(line_id=None, category="late_fee",
                                           description="Late payment fee (previous bill paid late)",
                                           amount_pence=catalog.LATE_FEE_PENCE))
            bill.total_pence = sum(item.amount_pence for item in bill.items)
            unpaid = months_back <= first_unpaid
            bill.paid_pence = 0 if unpaid else bill.total_pence
            self.session.add(bill)
            if not unpaid and customer.cards:
                paid_late = late_fee and months_back == first_unpaid + 1
                paid_day = bill.due_on + timedelta(days=9 if paid_late else -3)
                self.session.add(Payment(
                    confirmation=self.reference("PAY", rng), customer_id=customer.id,
                    card_id=customer.cards[0].id, amount_pence=bill.total_pence,
                    paid_at=datetime.combine(paid_day, time(10, 30))))

    def add_ticket(self, customer: Customer, status: str, rng: random.Random) -> None:
        line = customer.lines[-1]
        category = "home_internet" if line.kind == "broadband" else "mobile_data"
        opened = datetime.combine(self.today - timedelta(days=rng.randint(1, 20)), time(14, 5))
        summary = ("Broadband drops several times a day" if category == "home_internet"
                   else "Mobile data very slow at home")
        self.session.add(TroubleTicket(
            reference=self.reference("TT", rng), customer_id=customer.id, line_id=line.id,
            category=category, summary=summary, steps_tried="restarted device",
            status=status, created_at=opened, updated_at=opened + timedelta(hours=20),
            estimated_fix_on=None if status == "resolved" else self.today + timedelta(days=3)))

    def run(self, customers: int) -> None:
        self.add_catalogue()
        self.add_outages()
        self.session.flush()
        # (customer, overdue, late fee, ticket status or None), each decided by its own generator
        created: list[tuple[Customer, bool, bool, str | None]] = []
        for index, demo in enumerate(DEMO_IDENTITIES):
            self.start_customer(index)
            ben = demo.account_number == "ACC-1000002"
            customer = self.add_customer(
                account_number=demo.account_number, first_name=demo.first_name,
                last_name=demo.last_name, pin=demo.pin, date_of_birth=demo.date_of_birth,
                city=demo.city, postcode=demo.postcode, mobile_plans=demo.mobile_plans,
                broadband_plan=demo.broadband_plan, autopay=demo.account_number == "ACC-1000004")
            created.append((customer, ben, ben, "open" if demo.account_number == "ACC-1000003" else None))
        codes = ["STARTER", "ESSENTIAL", "ESSENTIAL", "UNLIMITED", "UNLIMITED", "UNLIMITED_PLUS"]
        for index in range(len(DEMO_IDENTITIES), customers):
            self.start_customer(index)
            city = self.rng.choice(list(CITIES))
            district = self.rng.choice(CITIES[city])
            postcode = f"{district} {self.rng.randint(1, 9)}{self.fake.random_uppercase_letter()}{self.fake.random_uppercase_letter()}"
            customer = self.add_customer(
                account_number=self.account_number(), first_name=self.fake.first_name(),
                last_name=self.fake.last_name(), pin=f"{self.rng.randint(0, 9999):04d}",
                date_of_birth=date(1941, 1, 1) + timedelta(days=self.rng.randint(0, 60 * 365)),
                city=city, postcode=postcode,
                mobile_plans=tuple(self.rng.choice(codes) for _ in range(self.rng.choice([1, 1, 1, 2, 3]))),
                broadband_plan=self.rng.choice([None, None, None, "FIBRE_150", "FIBRE_500"]),
                autopay=self.rng.random() < 0.4)
            overdue = not customer.autopay and self.rng.random() < 0.2
            late_fee = overdue and self.rng.random() < 0.5
            draw = self.rng.random()
            created.append((customer, overdue, late_fee,
                            "open" if draw < 0.1 else "resolved" if draw < 0.19 else None))
        self.session.flush()
        demo_accounts = {demo.account_number for demo in DEMO_IDENTITIES}
        for customer, overdue, late_fee, ticket in created:
            # The demo identities' bills tell only their README story (add_demo_extras).
            self.add_bills(customer, overdue, late_fee, extras=customer.account_number not in demo_accounts)
            for line in customer.lines:
                if line.kind == "mobile":
                    self.add_usage(line)
            if ticket:
                self.add_ticket(customer, ticket, self.generator("ticket", customer.account_number))
        self.rng = self.generator("demo extras")
        self.add_demo_extras()

    def add_demo_extras(self) -> None:
        """Facts the demo identities' stories promise."""
        alice = self.session.scalar(select(Customer).where(Customer.account_number == "ACC-1000001"))
        latest = alice.bills[-1]
        latest.items.append(BillItem(line_id=alice.lines[0].id, category="roaming",
                                     description="Roaming day passes in United States x5",
                                     amount_pence=3000))
        latest.total_pence += 3000
        latest.paid_pence = latest.total_pence
        dev = self.session.scalar(select(Customer).where(Customer.account_number == "ACC-1000004"))
        dev.lines[0].esim = True
        self.session.add(PortRequest(
            reference=self.reference("PR"), customer_id=dev.id, line_id=None, direction="in",
            number=self.mobile_number(), code="KLM482913", status="scheduled",
            requested_at=datetime.combine(self.today - timedelta(days=1), time(11, 0)),
            expires_on=None, scheduled_on=self.today + timedelta(days=1)))
        self.session.add(AddonPurchase(
            confirmation=self.reference("ADD"), line_id=dev.lines[0].id, data_gb=5,
            price_pence=800, cycle_start=month_start(self.today),
            purchased_at=datetime.combine(self.today, time(8, 0))))


def has_customers(engine: Engine) -> bool:
    if not inspect(engine).has_table(Customer.__tablename__):
        return False
    with Session(engine) as session:
        return session.scalar(select(func.count(Customer.id))) > 0


def seed_database(engine: Engine, *, seed: int, customers: int, today: date) -> None:
    """Drop and recreate every table but the model registry, then fill them."""
    registry = {ModelVersion.__table__, ModelDeployment.__table__}
    Base.metadata.drop_all(engine, tables=[t for t in Base.metadata.sorted_tables if t not in registry])
    upgrade_schema(engine)
    with Session(engine) as session:
        Seeder(session, seed, today).run(customers)
        session.commit()
    ensure_demo_agent(engine)


def ensure_demo_agent(engine: Engine) -> None:
    """The demo console sign-in, when no agent exists yet (also for databases seeded before agents existed)."""
    upgrade_schema(engine)
    with Session(engine) as session:
        if session.scalar(select(func.count()).select_from(Agent)) == 0:
            session.add(Agent(username=DEMO_AGENT[0], display_name=DEMO_AGENT[1],
                              password_hash=hash_password(DEMO_AGENT[2])))
            session.commit()
