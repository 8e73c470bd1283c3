"""Background jobs: one table, one worker, every kind of deferred work.

A change and the jobs it causes commit together: ``enqueue`` only adds a row to the
caller's session, so a rolled-back change leaves no job behind, and a committed one
always has its jobs. Mail is one kind (``lms.mail``); features add theirs with
``registry.add_job_kind`` (a ``JobKind``, periodic when it has ``every``) (workshop reminders,
later follow-up emails, xAPI statements, LTI score posts).

``flask --app wsgi lms worker`` claims due jobs one at a time and runs them:

* A claim is a short write transaction: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
  two workers never take the same row and never wait for each other; ``BEGIN
  IMMEDIATE`` on SQLite, where writers take turns. The claim sets a lease
  (``locked_until``) and counts the attempt. No transaction is open while the job runs,
  so a slow SMTP server never holds a database lock.
* A job that raises is put back with a growing delay (2, 4, 8 ... minutes, at most four
  hours) and the worker goes on with the next one: one bad job never blocks the
  others. After its kind's ``max_attempts`` (or at once for ``PermanentError``) it is
  marked failed and listed with its error on the secretariat's jobs page, where it can
  be retried or dropped.
* A worker killed mid-job leaves the row ``running`` with a lease in the past; the next
  claim takes it again. Handlers are therefore written to be safe to run twice (mail
  marks its message sent and skips a sent one; reminders mark each registration).

``--once`` runs what is due and exits, for cron.
"""
from __future__ import annotations

import enum
import json
import logging
import os
import socket
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import Index, String, Text, and_, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base, UTCDateTime, utcnow, write_lock

log = logging.getLogger("lms.jobs")

#: The longest wait between two tries of a failing job.
MAX_DELAY = timedelta(hours=4)
#: How many of the last characters of an error are kept on the job.
ERROR_LENGTH = 2000


class JobStatus(str, enum.Enum):
    PENDING = "pending"  # waiting for its run_at
    RUNNING = "running"  # claimed by a worker until locked_until
    DONE = "done"
    FAILED = "failed"  # gave up: listed on the jobs page
    DROPPED = "dropped"  # a person of the secretariat chose not to run it

    def __str__(self) -> str:
        return self.value


