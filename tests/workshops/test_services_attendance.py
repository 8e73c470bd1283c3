"""The attendance, evaluation and calendar services the pages use, called directly:
the roster, the QR check-in page, room codes, the evaluation page and the personal
feed. On SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

import pytest

from lms.db import utcnow
from tests.factories import make_org, make_run, make_user
from workshops.models import Attendance, RegistrationStatus
from workshops.services import attendance, evaluations
from workshops.services import calendar as feeds
from workshops.services import registration as booking


@pytest.fixture
def world(ctx):
    host = make_org(ctx)
    organiser = make_user(ctx, org=host, manager=True)
    run = make_run(ctx, capacity=2, host=host, sessions=2, starts=utcnow().replace(microsecond=0) + timedelta(days=1),
                   online_url="https://meet.example.org/x")
    people = [make_user(ctx, name=name) for name in ("zoe", "Amina", "Ben")]
    registrations = [booking.register(ctx, run.id, p) for p in people]  # Ben is waitlisted
    # Move the first session to now: it is in progress.
    first = run.sessions[0]
    first.starts_at, first.ends_at = utcnow() - timedelta(minutes=10), utcnow() + timedelta(hours=1)
    ctx.flush()
    return {"run": run, "organiser": organiser, "people": people, "registrations": registrations}


def test_roster_lists_confirmed_people_by_name_with_their_check_ins(ctx, world):
    run, (zoe, amina, _) = world["run"], world["registrations"]
    first = run.sessions[0]
    attendance.record_attendance(ctx, zoe, first, "qr", by_user=world["organiser"])
    sheet = attendance.roster(ctx, first)
    assert [r.id for r in sheet.participants] == [amina.id, zoe.id]
    assert set(sheet.present) == {zoe.id} and sheet.present[zoe.id].method == "qr"
    assert attendance.run_session_of(ctx, run, first.id) is first
    other = make_run(ctx)
    assert attendance.run_session_of(ctx, run, other.sessions[0].id) is None


def test_qr_check_in(ctx, world):
    run, (zoe, _, ben) = world["run"], world["registrations"]
    assert attendance.registration_by_checkin_token(ctx, zoe.checkin_token) is zoe
    assert attendance.registration_by_checkin_token(ctx, "nope") is None
    before = attendance.qr_check_in_page(ctx, zoe)
    assert before.chosen is run.sessions[0] and before.outcome is None and before.already == set()
    done = attendance.qr_check_in(ctx, zoe, None, world["organiser"])
    assert (done.chosen, done.outcome, done.already) == (run.sessions[0], "recorded", {run.sessions[0].id})
    assert attendance.qr_check_in(ctx, zoe, run.sessions[0].id, world["organiser"]).outcome == "already"
    assert attendance.qr_check_in(ctx, ben, None, world["organiser"]).outcome == (
        "Only confirmed participants can be checked in.")
    with pytest.raises(LookupError):
        attendance.qr_check_in(ctx, zoe, make_run(ctx).sessions[0].id, world["organiser"])
    assert ctx.get(Attendance, (ben.id, run.sessions[0].id)) is None


def test_qr_check_in_with_no_session_in_progress_asks_for_one(ctx, world):
    zoe = world["registrations"][0]
    later = utcnow() + timedelta(days=30)
    assert attendance.qr_check_in_page(ctx, zoe, now=later).chosen is None
    with pytest.raises(LookupError):
        attendance.qr_check_in(ctx, zoe, None, world["organiser"], now=later)


def test_room_codes_differ_by_session(ctx, world):
    codes = attendance.room_codes(world["run"])
    assert [s for s, _ in codes] == world["run"].sessions and len({c for _, c in codes}) == 2


def test_evaluation_page(ctx, world):
    zoe = world["registrations"][0]
    assert evaluations.evaluation_page(ctx, zoe).reason == (
        "The evaluation is for people who attended at least one session.")
    attendance.record_attendance(ctx, zoe, world["run"].sessions[0], "self")
    page = evaluations.evaluation_page(ctx, zoe)
    assert page.reason is None and page.previous is None
    evaluations.save_evaluation(ctx, zoe, 4, " Good ")
    assert evaluations.evaluation_page(ctx, zoe).previous.comments == "Good"
    summary = evaluations.evaluation_summary(ctx, world["run"].id)
    assert (summary.count, summary.mean, summary.comments) == (1, 4.0, ["Good"])


def test_personal_feed_shows_the_link_only_where_confirmed(ctx, world):
    zoe, ben = world["people"][0], world["people"][2]
    links = []
    link_for = lambda run: links.append(run.id) or f"https://lms.example.org/runs/{run.id}"  # noqa: E731
    assert feeds.personal_feed(ctx, "nope", "Workshops", link_for) is None
    assert feeds.personal_feed(ctx, "", "Workshops", link_for) is None
    confirmed = feeds.personal_feed(ctx, feeds.feed_for(ctx, zoe).token, "Workshops", link_for)
    assert b"meet.example.org" in confirmed and b"X-WR-CALNAME:Workshops" in confirmed
    queued = feeds.personal_feed(ctx, feeds.feed_for(ctx, ben).token, "Workshops", link_for)
    assert b"meet.example.org" not in queued and b"SUMMARY:" in queued
    assert links == [world["run"].id, world["run"].id]
    assert feeds.feed_runs(ctx, ben.id) == [(world["run"], False)]
    old = feeds.feed_for(ctx, zoe).token
    assert feeds.feed_for(ctx, zoe, reset=True).token != old
    assert world["registrations"][2].status == RegistrationStatus.WAITLISTED
