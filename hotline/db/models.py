"""Customer database: the operator's records the assistant reads and changes.

Money is stored in pence (integers) so sums never drift.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Plan(Base):
    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # mobile | broadband
    monthly_price_pence: Mapped[int]
    data_gb: Mapped[int | None]  # None: unlimited (mobile) or not applicable
    minutes: Mapped[int | None]  # None: unlimited
    speed_mbps: Mapped[int | None]
    five_g: Mapped[bool] = mapped_column(default=False)
    eu_roaming_included: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str] = mapped_column(String(255))


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_number: Mapped[str] = mapped_column(String(16), unique=True, index=True)
    first_name: Mapped[str] = mapped_column(String(64))
    last_name: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(128))
    date_of_birth: Mapped[date]
    pin_hash: Mapped[str] = mapped_column(String(128))
    address_line: Mapped[str] = mapped_column(String(128))
    city: Mapped[str] = mapped_column(String(64))
    postcode: Mapped[str] = mapped_column(String(16))
    autopay: Mapped[bool] = mapped_column(default=False)
    created_on: Mapped[date]

    lines: Mapped[list[Line]] = relationship(back_populates="customer", order_by="Line.id")
    cards: Mapped[list[PaymentCard]] = relationship(
        back_populates="customer", order_by="PaymentCard.id"
    )
    bills: Mapped[list[Bill]] = relationship(
        back_populates="customer", order_by="Bill.period_start"
    )


class PaymentCard(Base):
    __tablename__ = "payment_cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    brand: Mapped[str] = mapped_column(String(16))
    last4: Mapped[str] = mapped_column(String(4))
    expiry: Mapped[date]
    customer: Mapped[Customer] = relationship(back_populates="cards")


class Line(Base):
    """A mobile number or a home broadband service on an account."""

    __tablename__ = "lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # mobile | broadband
    number: Mapped[str] = mapped_column(String(20), unique=True, index=True)
    iccid: Mapped[str | None] = mapped_column(String(22))
    imei: Mapped[str | None] = mapped_column(String(15))
    puk: Mapped[str | None] = mapped_column(String(8))
    esim: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | suspended | ported_out
    suspended_reason: Mapped[str | None] = mapped_column(String(64))
    customer: Mapped[Customer] = relationship(back_populates="lines")
    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="line", order_by="Subscription.started_on"
    )
    roaming: Mapped[RoamingSetting | None] = relationship(back_populates="line")


class Subscription(Base):
    """Which plan a line is on, and from when; a future row is a scheduled change."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    started_on: Mapped[date]
    ended_on: Mapped[date | None]
    line: Mapped[Line] = relationship(back_populates="subscriptions")
    plan: Mapped[Plan] = relationship()


class PlanChange(Base):
    __tablename__ = "plan_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    confirmation: Mapped[str] = mapped_column(String(16), unique=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id"), index=True)
    from_plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    to_plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    requested_at: Mapped[datetime]
    effective_on: Mapped[date]
    proration_pence: Mapped[int]


class Bill(Base):
    __tablename__ = "bills"
    __table_args__ = (UniqueConstraint("customer_id", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    period_start: Mapped[date]
    period_end: Mapped[date]
    issued_on: Mapped[date]
    due_on: Mapped[date]
    total_pence: Mapped[int]
    paid_pence: Mapped[int] = mapped_column(default=0)
    customer: Mapped[Customer] = relationship(back_populates="bills")
    items: Mapped[list[BillItem]] = relationship(back_populates="bill", order_by="BillItem.id")

    @property
    def outstanding_pence(self) -> int:
        return self.total_pence - self.paid_pence


class BillItem(Base):
    __tablename__ = "bill_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id"), index=True)
    line_id: Mapped[int | None] = mapped_column(ForeignKey("lines.id"))
    # plan | addon | roaming | international | late_fee | proration | device | discount
    category: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(128))
    amount_pence: Mapped[int]
    bill: Mapped[Bill] = relationship(back_populates="items")


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    confirmation: Mapped[str] = mapped_column(String(16), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    card_id: Mapped[int | None] = mapped_column(ForeignKey("payment_cards.id"))
    amount_pence: Mapped[int]
    paid_at: Mapped[datetime]
    card: Mapped[PaymentCard | None] = relationship()


class UsageRecord(Base):
    """Usage of one line in one billing cycle (cycles start on the 1st)."""

    __tablename__ = "usage_records"
    __table_args__ = (UniqueConstraint("line_id", "cycle_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id"), index=True)
    cycle_start: Mapped[date]
    data_used_mb: Mapped[int]
    minutes_used: Mapped[int]
    texts_used: Mapped[int]


class AddonPurchase(Base):
    __tablename__ = "addon_purchases"

    id: Mapped[int] = mapped_column(primary_key=True)
    confirmation: Mapped[str] = mapped_column(String(16), unique=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id"), index=True)
    data_gb: Mapped[int]
    price_pence: Mapped[int]
    cycle_start: Mapped[date]
    purchased_at: Mapped[datetime]


class RoamingSetting(Base):
    __tablename__ = "roaming_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id"), unique=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime]
    line: Mapped[Line] = relationship(back_populates="roaming")


