"""Editing a run after scheduling, through the service: what changed, the capacity
rule, promotion from the waiting list, the emails with their calendar file, the
completions re-checked, the audit entry, and nothing written when an edit is refused.
On SQLite and PostgreSQL."""
from __future__ import annotations

import base64
import json
from datetime import date, datetime, time, timedelta, timezone

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from lms.accounts.models import AuditEntry
from lms.common import FieldError
from lms.db import get_session, utcnow
from lms.mail import OutboxMessage
from lms.records.models import CompletionRecord
from tests.factories import make_org, make_run, make_series, make_user
from workshops.models import Attendance, RegistrationStatus, RunSession, WorkshopRun
from workshops.services import attendance, editing
from workshops.services import registration as booking

LIMA = "America/Lima"  # UTC-5 all year


@pytest.fixture
def ctx(app):
    with app.test_request_context(method="POST"):
        yield get_session()


def _lima(day: date, at: time) -> datetime:
    return datetime.combine(day, at).replace(tzinfo=timezone.utc) + timedelta(hours=5)


@pytest.fixture
def world(ctx):
    """A run in Lima with two sessions (10 and 17 March 2031, 09:00-12:00 local), two
    places: Ana and Bruno confirmed, Carla and Diego waitlisted."""
    host = make_org(ctx, name="Confiep", country="PE")
    manager = make_user(ctx, org=host, manager=True)
    series = make_series(ctx, sessions=3)
    run = make_run(ctx, capacity=2, host=host, series=series, sessions=2, timezone_name=LIMA, city="Lima",
                   venue="Hotel Bolívar", online_url="https://meet.example.org/lima")
    run.sessions[0].starts_at, run.sessions[0].ends_at = _lima(date(2031, 3, 10), time(9)), _lima(date(2031, 3, 10), time(12))
    run.sessions[1].starts_at, run.sessions[1].ends_at = _lima(date(2031, 3, 17), time(9)), _lima(date(2031, 3, 17), time(12))
    ctx.flush()
    people = {name: make_user(ctx, name=name, email=f"{name.lower()}@example.org")
              for name in ("Ana", "Bruno", "Carla", "Diego")}
    registrations = {name: booking.register(ctx, run.id, person) for name, person in people.items()}
    ctx.flush()
    return {"run": run, "manager": manager, "people": people, "registrations": registrations}


def as_typed(run, **fields) -> editing.RunEdit:
    """The edit form sent back as it was shown, with ``fields`` changed."""
    defaults = editing.edit_form_defaults(run)
    rows = [editing.SessionEdit(r["session_id"], r["day"], r["starts"], r["ends"]) for r in defaults.pop("sessions")]
    return editing.RunEdit(**(defaults | {"sessions": rows} | fields))


def outbox(ctx, email=None):
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if email:
        query = query.where(OutboxMessage.to_addr == email)
    return ctx.scalars(query).all()


def calendar_of(message) -> Calendar | None:
    files = json.loads(message.attachments or "[]")
    if not files:
        return None
    [ics] = files
    assert ics["filename"].endswith(".ics") and ics["content_type"].startswith("text/calendar")
    return Calendar.from_ical(base64.b64decode(ics["data"]))


def events(cal: Calendar) -> list:
    return [c for c in cal.walk("VEVENT")]


def test_sent_back_unchanged_nothing_is_written(ctx, world):
    run = world["run"]
    before = len(outbox(ctx))
    result = editing.edit_run(ctx, run.id, as_typed(run), world["manager"])
    assert result.changes == [] and result.told == 0 and result.promoted == []
    assert len(outbox(ctx)) == before and run.calendar_sequence == 0
    assert ctx.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "workshop_run.edit")) == 0


def test_seconds_in_stored_times_are_not_a_move(ctx, world):
    run = world["run"]
    for s in run.sessions:
        s.starts_at, s.ends_at = s.starts_at + timedelta(seconds=37), s.ends_at + timedelta(seconds=37, microseconds=5)
    ctx.flush()
    assert editing.edit_run(ctx, run.id, as_typed(run), world["manager"]).changes == []