class Job(Base):
    __tablename__ = "lms_jobs"
    __table_args__ = (Index("ix_lms_jobs_due", "status", "run_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(80), index=True)
    #: JSON object: what the handler needs (ids, not copies of personal data)
    payload: Mapped[str] = mapped_column(Text, default="{}")
    status: Mapped[str] = mapped_column(String(10), default=JobStatus.PENDING.value)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(120))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Set (to the kind) while a periodic job waits or runs, and unique: at most one of
    #: each periodic kind is ever scheduled, however many workers start at once.
    singleton: Mapped[str | None] = mapped_column(String(80), unique=True)

    @property
    def data(self) -> dict:
        return json.loads(self.payload or "{}")


class PermanentError(Exception):
    """Raised by a handler when trying again cannot help: the job fails at once."""


@dataclass(frozen=True)
class JobKind:
    key: str
    #: callable(JobRun): does the work; raising puts the job back for a retry
    handler: Callable
    label: object = None  # a lazy string for the jobs page; the key when None
    #: how long a claim lasts: a worker silent for longer is presumed dead
    lease: timedelta = timedelta(minutes=10)
    max_attempts: int = 12
    #: for periodic kinds: how long after one run the next is due
    every: timedelta | None = None


def retry_delay(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed try: 2, 4, 8 ... minutes, at most four hours."""
    return min(timedelta(minutes=2 ** min(attempts, 16)), MAX_DELAY)


def enqueue(session: Session, kind: str, payload: dict | None = None, run_at: datetime | None = None) -> Job:
    """Add a job to ``session``: it is committed, or rolled back, with the caller's change."""
    job = Job(kind=kind, payload=json.dumps(payload or {}, sort_keys=True), status=JobStatus.PENDING.value,
              run_at=run_at or utcnow(), attempts=0)
    session.add(job)
    return job


@dataclass
class JobRun:
    """What a handler is given: its job's payload and the worker's shared resources."""

    job_id: int
    kind: str
    payload: dict
    attempt: int
    #: the worker's clock when the job started
    now: datetime
    app: object
    #: the app's settings, or the worker's own (a test's other SMTP port)
    config: dict
    sessionmaker: Callable
    _resources: ExitStack
    _opened: dict = field(default_factory=dict)

    def resource(self, key: str, factory: Callable):
        """A context manager entered once per batch and shared by its jobs (an SMTP
        connection for a run of emails). If opening it failed, every later job of the
        batch fails at once with the same error instead of trying again."""
        if key not in self._opened:
            try:
                self._opened[key] = self._resources.enter_context(factory())
            except Exception as exc:  # noqa: BLE001 - remembered and raised for each job
                self._opened[key] = exc
        value = self._opened[key]
        if isinstance(value, Exception):
            raise value
        return value


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Worker:
    """Claims and runs the due jobs of the kinds this app's registry knows.

    Jobs of kinds no handler is registered for (a feature another app has) are never
    claimed: they wait, visible on the jobs page."""

    app: object
    kinds: set[str] | None = None
    name: str = field(default_factory=worker_name)
    #: a fixed clock, for tests; None is the real one
    now: datetime | None = None
    #: settings the handlers read, when not the app's own
    config: dict | None = None
    stopping: bool = False

    def __post_init__(self):
        state = self.app.extensions["lms"]
        self.sessionmaker = state.sessionmaker
        self.registry_kinds: dict[str, JobKind] = state.registry.job_kinds
        known = set(self.registry_kinds)
        self.kinds = known if self.kinds is None else set(self.kinds) & known

    def clock(self) -> datetime:
        return self.now or utcnow()

    def run_due(self, limit: int | None = None) -> dict:
        """Run due jobs until none is left (or ``limit`` have run). Returns counts of
        jobs done, put back for a retry, and failed."""
        counts = {"done": 0, "retry": 0, "failed": 0}
        if not self.kinds:
            return counts
        self.schedule_periodic()
        with ExitStack() as resources:
            opened: dict = {}
            while not self.stopping and (limit is None or sum(counts.values()) < limit):
                claimed = self.claim()
                if claimed is None:
                    break
                outcome = self.execute(claimed, resources, opened)
                counts[outcome] += 1
        return counts

    def loop(self, poll: float = 5.0) -> None:
        """Run due jobs, then wait ``poll`` seconds, until ``stopping`` is set."""
        while not self.stopping:
            self.run_due()
            deadline = time.monotonic() + poll
            while not self.stopping and time.monotonic() < deadline:
                time.sleep(min(0.2, poll))

    # -- one job ---------------------------------------------------------------

    def _due(self, now: datetime):
        return and_(Job.kind.in_(sorted(self.kinds)), or_(
            and_(Job.status == JobStatus.PENDING.value, Job.run_at <= now),
            and_(Job.status == JobStatus.RUNNING.value, Job.locked_until < now),
        ))

    def claim(self) -> tuple[Job, JobKind] | None:
        while True:
            now = self.clock()
            # A plain read first: an idle worker looking every few seconds never takes
            # SQLite's write lock, which the web processes' writes would wait for.
            with self.sessionmaker() as session:
                if session.scalar(select(Job.id).where(self._due(now)).limit(1)) is None:
                    return None
            with self.sessionmaker() as session, session.begin():
                write_lock(session)
                job = session.scalars(
                    select(Job).where(self._due(now)).order_by(Job.run_at, Job.id).limit(1)
                    .with_for_update(skip_locked=True)
                ).first()
                if job is None:
                    return None
                kind = self.registry_kinds[job.kind]
                if job.status == JobStatus.RUNNING.value and job.attempts >= kind.max_attempts:
                    # Its worker stopped mid-job every time: do not start it again.
                    self._fail(job, job.last_error or "the worker stopped during the job (its lease ran out)", now)
                    self._next_period(session, job, kind, now)
                    continue
                job.status = JobStatus.RUNNING.value
                job.attempts += 1
                job.locked_by = self.name
                job.locked_until = now + kind.lease
                session.flush()
                session.expunge(job)
            return job, kind

    def execute(self, claimed: tuple[Job, JobKind], resources: ExitStack, opened: dict) -> str:
        job, kind = claimed
        config = self.config if self.config is not None else self.app.config
        run = JobRun(job.id, job.kind, job.data, job.attempts, self.clock(), self.app, config, self.sessionmaker, resources, opened)
        try:
            with self.app.app_context():  # handlers render mail and build links as in a request
                kind.handler(run)
        except Exception as exc:  # noqa: BLE001 - any failure of one job is that job's alone
            log.warning("job %s (%s) failed on try %s: %s", job.id, job.kind, job.attempts, exc,
                        exc_info=not isinstance(exc, PermanentError))
            return self.finish(job, kind, error=exc)
        return self.finish(job, kind)

    def finish(self, job: Job, kind: JobKind, error: Exception | None = None) -> str:
        now = self.clock()
        with self.sessionmaker() as session, session.begin():
            write_lock(session)
            row = session.scalars(
                select(Job).where(Job.id == job.id, Job.status == JobStatus.RUNNING.value,
                                  Job.locked_by == self.name).with_for_update()
            ).first()
            if row is None:
                # The lease ran out and another worker took the job over: it reports.
                log.warning("job %s (%s) was taken over by another worker", job.id, job.kind)
                return "retry"
            row.locked_by = row.locked_until = None
            if error is None:
                row.status, row.finished_at = JobStatus.DONE.value, now
                self._next_period(session, row, kind, now)
                return "done"
            row.last_error = describe(error)
            if isinstance(error, PermanentError) or row.attempts >= kind.max_attempts:
                self._fail(row, row.last_error, now)
                self._next_period(session, row, kind, now)
                return "failed"
            row.status, row.run_at = JobStatus.PENDING.value, now + retry_delay(row.attempts)
            return "retry"

    @staticmethod
    def _fail(job: Job, error: str, now: datetime) -> None:
        job.status, job.last_error, job.finished_at = JobStatus.FAILED.value, error, now
        job.locked_by = job.locked_until = None

    # -- periodic jobs -----------------------------------------------------------

    @staticmethod
    def _next_period(session: Session, job: Job, kind: JobKind, now: datetime) -> None:
        """A periodic job that ended hands its place to the next run."""
        if kind.every is None or job.singleton is None:
            return
        job.singleton = None
        session.flush()
        nxt = enqueue(session, kind.key, run_at=now + kind.every)
        nxt.singleton = kind.key

    def schedule_periodic(self) -> None:
        """Make sure each periodic kind has one job waiting (the unique ``singleton``
        column turns a second worker's insert into a no-op)."""
        periodic = [k for k in self.kinds if self.registry_kinds[k].every is not None]
        if not periodic:
            return
        with self.sessionmaker() as session:
            present = set(session.scalars(select(Job.singleton).where(Job.singleton.in_(periodic))))
        for key in sorted(set(periodic) - present):
            try:
                with self.sessionmaker() as session, session.begin():
                    write_lock(session)
                    enqueue(session, key, run_at=self.clock()).singleton = key
            except IntegrityError:
                pass  # another worker scheduled it first


def describe(error: Exception) -> str:
    text = f"{type(error).__name__}: {error}".strip()
    return text[-ERROR_LENGTH:]


# -- what the secretariat does on the jobs page ---------------------------------


def retry_job(session: Session, job: Job) -> None:
    """Run a failed or dropped job again, now, with a fresh count of tries."""
    if job.status not in (JobStatus.FAILED.value, JobStatus.DROPPED.value, JobStatus.PENDING.value):
        raise ValueError(job.status)
    job.status, job.run_at, job.attempts, job.finished_at = JobStatus.PENDING.value, utcnow(), 0, None


def drop_job(session: Session, job: Job) -> None:
    """Give up a job that waits or failed; it stays on the page, marked dropped."""
    if job.status not in (JobStatus.FAILED.value, JobStatus.PENDING.value):
        raise ValueError(job.status)
    job.status, job.finished_at, job.singleton = JobStatus.DROPPED.value, utcnow(), None


def prune_jobs(run: JobRun) -> None:
    """Delete jobs that finished more than ``LMS_JOBS_KEEP_DAYS`` ago (failed and
    dropped ones stay until someone acts on them)."""
    days = int(run.config.get("LMS_JOBS_KEEP_DAYS", 30))
    with run.sessionmaker() as session, session.begin():
        write_lock(session)
        session.execute(delete(Job).where(Job.status == JobStatus.DONE.value,
                                          Job.finished_at < utcnow() - timedelta(days=days),
                                          Job.singleton.is_(None)))


def register_core_jobs(registry) -> None:
    from flask_babel import lazy_gettext as _l

    from .accounts.jobs import register_account_jobs
    from .mail import deliver_message

    registry.add_job_kind(JobKind("mail", deliver_message, label=_l("Email"), lease=timedelta(minutes=5)))
    registry.add_job_kind(JobKind("lms.prune_jobs", prune_jobs, label=_l("Clearing finished jobs"),
                                     max_attempts=3, every=timedelta(days=1)))
    register_account_jobs(registry)
