"""Contact-centre agents: passwords (scrypt) and sign-in sessions (random tokens, stored hashed)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select

from hotline import clock
from hotline.db import session_scope
from hotline.db.models import Agent, AgentSession

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    _, salt, digest = stored.split("$")
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), **_SCRYPT)
    return hmac.compare_digest(candidate.hex(), digest)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SignedInAgent:
    username: str
    display_name: str


def save_agent(database_url: str, username: str, display_name: str, password: str) -> None:
    if len(password) < 8:
        raise ValueError("Agent passwords need at least 8 characters.")
    with session_scope(database_url) as session:
        agent = session.scalar(select(Agent).where(Agent.username == username))
        if agent is None:
            agent = Agent(username=username)
            session.add(agent)
        agent.display_name, agent.password_hash = display_name, hash_password(password)


def sign_in(database_url: str, username: str, password: str, hours: float) -> str | None:
    """A new session token when the password is right, else None (same work either way)."""
    with session_scope(database_url) as session:
        agent = session.scalar(select(Agent).where(Agent.username == username))
        stored = agent.password_hash if agent else hash_password(secrets.token_hex(8))
        if not password_matches(password, stored) or agent is None:
            return None
        token = secrets.token_urlsafe(32)
        session.execute(delete(AgentSession).where(AgentSession.expires_at < clock.now()))
        session.add(AgentSession(token_hash=_token_hash(token), agent_id=agent.id,
                                 expires_at=clock.now() + timedelta(hours=hours)))
        return token


def signed_in_agent(database_url: str, token: str | None) -> SignedInAgent | None:
    if not token:
        return None
    with session_scope(database_url) as session:
        row = session.get(AgentSession, _token_hash(token))
        if row is None or row.expires_at < clock.now():
            return None
        agent = session.get(Agent, row.agent_id)
        return SignedInAgent(agent.username, agent.display_name)


def sign_out(database_url: str, token: str) -> None:
    with session_scope(database_url) as session:
        session.execute(delete(AgentSession).where(AgentSession.token_hash == _token_hash(token)))