def test_a_moved_session_and_a_new_venue_are_told_with_the_new_calendar_file(ctx, world):
    run, regs = world["run"], world["registrations"]
    edit = as_typed(run, venue="Swissôtel Lima", online_url="https://meet.example.org/new")
    edit.sessions[1] = editing.SessionEdit(run.sessions[1].id, date(2031, 3, 18), time(14), None)
    before = {m.id for m in outbox(ctx)}
    result = editing.edit_run(ctx, run.id, edit, world["manager"])

    moved = next(c for c in result.changes if c.what == "session_moved")
    assert moved.title == "Session 2" and moved.new == (_lima(date(2031, 3, 18), time(14)), _lima(date(2031, 3, 18), time(17)))
    assert {c.what for c in result.changes} == {"venue", "online_url", "session_moved"}
    ctx.refresh(run)
    # left without an end, the session keeps its three hours
    assert (run.sessions[1].starts_at, run.sessions[1].ends_at) == moved.new
    assert run.venue == "Swissôtel Lima" and run.calendar_sequence == 1

    sent = {m.to_addr: m for m in outbox(ctx) if m.id not in before}
    assert set(sent) == {"ana@example.org", "bruno@example.org", "carla@example.org", "diego@example.org"}
    assert result.told == 4
    ana = sent["ana@example.org"]
    assert ana.subject == f"Changes to {run.title}"
    assert "Session 2 has moved. It was Mon 17 Mar 2031, 09:00–12:00 (America/Lima); it is now " \
           "Tue 18 Mar 2031, 14:00–17:00 (America/Lima)." in ana.body_text
    assert "The venue is now Swissôtel Lima." in ana.body_text and "https://meet.example.org/new" in ana.body_text
    assert f"/workshops/runs/{run.id}" in ana.body_text
    cal = calendar_of(ana)
    second = next(e for e in events(cal) if str(e["uid"]) == f"run-{run.id}-session-{run.sessions[1].id}@lms.alliance87")
    assert second.decoded("dtstart") == _lima(date(2031, 3, 18), time(14)) and int(second["sequence"]) == 1
    assert "Swissôtel Lima" in str(second["location"]) and "meet.example.org/new" in str(second["location"])

    # The waiting list is told, in words: no calendar file, no online link (not theirs to see).
    carla = sent["carla@example.org"]
    assert calendar_of(carla) is None and "meet.example.org" not in carla.body_text
    assert "Session 2 has moved." in carla.body_text and "still waiting for a place" in carla.body_text
    assert "online link" not in carla.body_text

    [entry] = ctx.scalars(select(AuditEntry).where(AuditEntry.action == "workshop_run.edit")).all()
    detail = json.loads(entry.detail)
    assert entry.target_id == run.id and entry.actor_id == world["manager"].id
    assert {c["what"] for c in detail["changes"]} == {"venue", "online_url", "session_moved"}
    assert regs["Ana"].status == RegistrationStatus.CONFIRMED


def test_a_new_link_alone_is_news_only_to_those_who_hold_a_place(ctx, world):
    run = world["run"]
    before = {m.id for m in outbox(ctx)}
    result = editing.edit_run(ctx, run.id, as_typed(run, online_url="https://meet.example.org/other"), world["manager"])
    assert sorted(m.to_addr for m in outbox(ctx) if m.id not in before) == ["ana@example.org", "bruno@example.org"]
    assert result.told == 2


def test_capacity_and_window_are_not_news_to_participants(ctx, world):
    run = world["run"]
    before = len(outbox(ctx))
    closes = datetime(2031, 3, 9, 18, 0)
    result = editing.edit_run(ctx, run.id, as_typed(run, registration_closes=closes), world["manager"])
    assert [c.what for c in result.changes] == ["registration_closes"] and result.told == 0
    assert len(outbox(ctx)) == before and run.calendar_sequence == 0
    assert run.registration_closes_at == datetime(2031, 3, 9, 23, 0, tzinfo=timezone.utc)  # 18:00 in Lima
    # audited all the same
    assert ctx.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "workshop_run.edit")) == 1


