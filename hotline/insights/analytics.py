"""Contact-centre figures from finished conversations and their summaries.

Counted: conversations whose transcript has at least one customer message (a web page
opened and left is not a conversation). Containment is resolved without a person: not
handed off, and judged resolved. Handling time runs from the first to the last event.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.db.models import Conversation, ConversationSummary, Transcript
from hotline.insights.taxonomy import SENTIMENT_SCORE

CHANNELS = ("web", "voice", "sms")
TOP = 8


@dataclass
class ConversationFacts:
    id: str
    channel: str
    started_at: datetime
    ended_at: datetime
    customer_turns: int
    handoff: bool
    verified: bool
    summary_status: str | None
    resolved: bool | None
    primary_intent: str | None
    topics: list[str]
    sentiment_start: str | None
    sentiment_end: str | None

    @property
    def handling_seconds(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()

    @property
    def contained(self) -> bool:
        return not self.handoff and self.resolved is True


def load_facts(session: Session, since: date, until: date) -> list[ConversationFacts]:
    rows = session.execute(
        select(Conversation, Transcript, ConversationSummary)
        .join(Transcript, Transcript.conversation_id == Conversation.id)
        .outerjoin(ConversationSummary, ConversationSummary.conversation_id == Conversation.id)
        .where(Transcript.turn_count > 0, Conversation.started_at >= datetime.combine(since, datetime.min.time()),
               Conversation.started_at < datetime.combine(until + timedelta(days=1), datetime.min.time()))
        .order_by(Conversation.started_at)).all()
    facts = []
    for conversation, transcript, summary in rows:
        ok = summary is not None and summary.status == "ok"
        facts.append(ConversationFacts(
            conversation.id, conversation.channel, transcript.started_at, transcript.ended_at, transcript.turn_count,
            transcript.handoff, transcript.verified, summary.status if summary else None,
            summary.resolved if ok else None, summary.primary_intent if ok else None,
            list(summary.topics) if ok else [], summary.sentiment_start if ok else None,
            summary.sentiment_end if ok else None))
    return facts


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 3) if values else None


def build_report(facts: list[ConversationFacts], since: date, until: date) -> dict:
    days = [since + timedelta(days=n) for n in range((until - since).days + 1)]
    by_day = {day: [f for f in facts if f.started_at.date() == day] for day in days}
    intents = Counter(f.primary_intent for f in facts if f.primary_intent)
    topics = Counter(topic for f in facts for topic in f.topics)
    summarised = [f for f in facts if f.resolved is not None]

    def series(label_of, labels):
        return {label: [sum(label in label_of(f) for f in by_day[day]) for day in days] for label in labels}

    total = len(facts)
    return {
        "from": since.isoformat(), "to": until.isoformat(), "days": [day.isoformat() for day in days],
        "totals": {
            "conversations": total,
            "by_channel": {channel: sum(f.channel == channel for f in facts) for channel in CHANNELS},
            "contained": sum(f.contained for f in facts),
            "escalated": sum(f.handoff for f in facts),
            "containment_rate": _share(sum(f.contained for f in facts), total),
            "escalation_rate": _share(sum(f.handoff for f in facts), total),
            "resolution_rate": _share(sum(bool(f.resolved) for f in summarised), len(summarised)),
            "average_handling_seconds": _mean([f.handling_seconds for f in facts]),
            "summaries_missing": total - len(summarised),
        },
        "per_day": {channel: [sum(f.channel == channel for f in by_day[day]) for day in days] for channel in CHANNELS},
        "top_intents": [{"intent": name, "count": count} for name, count in intents.most_common(TOP)],
        "top_topics": [{"topic": name, "count": count} for name, count in topics.most_common(TOP)],
        "intents_per_day": series(lambda f: [f.primary_intent], [name for name, _ in intents.most_common(5)]),
        "topics_per_day": series(lambda f: f.topics, [name for name, _ in topics.most_common(5)]),
        "sentiment_per_day": {
            moment: [_mean([SENTIMENT_SCORE[getattr(f, f"sentiment_{moment}")] for f in by_day[day]
                            if getattr(f, f"sentiment_{moment}")]) for day in days]
            for moment in ("start", "end")},
        "handling_seconds_per_day": [_mean([f.handling_seconds for f in by_day[day]]) for day in days],
    }


def facts_csv(facts: list[ConversationFacts]) -> str:
    """One row per conversation; no transcript text, only labels."""
    out = io.StringIO()
    fields = [*asdict(facts[0]).keys(), "handling_seconds", "contained"] if facts else ["id"]
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    for fact in facts:
        row = asdict(fact)
        row.update(topics="; ".join(fact.topics), started_at=fact.started_at.isoformat(timespec="seconds"),
                   ended_at=fact.ended_at.isoformat(timespec="seconds"),
                   handling_seconds=round(fact.handling_seconds), contained=fact.contained)
        writer.writerow(row)
    return out.getvalue()
