"""The run services called directly: who manages a run, the online-link rule,
scheduling checks, the run page, "my workshops" and the participants export. On
SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
from flask_login import AnonymousUserMixin
from sqlalchemy import select

from lms.common import FieldError
from tests.factories import make_org, make_run, make_series, make_user
from workshops.models import CHECKIN_ALPHABET, Registration, RegistrationStatus, WorkshopRun
from workshops.services import registration as booking
from workshops.services import runs

VISITOR = AnonymousUserMixin()


@pytest.fixture
def world(ctx):
    eo = make_org(ctx, name="Ghana Employers", country="GH")
    sme = make_org(ctx, name="Cocoa SME", kind="sme", parent=eo)
    other = make_org(ctx, name="Peru Employers", country="PE")
    return {
        "eo": eo, "other": other,
        "manager": make_user(ctx, org=eo, manager=True),
        "sme_manager": make_user(ctx, org=sme, manager=True),
        "other_manager": make_user(ctx, org=other, manager=True),
        "learner": make_user(ctx, org=sme),
        "secretariat": make_user(ctx, role="secretariat"),
        "run": make_run(ctx, capacity=1, host=eo, online_url="https://meet.example.org/room"),
    }


def test_who_manages_a_run(ctx, world):
    run = world["run"]
    assert runs.may_manage_run(world["manager"], run) and runs.may_manage_run(world["secretariat"], run)
    assert not runs.may_manage_run(world["other_manager"], run)
    assert not runs.may_manage_run(world["learner"], run) and not runs.may_manage_run(VISITOR, run)


def test_the_online_link_is_for_confirmed_participants_and_organisers(ctx, world):
    run, learner, queued = world["run"], world["learner"], make_user(ctx)
    assert not runs.may_see_online_link(ctx, run, learner)
    booking.register(ctx, run.id, learner)
    booking.register(ctx, run.id, queued)
    assert runs.may_see_online_link(ctx, run, learner)
    assert not runs.may_see_online_link(ctx, run, queued)  # waitlisted
    assert runs.may_see_online_link(ctx, run, world["manager"])
    assert not runs.may_see_online_link(ctx, run, world["other_manager"])
    assert not runs.may_see_online_link(ctx, run, VISITOR)
    assert runs.sees_online_link(True, None) and not runs.sees_online_link(False, None)


def _times(day=date(2030, 3, 2), starts=time(9), ends=time(12)):
    return [runs.SessionTimes("Step 1", day, starts, ends)]


def _create(ctx, world, actor=None, host=None, zone="Africa/Abidjan", sessions=None, **fields):
    args = {"title": "Run", "language": "fr", "country": "CI", "venue": " Hotel ", "online_url": "",
            "zone": zone, "capacity": 20, "registration_opens": None, "registration_closes": None,
            "approval_required": False, "audience": "open", "required_sessions": None} | fields
    return runs.create_run(ctx, make_series(ctx), (host or world["eo"]).id, sessions=sessions or _times(),
                           actor=actor or world["manager"], **args)


def test_create_run_stores_utc_and_a_readable_code(ctx, world):
    run = _create(ctx, world, zone="America/Lima", registration_closes=datetime(2030, 3, 1, 18, 0))
    assert run.sessions[0].starts_at == datetime(2030, 3, 2, 14, tzinfo=timezone.utc)
    assert run.registration_closes_at == datetime(2030, 3, 1, 23, tzinfo=timezone.utc)
    assert run.venue == "Hotel" and run.online_url is None
    assert len(run.checkin_code) == 6 and set(run.checkin_code) <= set(CHECKIN_ALPHABET) and "L" not in CHECKIN_ALPHABET


@pytest.mark.parametrize("fields,field", [
    ({"zone": "Mars/Olympus"}, "timezone"),
    ({"sessions": _times(starts=time(12), ends=time(9))}, "sessions-0-ends"),
    ({"zone": "Asia/Tokyo", "sessions": _times(day=date(1, 1, 1), starts=time(0, 5), ends=time(1))},
     "sessions-0-day"),
    # a session in year 1 would be opened by check-in 30 minutes before it starts
    ({"sessions": _times(day=date(1, 1, 1))}, "sessions-0-day"),
    ({"sessions": _times(day=date(1999, 12, 31))}, "sessions-0-day"),
    ({"sessions": _times(day=date(9999, 12, 30))}, "sessions-0-day"),
    ({"registration_opens": datetime(1, 1, 1, 12)}, "registration_opens"),
    ({"registration_closes": datetime(9999, 12, 1)}, "registration_closes"),
    ({"required_sessions": 2}, "required_sessions"),
    ({"registration_opens": datetime(2030, 3, 1), "registration_closes": datetime(2030, 2, 1)}, "registration_closes"),
    ({"zone": "Pacific/Pago_Pago", "registration_opens": datetime(9999, 12, 31, 23)}, "registration_opens"),
])
def test_create_run_refuses_bad_schedules_before_writing(ctx, world, fields, field):
    with pytest.raises(FieldError) as refused:
        _create(ctx, world, **fields)
    assert refused.value.field == field
    assert ctx.scalar(select(WorkshopRun.id).where(WorkshopRun.title == "Run")) is None


def test_create_run_only_for_a_host_one_manages(ctx, world):
    with pytest.raises(PermissionError):
        _create(ctx, world, actor=world["other_manager"])
    assert _create(ctx, world, actor=world["secretariat"], host=world["other"]).host_organisation_id == world["other"].id


def test_schedule_defaults_and_host_choices(ctx, world):
    series = make_series(ctx, sessions=3)
    defaults = runs.schedule_defaults(series, world["manager"])
    assert (defaults.country, defaults.timezone, defaults.capacity) == ("GH", "Africa/Accra", 25)
    assert defaults.language == "en"  # Ghana's
    assert runs.schedule_defaults(series, world["other_manager"]).language == "es"  # Peru's
    assert runs.session_title(series, 2) == "Session 3" and runs.session_title(series, 3) == "Session 4"
    assert runs.session_minutes(series, 0) == 120 and runs.session_minutes(series, 3) == runs.DEFAULT_SESSION_MINUTES
    assert runs.schedule_defaults(series, world["secretariat"]).timezone == "UTC"
    assert runs.host_choices(ctx, world["manager"]) == [(world["eo"].id, "Ghana Employers")]
    assert (world["other"].id, "Peru Employers") in runs.host_choices(ctx, world["secretariat"])


def test_run_page_for_each_kind_of_person(ctx, world):
    run = world["run"]
    first, second = world["learner"], make_user(ctx)
    booking.register(ctx, run.id, first)
    booking.register(ctx, run.id, second)
    confirmed = runs.run_page(ctx, run, first)
    assert confirmed.mine.status == RegistrationStatus.CONFIRMED and confirmed.show_link
    assert confirmed.checkin_token == confirmed.mine.checkin_token and confirmed.seats_left == 0
    queued = runs.run_page(ctx, run, second)
    assert queued.position == 1 and not queued.show_link and queued.checkin_token is None and queued.reason is None
    organiser = runs.run_page(ctx, run, world["manager"])
    assert organiser.organiser and organiser.show_link and organiser.mine is None
    visitor = runs.run_page(ctx, run, VISITOR)
    assert visitor.reason is None and not visitor.show_link
    late = runs.run_page(ctx, run, make_user(ctx), now=run.sessions[-1].ends_at + timedelta(minutes=1))
    assert late.reason == "This workshop is over."


def test_my_workshops(ctx, world):
    learner, run = world["learner"], world["run"]
    later = make_run(ctx, host=world["eo"])
    booking.register(ctx, run.id, learner)
    booking.register(ctx, later.id, learner)
    mine = runs.my_workshops(ctx, learner)
    assert {r.run_id for r in mine.registrations} == {run.id, later.id} and mine.hosted == []
    assert {r.id for r in runs.my_workshops(ctx, world["manager"]).hosted} == {run.id, later.id}
    assert runs.my_workshops(ctx, world["other_manager"]).hosted == []
    assert len(runs.my_workshops(ctx, world["secretariat"]).hosted) == 2


def test_participant_rows(ctx, world):
    run, learner = world["run"], world["learner"]
    booking.register(ctx, run.id, learner, stakeholder_category="supplier", accessibility_needs=" Captions ")
    [row] = runs.participant_rows(ctx, run)
    assert row[:7] == [learner.name, learner.email, "Cocoa SME", learner.country or "", "confirmed", "supplier",
                       "Captions"]
    assert row[7].endswith("+00:00") and len(runs.participants_header()) == len(row)
    assert ctx.scalar(select(Registration.status)) == RegistrationStatus.CONFIRMED
