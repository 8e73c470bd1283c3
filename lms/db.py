"""Database plumbing: the declarative base, one engine per app, one session per app context.

Requests commit once, at the edge (see ``LMS._commit_at_edge``); service functions
only ``flush``. Outbox rows are written in the same transaction as the change that
caused them, so an email is never sent for work that was rolled back.
"""
from __future__ import annotations

from datetime import datetime, timezone

from contextlib import contextmanager

from flask import current_app, g, has_request_context, request
from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from .common import MAX_ID  # noqa: F401  (the id bound, re-exported)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TABLE_PREFIX = "lms_"



class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend.

    SQLite has no time zones; values are stored naive in UTC and come back aware, so
    comparisons in Python never mix naive and aware datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _configure_sqlite(engine: Engine) -> None:
    """WAL, a busy timeout, foreign keys; and let ``begin_immediate`` take the write lock.

    pysqlite's own transaction handling is switched off so that SQLAlchemy's BEGIN is
    the one sent; ``begin_immediate`` (used where a check-then-write must not race)
    asks for ``BEGIN IMMEDIATE`` through an execution option.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        immediate = bool(connection.get_execution_options().get("sqlite_immediate"))
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
        connection.info["lms_write_locked"] = immediate


def write_lock(session: Session) -> None:
    """Start the session's transaction as a writer, before its first read.

    On SQLite this is ``BEGIN IMMEDIATE``: the write lock is taken (waiting up to the
    busy timeout) before anything is read, so a check-then-write cannot be overtaken
    and never fails with "database is locked" when it upgrades a read snapshot. On
    PostgreSQL it is a plain transaction; lock rows with ``with_for_update()``.
    Call it first thing in a transaction.
    """
    session.connection(execution_options={"sqlite_immediate": True})


def holds_write_lock(session: Session) -> bool:
    """On SQLite, whether the session's transaction began as a writer (always true elsewhere)."""
    connection = session.connection()
    return connection.dialect.name != "sqlite" or bool(connection.info.get("lms_write_locked"))


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, future=True)


READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(write: bool = False) -> Session:
    """The session of the current app context, opened on first use.

    ``write=True`` asks for a writer (see ``write_lock``): code outside a request (the
    CLI, workers, tests) says so itself, before the session's first read. A request
    that may write (POST and the like) starts as a writer without asking, so that on
    SQLite it never fails halfway when another process wrote after it had read. A GET
    reads without taking the lock; the few things a GET writes go through ``writer()``.
    """
    session = g.get("lms_session")
    if session is None:
        session = g.lms_session = current_app.extensions["lms"].sessionmaker()
        write = write or (has_request_context() and request.method not in READ_ONLY_METHODS)
    if write and not g.get("lms_session_writes"):
        if session.in_transaction():
            raise RuntimeError("get_session(write=True) must come before the session's first read")
        write_lock(session)
        g.lms_session_writes = True
    return session


@contextmanager
def writer():
    """A session to write with, from anywhere in a request.

    In a request that already writes, it is the request's own session (committed at
    the edge with everything else). In a GET, it is a short transaction of its own,
    committed on leaving the block; the request's session then starts a fresh
    snapshot, so that it sees what was written.
    """
    if g.get("lms_session_writes"):
        yield get_session()
        return
    side = current_app.extensions["lms"].sessionmaker()
    try:
        with side.begin():
            write_lock(side)
            yield side
    finally:
        side.close()
    request_session = g.get("lms_session")
    if request_session is not None:
        request_session.commit()  # ends the read snapshot; a GET has nothing else to commit
        request_session.expire_all()


def close_session(_exc=None) -> None:
    session = g.pop("lms_session", None)
    if session is not None:
        session.close()
