"""The workshops' part of ``lms demo --scale large`` (see ``lms.demo_large``): exactly
``runs`` runs of the series in the database, hosted mostly by employers' organisations,
with their sessions (past ones with attendance taken, some upcoming), exactly
``registrations`` registrations (confirmed, waitlisted, pending, rejected, cancelled)
with their snapshots, attendance, evaluations, and workshop completion records.

It runs before the courses and takes about a quarter of the completion records, as
far as attendance allows: a completion is a confirmed participant who attended every
session of a run whose attendance was taken; the other participants miss a session.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from lms.demo_large import LargeDemo, LargeDemoError
from lms.records.models import CompletionRecord

from .models import (
    CHECKIN_ALPHABET, STAKEHOLDER_CATEGORIES, Attendance, Evaluation, Registration, RegistrationStatus, RunSession,
    RunStatus, WorkshopRun, WorkshopSeries,
)

WORKSHOP_SHARE = 0.25
HOST_WEIGHTS = {"employers_organisation": 10, "business_association": 4, "large_enterprise": 2, "ngo": 2,
                "un_agency": 2, "trade_union": 1, "government": 1, "academic": 1, "sme": 0.02}
CATEGORY_WEIGHTS = {"supplier": 40, "buyer": 12, "employers_organisation": 12, "worker_advocate": 6,
                    "government": 5, "trade_union": 5, "academic": 3, "technology_provider": 3,
                    "donor_investor": 2, "survivor": 1, "other": 6}
assert set(CATEGORY_WEIGHTS) <= set(STAKEHOLDER_CATEGORIES)
CANCELLED_RUNS = 0.02
CANCELLED_REGISTRATIONS = 0.08


@dataclass(eq=False)
class _Run:
    series: WorkshopSeries
    host: object
    language: str
    sessions: list  # (title, starts_at, ends_at, attendance_taken_at or None)
    cancelled_at: datetime | None
    row: dict
    registrations: list = field(default_factory=list)  # (person, row)
    session_ids: list = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.cancelled_at is None and all(s[3] is not None for s in self.sessions)


class _Pools:
    """People to draw registrants from: a host's members, a country's people, everyone;
    each kept in joining order so that "joined by then" is a prefix."""

    def __init__(self, ctx: LargeDemo):
        self.ctx = ctx
        self.by_org: dict[int, list] = {}
        self.by_country: dict[str, list] = {}
        for person in ctx.people:
            self.by_org.setdefault(person.org.id, []).append(person)
            self.by_country.setdefault(person.country, []).append(person)
        self.children: dict[int, list] = {}
        for org in ctx.orgs:
            if org.parent is not None:
                self.children.setdefault(org.parent.id, []).append(org.id)
        self._members: dict[int, tuple] = {}
        self._country: dict[str, tuple] = {}
        self.everyone = (ctx.people, ctx._joined)

    @staticmethod
    def _pool(people: list) -> tuple:
        people = sorted(people, key=lambda p: p.index)
        return people, [p.joined_at for p in people]

    def members(self, host_id: int) -> tuple:
        if host_id not in self._members:
            people = list(self.by_org.get(host_id, ()))
            for child in self.children.get(host_id, ()):
                people += self.by_org.get(child, ())
            self._members[host_id] = self._pool(people)
        return self._members[host_id]

    def country(self, code: str) -> tuple:
        if code not in self._country:
            self._country[code] = self._pool(self.by_country.get(code, ()))
        return self._country[code]

    def pick(self, pools: list[tuple], moment: datetime, taken: set):
        """A person not in ``taken`` who had joined by ``moment``, from the first pool that
        has one; failing that, anyone not taken (with the moment moved after they joined)."""
        rng = self.ctx.rng
        for people, joined in pools:
            k = bisect.bisect_right(joined, moment)
            for _ in range(6 if k else 0):
                person = people[rng.randrange(k)]
                if person.index not in taken:
                    return person, moment
        for person in self.ctx.people:
            if person.index not in taken:
                return person, max(moment, person.joined_at + timedelta(hours=1))
        raise LargeDemoError("Not enough people for the registrations asked for.")


def _series(session) -> list[WorkshopSeries]:
    return list(session.scalars(select(WorkshopSeries).options(selectinload(WorkshopSeries.sessions))
                                .order_by(WorkshopSeries.id)))


def _local(day: datetime, hour: int, tz: str) -> datetime:
    local = datetime(day.year, day.month, day.day, hour, 0, tzinfo=ZoneInfo(tz))
    return local.astimezone(timezone.utc)


def _allocate(ctx: LargeDemo, total: int, n: int, cap: int) -> list[int]:
    """``total`` split over ``n`` runs, at most ``cap`` each, unevenly (largest remainders)."""
    weights = [ctx.rng.uniform(0.3, 1.7) for _ in range(n)]
    raw = [total * w / sum(weights) for w in weights]
    counts = [min(cap, int(x)) for x in raw]
    order = sorted(range(n), key=lambda i: int(raw[i]) - raw[i])
    left = total - sum(counts)
    while left:
        for i in order:
            if left and counts[i] < cap:
                counts[i] += 1
                left -= 1
    return counts


def generate_large_demo(ctx: LargeDemo) -> None:
    rng, now = ctx.rng, ctx.now
    n_runs, n_registrations = ctx.targets.runs, ctx.targets.registrations
    if not n_runs:
        return
    series = _series(ctx.session)
    if not series:
        raise LargeDemoError("No workshop series in the database: run `flask --app wsgi lms init` first "
                             "(it imports the starter series).")
    hosts = ctx.orgs
    host_weights = [HOST_WEIGHTS.get(o.kind, 1) for o in hosts]
    series_weights = [3 if s.audience == "sme" else 1 for s in series]
    pools = _Pools(ctx)

    runs: list[_Run] = []
    for count in _allocate(ctx, n_registrations, n_runs, len(ctx.people)):
        runs.append(_plan_run(ctx, rng.choices(series, series_weights)[0], rng.choices(hosts, host_weights)[0],
                              count, pools))

    run_ids = ctx.insert(WorkshopRun, [r.row for r in runs], "Workshop runs", returning=True)
    session_rows = []
    for run, run_id in zip(runs, run_ids):
        run.row["id"] = run_id
        session_rows += [{"run_id": run_id, "title": title, "starts_at": starts, "ends_at": ends,
                          "attendance_taken_at": taken} for title, starts, ends, taken in run.sessions]
    session_ids = iter(ctx.insert(RunSession, session_rows, "Run sessions", returning=True))
    registration_rows = []
    for run in runs:
        run.session_ids = [next(session_ids) for _ in run.sessions]
        for _person, row in run.registrations:
            row["run_id"] = run.row["id"]
            registration_rows.append(row)
    registration_ids = iter(ctx.insert(Registration, registration_rows, "Registrations", returning=True))
    for run in runs:
        for _person, row in run.registrations:
            row["id"] = next(registration_ids)

    # Who completes: exactly the claimed number of confirmed participants of finished runs.
    finishable = [(run, person, row) for run in runs if run.finished
                  for person, row in run.registrations if row["status"] == RegistrationStatus.CONFIRMED]
    claimed = ctx.take_records(min(round(ctx.targets.records * WORKSHOP_SHARE), len(finishable)))
    completing = set(rng.sample(range(len(finishable)), claimed))
    completes = {finishable[i][2]["id"] for i in completing}

    attendance, evaluations, records = [], [], []
    for run in runs:
        if run.cancelled_at is not None:
            continue
        taken = [(sid, s) for sid, s in zip(run.session_ids, run.sessions) if s[3] is not None]
        if not taken:
            continue
        manager = run.host.manager_id
        for person, row in run.registrations:
            if row["status"] != RegistrationStatus.CONFIRMED:
                continue
            if row["id"] in completes:
                present = taken
            elif run.finished:
                present = [] if len(taken) == 1 or rng.random() < 0.12 else [t for t in taken if rng.random() < 0.7]
                if len(present) == len(taken):
                    present.pop(rng.randrange(len(present)))
            else:
                present = [t for t in taken if rng.random() < 0.85]
            for sid, (_title, starts, _ends, taken_at) in present:
                method = rng.choices(("roster", "qr", "self"), (6, 3, 1))[0]
                attendance.append({
                    "registration_id": row["id"], "session_id": sid, "method": method,
                    # Never before the session starts (attendance is refused until then).
                    "checked_in_at": taken_at if method == "roster" else starts + timedelta(minutes=max(0, rng.randint(-20, 30))),
                    "recorded_by_id": manager if method != "self" else None,
                })
            if row["id"] in completes:
                # Dated when the last required session (all of them) ended, as the
                # attendance service dates it; not when attendance was taken.
                completed_at = max(s[2] for s in run.sessions)
                records.append(ctx.record(
                    person, completed_at, item_type="workshop", item_id=row["run_id"], item_key=run.series.slug,
                    item_version=1, item_title=run.row["title"], language=run.language, score=None,
                    issuer=run.host.name))
            if present and run.finished and rng.random() < 0.55:
                last_end = run.sessions[-1][2]
                evaluations.append({
                    "registration_id": row["id"], "satisfaction": rng.choices((1, 2, 3, 4, 5), (2, 5, 18, 40, 35))[0],
                    "comments": rng.choice((None, None, None, "Very practical.", "More time for the action plan, please.",
                                            "The case studies from our sector helped most.")),
                    "submitted_at": min(last_end + timedelta(hours=rng.uniform(1, 120)), now - timedelta(minutes=1)),
                })
    ctx.insert(Attendance, attendance, "Attendance")
    ctx.insert(Evaluation, evaluations, "Evaluations")
    ctx.insert(CompletionRecord, records, "Workshop completions")


def _plan_run(ctx: LargeDemo, series: WorkshopSeries, host, count: int, pools: _Pools) -> _Run:
    rng, now = ctx.rng, ctx.now
    day = ctx.moment(ctx.start + timedelta(days=14), now + timedelta(days=45))
    hour = rng.choice((9, 9, 10, 14))
    spacing = timedelta(days=7 if series.audience == "sme" else 1)
    outline = series.sessions or [None]
    sessions = []
    for k, part in enumerate(outline):
        starts = _local(day + spacing * k, hour, host.timezone)
        ends = starts + timedelta(minutes=part.duration_minutes if part else 120)
        sessions.append([part.title if part else series.title, starts, ends, None])
    first_start = sessions[0][1]
    cancelled_at = None
    if rng.random() < CANCELLED_RUNS:
        cancelled_at = min(first_start - timedelta(days=rng.uniform(1, 10)), now - timedelta(hours=1)).replace(microsecond=0)
    elif rng.random() < 0.98:  # organisers who take attendance (almost all)
        for s in sessions:
            if s[2] < now - timedelta(hours=2):
                s[3] = min(s[2] + timedelta(minutes=rng.randint(5, 120)), now - timedelta(minutes=1))
    opens = first_start - timedelta(days=60)
    online = rng.random() < 0.25
    members_only = rng.random() < 0.55
    approval = rng.random() < 0.15
    row = {
        "series_id": series.id, "host_organisation_id": host.id, "title": series.title, "language": host.language,
        "country": host.country, "venue": None if online else f"{host.name}, training room",
        "online_url": f"https://meet.example.org/{ctx.token(9)}" if online else None, "timezone": host.timezone,
        "capacity": 1, "registration_opens_at": opens,
        "registration_closes_at": first_start - timedelta(hours=1) if rng.random() < 0.6 else None,
        "approval_required": approval, "audience": "members" if members_only else "open", "required_sessions": None,
        "status": RunStatus.CANCELLED if cancelled_at else RunStatus.SCHEDULED,
        "checkin_code": "".join(rng.choices(CHECKIN_ALPHABET, k=6)), "created_by_id": host.manager_id,
        "created_at": min(opens - timedelta(days=rng.uniform(1, 30)), now - timedelta(days=1)).replace(microsecond=0),
        "cancelled_at": cancelled_at,
    }
    run = _Run(series=series, host=host, language=host.language, sessions=sessions, cancelled_at=cancelled_at, row=row)

    # Registrations, in arrival order; the first ones within capacity are confirmed.
    closes = min(first_start - timedelta(hours=1), cancelled_at or now, now) - timedelta(minutes=1)
    wanted_pools = [pools.members(host.id)] if members_only else []
    wanted_pools += [pools.country(host.country), pools.everyone]
    taken: set[int] = set()
    arrivals = []
    for moment in sorted(ctx.moment(opens, closes) for _ in range(count)):
        person, moment = pools.pick(wanted_pools, moment, taken)
        taken.add(person.index)
        arrivals.append((person, moment))
    upcoming = first_start > now
    live = []
    for person, moment in arrivals:
        status = None
        if cancelled_at is not None:
            status = RegistrationStatus.CANCELLED
        elif rng.random() < CANCELLED_REGISTRATIONS:
            status = RegistrationStatus.CANCELLED
        elif approval and rng.random() < 0.05:
            status = RegistrationStatus.REJECTED
        elif approval and upcoming and rng.random() < 0.25:
            status = RegistrationStatus.PENDING
        run.registrations.append((person, _registration(ctx, person, moment, status, cancelled_at, first_start)))
        if status is None:
            live.append(run.registrations[-1][1])
    row["capacity"] = max(1, round(max(len(live), 1) * rng.uniform(0.85, 1.35)))
    for k, reg in enumerate(live):
        if k < row["capacity"]:
            reg["status"] = RegistrationStatus.CONFIRMED
            decided = reg["queued_at"] + timedelta(hours=rng.uniform(2, 72)) if approval else reg["queued_at"]
            reg["confirmed_at"] = min(decided, now - timedelta(minutes=1))
            reg["reminder_sent_at"] = first_start - timedelta(days=1) if not upcoming else None
        else:
            reg["status"] = RegistrationStatus.WAITLISTED
    return run


def _registration(ctx: LargeDemo, person, moment: datetime, status, run_cancelled_at, first_start) -> dict:
    rng = ctx.rng
    cancelled_at = None
    if status == RegistrationStatus.CANCELLED:
        cancelled_at = run_cancelled_at or moment + (min(first_start, ctx.now) - moment) * rng.random()
        cancelled_at = max(cancelled_at, moment).replace(microsecond=0)
    return {
        "user_id": person.id, "status": status, "queued_at": moment, "created_at": moment, "confirmed_at": None,
        "cancelled_at": cancelled_at,
        "stakeholder_category": rng.choices(list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values()))[0],
        "accessibility_needs": rng.choice(("Step-free access, please.", "Captions for online sessions."))
        if rng.random() < 0.03 else None,
        "checkin_token": ctx.token(16), "person_key": person.person_key,
        "organisation_id": ctx.org_at(person, moment).id, "sex": person.sex, "country": person.country,
        "reminder_sent_at": None,
    }