def test_capacity_below_the_confirmed_places_is_refused_and_nothing_is_written(ctx, world):
    run = world["run"]
    before = len(outbox(ctx))
    edit = as_typed(run, capacity=1, venue="Elsewhere")
    edit.sessions[0] = editing.SessionEdit(run.sessions[0].id, date(2031, 3, 11), time(9), time(12))
    with pytest.raises(FieldError) as refused:
        editing.edit_run(ctx, run.id, edit, world["manager"])
    assert refused.value.field == "capacity"
    assert "2 people already hold a confirmed place, so the capacity cannot be lower than 2." in str(refused.value)
    ctx.expire_all()
    run = ctx.get(WorkshopRun, run.id)
    assert (run.capacity, run.venue, run.calendar_sequence) == (2, "Hotel Bolívar", 0)
    assert run.sessions[0].starts_at == _lima(date(2031, 3, 10), time(9))
    assert len(outbox(ctx)) == before
    assert ctx.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "workshop_run.edit")) == 0
    # down to exactly the confirmed places is fine
    assert [c.what for c in editing.edit_run(ctx, run.id, as_typed(run, capacity=2, venue="Elsewhere"),
                                             world["manager"]).changes] == ["venue"]


def test_raising_the_capacity_promotes_through_the_registration_function(ctx, world, monkeypatch):
    run, regs = world["run"], world["registrations"]
    calls = []
    original = booking.promote_from_waitlist

    def spy(session, locked_run, now=None):
        calls.append(locked_run.id)
        return original(session, locked_run, now)

    monkeypatch.setattr(editing, "promote_from_waitlist", spy)
    before = {m.id for m in outbox(ctx)}
    result = editing.edit_run(ctx, run.id, as_typed(run, capacity=3), world["manager"])
    assert calls == [run.id]
    assert [r.id for r in result.promoted] == [regs["Carla"].id]  # the first in the queue, only one place
    assert regs["Carla"].status == RegistrationStatus.CONFIRMED and regs["Diego"].status == RegistrationStatus.WAITLISTED
    assert booking.seats_taken(ctx, run.id) == 3
    sent = [m for m in outbox(ctx) if m.id not in before]
    # Carla gets the promotion email (with its calendar file); a capacity is news to no one else
    assert [(m.to_addr, m.subject.startswith("A place has opened")) for m in sent] == [("carla@example.org", True)]
    assert calendar_of(sent[0]) is not None and result.told == 0
    detail = json.loads(ctx.scalar(select(AuditEntry.detail).where(AuditEntry.action == "workshop_run.edit")))
    assert detail["promoted"] == [regs["Carla"].id]


def test_promoted_people_get_one_email_with_the_run_as_it_is_now(ctx, world):
    run = world["run"]
    edit = as_typed(run, capacity=4, venue="Swissôtel Lima")
    before = {m.id for m in outbox(ctx)}
    result = editing.edit_run(ctx, run.id, edit, world["manager"])
    sent = [m for m in outbox(ctx) if m.id not in before]
    by_person = {}
    for m in sent:
        by_person.setdefault(m.to_addr, []).append(m.subject)
    assert len(result.promoted) == 2 and result.told == 2
    assert all(len(subjects) == 1 for subjects in by_person.values())
    assert by_person["carla@example.org"][0].startswith("A place has opened")
    assert by_person["ana@example.org"][0].startswith("Changes to")
    carla = next(m for m in sent if m.to_addr == "carla@example.org")
    assert "Swissôtel Lima" in carla.body_text and "Swissôtel Lima" in str(events(calendar_of(carla))[0]["location"])