class RoamingRate(Base):
    __tablename__ = "roaming_rates"

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str] = mapped_column(String(64), unique=True)
    zone: Mapped[str] = mapped_column(String(16))  # europe | world1 | world2
    aliases: Mapped[str] = mapped_column(String(255), default="")  # lower-case, comma-separated
    day_pass_pence: Mapped[int]
    per_mb_pence: Mapped[int]
    per_minute_pence: Mapped[int]
    per_text_pence: Mapped[int]


class SimOrder(Base):
    __tablename__ = "sim_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # physical | esim
    new_iccid: Mapped[str] = mapped_column(String(22))
    activation_code: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # dispatched | ready
    created_at: Mapped[datetime]


class TroubleTicket(Base):
    __tablename__ = "trouble_tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True, index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    line_id: Mapped[int | None] = mapped_column(ForeignKey("lines.id"))
    category: Mapped[str] = mapped_column(String(32))  # mobile_data | home_internet | complaint | other
    summary: Mapped[str] = mapped_column(String(255))
    steps_tried: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16))  # open | in_progress | resolved
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    estimated_fix_on: Mapped[date | None]


class PortRequest(Base):
    __tablename__ = "port_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    line_id: Mapped[int | None] = mapped_column(ForeignKey("lines.id"))
    direction: Mapped[str] = mapped_column(String(4))  # in | out
    number: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(16))  # PAC for port-out
    status: Mapped[str] = mapped_column(String(16))  # requested | scheduled | completed
    requested_at: Mapped[datetime]
    expires_on: Mapped[date | None]  # a PAC's last valid day
    scheduled_on: Mapped[date | None]  # the day a port-in switches over


class Outage(Base):
    __tablename__ = "outages"

    id: Mapped[int] = mapped_column(primary_key=True)
    area: Mapped[str] = mapped_column(String(64), index=True)
    postcode_district: Mapped[str] = mapped_column(String(8), index=True)
    service: Mapped[str] = mapped_column(String(16))  # mobile | broadband
    summary: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime]
    estimated_fix_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class Conversation(Base):
    """A conversation as the channels see it: web chat session, phone call or SMS thread.

    The id is what Rasa knows the conversation by; it never contains the caller's number.
    """

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))  # web | voice | sms
    started_at: Mapped[datetime]
    last_activity_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    handoff: Mapped[bool] = mapped_column(default=False)
    handoff_reason: Mapped[str | None] = mapped_column(String(200))
    raw_redacted_at: Mapped[datetime | None]  # when its raw events in the tracker store were redacted


class AnswerDraft(Base):
    """A checked sentence of an answer still being written, for the channel to show or say at
    once; the channel deletes its conversation's drafts when the turn is over (the tracker
    keeps the whole answer)."""

    __tablename__ = "answer_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(64), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class CachedAnswer(Base):
    """A help answer kept for questions that mean the same (knowledge/cache.py). The key names the
    model, the channel style and the best passage; `sources` the passages the answer drew on."""

    __tablename__ = "answer_cache"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    sources: Mapped[list] = mapped_column(JSON)  # passage id:text-hash
    vector: Mapped[bytes]  # the question's normalised embedding, float32
    terms: Mapped[list] = mapped_column(JSON)  # names and numbers the question turns on
    answer: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime]
    used_at: Mapped[datetime]
    hits: Mapped[int] = mapped_column(default=0)


class ChatKey(Base):
    """Binds a web-chat session to the browser that opened it: the hash of a key only its cookie holds."""

    __tablename__ = "chat_keys"

    conversation_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64))


class VerificationFailure(Base):
    """A failed identity check, counted against the account, phone number and client address
    it came from (pseudonymous keys such as "account:17" or "client:3f2a..."), across conversations."""

    __tablename__ = "verification_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), index=True)
    failed_at: Mapped[datetime] = mapped_column(index=True)


class VerifiedConversation(Base):
    """The server's own record that a conversation passed verification: account actions trust
    this, never the slots of the tracker they are sent."""

    __tablename__ = "verified_conversations"

    conversation_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    expires_at: Mapped[datetime]


