"""Contact-centre agents: passwords (scrypt) and sign-in sessions (random tokens, stored hashed).

Failed sign-ins are counted in the database per username and client address, and per client
address: guessing from one address locks that address out, never the agent signing in from
another, and `hotline agent unlock` clears a username's failures.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select

from hotline import clock
from hotline.db import session_scope
from hotline.db.models import Agent, AgentSession, SignInFailure
from hotline.pseudonyms import pseudonym

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
SIGN_IN_WINDOW = timedelta(minutes=5)  # failures count this long
USERNAME_FAILURES = 5  # for one username from one address, then that pair waits
CLIENT_FAILURES = 20  # from one address across usernames, then that address waits


class SignInLocked(Exception):
    """Too many recent failures for this username from this address, or from this address."""


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


def _username_key(username: str) -> str:
    return pseudonym("agent:" + username.strip().lower())


def _record_attempt(database_url: str, username_key: str, client: str) -> bool:
    """Count the attempt as a failure before its password is checked (a success deletes it), so
    guesses sent in parallel all count; True when it is over a limit."""
    now = clock.now()
    with session_scope(database_url) as session:
        session.execute(delete(SignInFailure).where(SignInFailure.failed_at <= now - SIGN_IN_WINDOW))
        session.add(SignInFailure(username_key=username_key, client_key=client, failed_at=now))
    with session_scope(database_url) as session:
        from_client = select(func.count()).select_from(SignInFailure).where(
            SignInFailure.client_key == client, SignInFailure.failed_at > now - SIGN_IN_WINDOW)
        pair = session.scalar(from_client.where(SignInFailure.username_key == username_key))
        return pair > USERNAME_FAILURES or session.scalar(from_client) > CLIENT_FAILURES


def sign_in(database_url: str, username: str, password: str, hours: float, client: str) -> str | None:
    """A new session token when the password is right, else None (same work either way).

    `client` is a pseudonym of the address the attempt came from; raises SignInLocked, without
    checking the password, after too many failures from it.
    """
    username_key = _username_key(username)
    if _record_attempt(database_url, username_key, client):
        raise SignInLocked
    with session_scope(database_url) as session:
        agent = session.scalar(select(Agent).where(Agent.username == username))
        stored = agent.password_hash if agent else hash_password(secrets.token_hex(8))
        if not password_matches(password, stored) or agent is None:
            return None
        session.execute(delete(SignInFailure).where(SignInFailure.username_key == username_key,
                                                    SignInFailure.client_key == client))
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


def unlock(database_url: str, username: str | None) -> int:
    """Clear a username's failed sign-ins from every address (None: everyone's); how many were cleared."""
    with session_scope(database_url) as session:
        failures = delete(SignInFailure)
        if username is not None:
            failures = failures.where(SignInFailure.username_key == _username_key(username))
        return session.execute(failures).rowcount