def test_adding_and_removing_sessions(ctx, world):
    run = world["run"]
    first_id, second_id = run.sessions[0].id, run.sessions[1].id
    edit = as_typed(run)
    edit.sessions[0].remove = True
    edit.sessions.append(editing.SessionEdit(None, date(2031, 3, 24), time(9)))
    result = editing.edit_run(ctx, run.id, edit, world["manager"])
    assert sorted(c.what for c in result.changes) == ["session_added", "session_removed"]
    ctx.refresh(run)
    # the new one is the first of the series' outlines the run no longer has, with its length
    assert [s.id for s in run.sessions][0] == second_id and len(run.sessions) == 2
    added = run.sessions[1]
    assert added.title == "Session 1" and added.ends_at - added.starts_at == timedelta(minutes=120)
    assert ctx.get(RunSession, first_id) is None
    ana = outbox(ctx, "ana@example.org")[-1]
    assert "A session has been added: Session 1, Mon 24 Mar 2031, 09:00–11:00 (America/Lima)." in ana.body_text
    assert "Session 1, Mon 10 Mar 2031, 09:00–12:00 (America/Lima), will not take place" in ana.body_text
    cal = events(calendar_of(ana))
    statuses = {str(e["uid"]): str(e["status"]) for e in cal}
    assert statuses[f"run-{run.id}-session-{first_id}@lms.alliance87"] == "CANCELLED"
    assert statuses[f"run-{run.id}-session-{added.id}@lms.alliance87"] == "CONFIRMED"


@pytest.mark.parametrize("change,field", [
    (lambda e: setattr(e.sessions[0], "ends", time(8)), "sessions-0-ends"),
    (lambda e: [setattr(row, "remove", True) for row in e.sessions], "sessions-1-remove"),
    (lambda e: setattr(e, "required_sessions", 3), "required_sessions"),
    (lambda e: setattr(e.sessions[1], "day", date(1, 1, 1)), "sessions-1-day"),
    (lambda e: setattr(e.sessions[0], "day", date(2101, 1, 1)), "sessions-0-day"),
    (lambda e: setattr(e.sessions[1], "session_id", 10 ** 6), "sessions-1-day"),
    (lambda e: setattr(e.sessions[1], "session_id", e.sessions[0].session_id), "sessions-1-day"),
    (lambda e: (setattr(e, "registration_opens", datetime(2031, 3, 1)),
                setattr(e, "registration_closes", datetime(2031, 2, 1))), "registration_closes"),
])
def test_bad_edits_are_refused_before_anything_is_written(ctx, world, change, field):
    run = world["run"]
    edit = as_typed(run, venue="Somewhere else")
    change(edit)
    with pytest.raises(FieldError) as refused:
        editing.edit_run(ctx, run.id, edit, world["manager"])
    assert refused.value.field == field
    ctx.expire_all()
    run = ctx.get(WorkshopRun, run.id)
    assert run.venue == "Hotel Bolívar" and len(run.sessions) == 2 and run.calendar_sequence == 0


def test_a_cancelled_run_cannot_be_edited(ctx, world):
    run = world["run"]
    booking.cancel_run(ctx, run.id)
    with pytest.raises(FieldError) as refused:
        editing.edit_run(ctx, run.id, as_typed(run, venue="X"), world["manager"])
    assert refused.value.field is None


# -- sessions that have been held ------------------------------------------------------

@pytest.fixture
def held(ctx):
    """A run whose two sessions were held last week; Ana attended both (completed),
    Bruno the first only."""
    host = make_org(ctx)
    manager = make_user(ctx, org=host, manager=True)
    run = make_run(ctx, capacity=5, host=host, sessions=2)
    ana, bruno = make_user(ctx, name="Ana"), make_user(ctx, name="Bruno")
    reg_ana, reg_bruno = booking.register(ctx, run.id, ana), booking.register(ctx, run.id, bruno)
    start = utcnow().replace(second=0, microsecond=0) - timedelta(days=8)
    for n, s in enumerate(run.sessions):
        s.starts_at, s.ends_at = start + timedelta(days=n), start + timedelta(days=n, hours=2)
    ctx.flush()
    for s in run.sessions:
        attendance.save_roster(ctx, s, [reg_ana.id] + ([reg_bruno.id] if s is run.sessions[0] else []), manager)
    return {"run": run, "manager": manager, "ana": reg_ana, "bruno": reg_bruno}


def _record(ctx, registration):
    return ctx.scalar(select(CompletionRecord).where(CompletionRecord.item_type == "workshop",
                                                     CompletionRecord.user_id == registration.user_id))


