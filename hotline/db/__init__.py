"""Database engine and sessions, built from the settings' URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from hotline.settings import get_settings


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return create_engine(url)


# Tables of passing data (answers kept for reuse, sentences of a turn under way): when a newer
# version changed them, they are made afresh rather than migrated.
DISPOSABLE = ("answer_cache", "answer_drafts")


def upgrade_schema(engine: Engine) -> None:
    """Create missing tables and add columns that newer versions added (all nullable), so an
    existing database keeps its data across an upgrade."""
    from hotline.db.models import Base

    existing = inspect(engine)
    for name in DISPOSABLE:
        table = Base.metadata.tables[name]
        if existing.has_table(name) and {c.name for c in table.columns} - {c["name"] for c in existing.get_columns(name)}:
            table.drop(engine)
    Base.metadata.create_all(engine)
    existing = inspect(engine)
    with engine.begin() as connection:
        for table in Base.metadata.sorted_tables:
            present = {column["name"] for column in existing.get_columns(table.name)}
            for column in table.columns:
                if column.name not in present and column.nullable:
                    kind = column.type.compile(engine.dialect)
                    connection.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))


@lru_cache
def ensure_schema(url: str) -> None:
    """upgrade_schema once per process and database, for code that may run before any seeding."""
    upgrade_schema(make_engine(url))


@lru_cache
def _session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(make_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = _session_factory(url or get_settings().database_url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