class Handoff(Base):
    """A conversation handed to a person: who took it over, and whether it went back to the assistant."""

    __tablename__ = "handoffs"

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime]
    agent: Mapped[str | None] = mapped_column(String(64))  # the agent's username while they hold it
    taken_over_at: Mapped[datetime | None]
    handed_back_at: Mapped[datetime | None]


class Transcript(Base):
    """A finished conversation with personal data replaced by labels like <PERSON>."""

    __tablename__ = "transcripts"

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    turn_count: Mapped[int]  # customer turns
    handoff: Mapped[bool]
    verified: Mapped[bool]
    turns: Mapped[list] = mapped_column(JSON)  # [{"role", "text", "at", "intent"}], redacted


class ConversationSummary(Base):
    """What the local model extracted from a transcript, or why it could not."""

    __tablename__ = "conversation_summaries"

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(8))  # ok | failed
    summary: Mapped[str | None] = mapped_column(Text)
    primary_intent: Mapped[str | None] = mapped_column(String(32))
    secondary_intents: Mapped[list] = mapped_column(JSON, default=list)
    topics: Mapped[list] = mapped_column(JSON, default=list)
    sentiment_start: Mapped[str | None] = mapped_column(String(8))
    sentiment_end: Mapped[str | None] = mapped_column(String(8))
    resolved: Mapped[bool | None]
    follow_up_actions: Mapped[list] = mapped_column(JSON, default=list)
    attempts: Mapped[int]
    error: Mapped[str | None] = mapped_column(Text)
    seconds: Mapped[float]
    created_at: Mapped[datetime]
    model_id: Mapped[str | None] = mapped_column(String(96))  # the model that wrote it


class PostConversationJob(Base):
    """Durable queue entry: a finished conversation waiting for its transcript and summary.

    Written in the same transaction that ends the conversation, so no ending is lost;
    a worker that dies mid-job leaves a lease that expires and another worker retries.
    """

    __tablename__ = "post_conversation_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), unique=True)
    status: Mapped[str] = mapped_column(String(8), index=True)  # pending | running | done | failed
    attempts: Mapped[int] = mapped_column(default=0)
    available_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class Agent(Base):
    """A contact-centre agent who can sign in to the console."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))


class AgentSession(Base):
    """A signed-in console session; only the token's hash is stored."""

    __tablename__ = "agent_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    expires_at: Mapped[datetime]


class TwilioRequest(Base):
    """A Twilio webhook already acted on, so a replayed (or retried) one is not acted on again:
    an SMS by its MessageSid, a call's turn by its CallSid and turn number (0: the call coming in).
    A turn keeps the TwiML it was answered with while the call lasts, for its replays."""

    __tablename__ = "twilio_requests"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # 0 for an SMS
    response: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]


class SignInFailure(Base):
    """A console sign-in that has not succeeded, by keyed hashes of the username and the client
    address (a mistyped password often lands in the username box). Written before the password
    is checked, so guesses sent in parallel count too; a success deletes its own pair's rows."""

    __tablename__ = "sign_in_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    username_key: Mapped[str] = mapped_column(String(32), index=True)
    client_key: Mapped[str] = mapped_column(String(32), index=True)
    failed_at: Mapped[datetime] = mapped_column(index=True)


class ModelVersion(Base):
    """A model the assistant can serve for one task: a base GGUF, optionally a LoRA adapter
    on it, and everything needed to trust it (data, recipe, gate metrics)."""

    __tablename__ = "model_versions"

    id: Mapped[str] = mapped_column(String(96), primary_key=True)
    task: Mapped[str] = mapped_column(String(16), index=True)  # answer | summary
    base: Mapped[str] = mapped_column(String(48))  # a packaged base model's name
    base_sha256: Mapped[str] = mapped_column(String(64))
    adapter_path: Mapped[str | None] = mapped_column(String(400))
    adapter_sha256: Mapped[str | None] = mapped_column(String(64))
    worked_example: Mapped[bool] = mapped_column(default=True)  # tuned models are prompted without it
    data_fingerprint: Mapped[str | None] = mapped_column(String(32))
    recipe: Mapped[dict] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    gate_passed: Mapped[bool | None]
    status: Mapped[str] = mapped_column(String(12), default="candidate")  # candidate | champion | retired
    created_at: Mapped[datetime]
    deployed_at: Mapped[datetime | None]


class ModelDeployment(Base):
    """Every deploy and rollback, newest last: rollback walks back along it."""

    __tablename__ = "model_deployments"

    id: Mapped[int] = mapped_column(primary_key=True)
    task: Mapped[str] = mapped_column(String(16), index=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("model_versions.id"))
    previous_id: Mapped[str | None] = mapped_column(String(96))
    action: Mapped[str] = mapped_column(String(8))  # deploy | rollback
    forced: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]