def test_correcting_a_held_session_redates_the_completion_through_reconcile_run(ctx, held, monkeypatch):
    run, ana = held["run"], held["ana"]
    assert _record(ctx, ana).completed_at == run.sessions[1].ends_at
    calls = []
    original = attendance.reconcile_run
    monkeypatch.setattr(editing, "reconcile_run", lambda s, r, actor=None: calls.append(r.id) or original(s, r, actor))
    edit = as_typed(run)
    second = edit.sessions[1]
    second.ends = (datetime.combine(second.day, second.starts) + timedelta(hours=1)).time()  # it ended an hour earlier
    result = editing.edit_run(ctx, run.id, edit, held["manager"])
    assert calls == [run.id] and result.completions == {ana.id: "redated"}
    assert _record(ctx, ana).completed_at == run.sessions[1].ends_at == run.sessions[1].starts_at + timedelta(hours=1)


def test_requiring_fewer_sessions_completes_those_who_now_qualify(ctx, held):
    run, bruno = held["run"], held["bruno"]
    assert _record(ctx, bruno) is None
    result = editing.edit_run(ctx, run.id, as_typed(run, required_sessions=1), held["manager"])
    assert result.completions == {bruno.id: "issued"} | ({held["ana"].id: "redated"})
    assert _record(ctx, bruno).completed_at == run.sessions[0].ends_at
    # Bruno and Ana are told what they must now attend
    assert "To complete the workshop, attend 1 session." in outbox(ctx, bruno.user.email)[-1].body_text


def test_a_held_session_cannot_move_to_the_future_or_be_removed(ctx, held):
    run = held["run"]
    later = (utcnow() + timedelta(days=2)).date()
    edit = as_typed(run)
    edit.sessions[0].day = later
    with pytest.raises(FieldError) as refused:
        editing.edit_run(ctx, run.id, edit, held["manager"])
    assert refused.value.field == "sessions-0-day" and "cannot be moved to a time that has not come" in str(refused.value)
    edit = as_typed(run)
    edit.sessions[1].remove = True
    with pytest.raises(FieldError) as refused:
        editing.edit_run(ctx, run.id, edit, held["manager"])
    assert refused.value.field == "sessions-1-remove"
    assert editing.sessions_with_attendance(ctx, run) == {s.id for s in run.sessions}
    ctx.expire_all()
    assert ctx.scalar(select(func.count()).select_from(Attendance)) == 3
    assert len(ctx.get(WorkshopRun, run.id).sessions) == 2


def test_an_upcoming_session_without_attendance_moves_freely(ctx, held):
    run = held["run"]
    extra = editing.edit_run(ctx, run.id, as_typed(run, sessions=as_typed(run).sessions + [
        editing.SessionEdit(None, (utcnow() + timedelta(days=3)).date(), time(10))]), held["manager"])
    assert [c.what for c in extra.changes] == ["session_added"]
    ctx.refresh(run)
    edit = as_typed(run)
    edit.sessions[2].day = edit.sessions[2].day + timedelta(days=7)
    assert [c.what for c in editing.edit_run(ctx, run.id, edit, held["manager"]).changes] == ["session_moved"]


def test_a_run_postponed_beyond_the_reminders_notice_is_reminded_again(ctx, world):
    run, regs = world["run"], world["registrations"]
    reminded = utcnow()
    for r in regs.values():
        r.reminder_sent_at = reminded
    ctx.flush()
    edit = as_typed(run)
    edit.sessions[0].starts = time(11)  # two hours later: the change email says so, no second reminder
    edit.sessions[0].ends = time(14)
    editing.edit_run(ctx, run.id, edit, world["manager"])
    assert {r.reminder_sent_at for r in regs.values()} == {reminded}
    edit = as_typed(run)
    edit.sessions[0].day = date(2031, 3, 12)  # two days later: reminded again before the new start
    editing.edit_run(ctx, run.id, edit, world["manager"])
    for r in regs.values():
        ctx.refresh(r)
    assert {r.reminder_sent_at for r in regs.values()} == {None}
