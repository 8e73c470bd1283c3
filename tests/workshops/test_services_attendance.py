"""The attendance, evaluation and calendar services the pages use, called directly:
the roster, the QR check-in page, room codes, the evaluation page and the personal
feed. On SQLite and PostgreSQL."""
from __future__ import annotations

import json
import re
import secrets
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from lms.accounts.models import AuditEntry
from lms.common import FieldError
from lms.db import utcnow
from lms.metrics.definitions import Period, compute
from lms.records.models import CompletionRecord
from lms.records.services import revoke
from tests.factories import make_org, make_run, make_user
from workshops.models import Attendance, Registration, RegistrationStatus
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


# -- only sessions that have started ---------------------------------------------------

def test_attendance_refused_before_the_session_starts(ctx, world):
    run, (zoe, amina, _) = world["run"], world["registrations"]
    first, second = run.sessions  # the first is in progress, the second starts tomorrow
    not_yet = r"Session 2 has not started yet: it starts .* \(UTC\)\. Attendance can be taken once it has started\."
    for method in ("roster", "qr", "self"):
        with pytest.raises(FieldError, match=not_yet):
            attendance.record_attendance(ctx, zoe, second, method, now=second.starts_at - timedelta(seconds=1))
    with pytest.raises(FieldError, match=not_yet):
        attendance.save_roster(ctx, second, [zoe.id, amina.id], world["organiser"])
    refused = attendance.qr_check_in(ctx, zoe, second.id, world["organiser"])
    assert re.fullmatch(not_yet, refused.outcome) and refused.not_started == {second.id}
    assert attendance.roster(ctx, second).not_started.startswith("Session 2 has not started yet")
    assert attendance.roster(ctx, first).not_started is None
    # Nothing saved: no attendance, the session not held, nothing audited.
    assert ctx.scalar(select(func.count()).select_from(Attendance)) == 0
    assert second.attendance_taken_at is None
    assert ctx.scalar(select(func.count()).select_from(AuditEntry)) == 0
    # From its start it can.
    assert attendance.record_attendance(ctx, zoe, second, "qr", now=second.starts_at) is True
    assert second.attendance_taken_at == second.starts_at


def test_a_qr_check_in_alone_makes_the_session_held(ctx, world):
    run, zoe = world["run"], world["registrations"][0]
    first = run.sessions[0]
    attendance.qr_check_in(ctx, zoe, None, world["organiser"])
    assert first.attendance_taken_at is not None
    day = Period(first.ends_at.date(), first.ends_at.date())
    figures = compute(ctx, day)
    assert (figures["workshops.sessions_held"], figures["workshops.runs_held"]) == (1, 1)


# -- completion: its date, and roster corrections --------------------------------------

@pytest.fixture
def past(ctx):
    """A run of three sessions that ended weeks ago, two of them required; its rosters
    are entered today."""
    host = make_org(ctx, name="Ghana Employers", kind="employers_organisation")
    organiser = make_user(ctx, org=host, manager=True)
    run = make_run(ctx, host=host, sessions=3, required_sessions=2,
                   starts=datetime(2026, 1, 30, 9, tzinfo=timezone.utc))  # 30 Jan, 31 Jan, 1 Feb: 09-11 UTC
    people = [make_user(ctx, name=name, sex=sex) for name, sex in (("Efua", "female"), ("Kofi", "male"))]
    registrations = [Registration(run_id=run.id, user_id=p.id, status=RegistrationStatus.CONFIRMED,
                                  checkin_token=secrets.token_urlsafe(16), person_key=p.person_key, sex=p.sex)
                     for p in people]
    ctx.add_all(registrations)
    ctx.flush()
    return {"run": run, "organiser": organiser, "people": people, "registrations": registrations}


def _workshop_records(ctx):
    return ctx.scalars(select(CompletionRecord).where(CompletionRecord.item_type == "workshop")
                       .order_by(CompletionRecord.id)).all()


def _audit(ctx, action):
    return [json.loads(e.detail) | {"target": (e.target_type, e.target_id), "actor": e.actor_id}
            for e in ctx.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))]


def test_a_completion_is_dated_when_its_last_required_session_ended(ctx, past):
    run, organiser, (efua, kofi) = past["run"], past["organiser"], past["registrations"]
    s1, s2, s3 = run.sessions
    # Entered today, out of order: the third session first.
    assert attendance.save_roster(ctx, s3, [efua.id], organiser).completed == set()
    saved = attendance.save_roster(ctx, s1, [efua.id, kofi.id], organiser)
    assert saved.completed == {efua.id} and saved.added == {efua.id, kofi.id}
    (record,) = _workshop_records(ctx)
    assert record.completed_at == s3.ends_at == datetime(2026, 2, 1, 11, tzinfo=timezone.utc)
    assert record.expires_at is None and record.is_valid
    # An earlier session entered late: she had completed when the second one ended.
    attendance.save_roster(ctx, s2, [efua.id], organiser)
    assert record.completed_at == s2.ends_at
    assert [(e["previous"][:10], e["completed_at"][:10], e["cause"]) for e in _audit(ctx, "certificate.redate")] == [
        ("2026-02-01", "2026-01-31", "attendance_corrected")]
    assert len(_workshop_records(ctx)) == 1


def test_a_roster_correction_is_audited_and_reverses_the_completion(ctx, past):
    run, organiser, (efua, kofi) = past["run"], past["organiser"], past["registrations"]
    s1, s2, s3 = run.sessions
    for s in (s1, s2):
        attendance.save_roster(ctx, s, [efua.id, kofi.id], organiser)
    assert [(r.user_id, r.completed_at) for r in _workshop_records(ctx)] == [
        (efua.user_id, s2.ends_at), (kofi.user_id, s2.ends_at)]
    kofis = attendance.completion_record(ctx, kofi)

    # Kofi was ticked by mistake at the second session.
    saved = attendance.save_roster(ctx, s2, [efua.id], organiser)
    assert (saved.removed, saved.reversed, saved.completed) == ({kofi.id}, {kofi.id}, set())
    assert ctx.get(Attendance, (kofi.id, s2.id)) is None
    (entry,) = [e for e in _audit(ctx, "workshop_attendance.roster") if e["removed"]]
    assert entry == {"run": run.id, "added": [], "removed": [kofi.id], "session_ended": True,
                     "target": ("RunSession", s2.id), "actor": organiser.id}
    assert kofis.revoked_at is not None and not kofis.is_valid
    assert kofis.revoked_reason == "Issued in error: the organiser corrected the attendance list."
    assert attendance.reconcile_completion(ctx, kofi) is None  # nothing more to do
    (revocation,) = _audit(ctx, "certificate.revoke")
    assert (revocation["cause"], revocation["code"], revocation["actor"]) == (
        "attendance_corrected", kofis.certificate_code, organiser.id)
    # The revoked record is kept, and still counts where it is dated (definitions.py).
    assert len(_workshop_records(ctx)) == 2

    # He did come to the third session: the same record holds again, at its end.
    saved = attendance.save_roster(ctx, s3, [kofi.id], organiser)
    assert saved.completed == {kofi.id}
    assert kofis.is_valid and kofis.revoked_reason is None and kofis.completed_at == s3.ends_at
    assert [e["reason"] for e in _audit(ctx, "certificate.reinstate")] == [
        "Issued in error: the organiser corrected the attendance list."]
    assert len(_workshop_records(ctx)) == 2 and attendance.completion_record(ctx, kofi) is kofis


def test_a_revocation_by_the_secretariat_is_never_undone_by_a_roster(ctx, past):
    run, organiser, efua = past["run"], past["organiser"], past["registrations"][0]
    secretariat = make_user(ctx, role="secretariat")
    for s in run.sessions[:2]:
        attendance.save_roster(ctx, s, [efua.id], organiser)
    record = attendance.completion_record(ctx, efua)
    revoke(ctx, record, "Identity not confirmed.", secretariat)
    for s in run.sessions:
        assert attendance.save_roster(ctx, s, [efua.id], organiser).completed == set()
    assert record.revoked_reason == "Identity not confirmed." and len(_workshop_records(ctx)) == 1
    assert _audit(ctx, "certificate.reinstate") == []


def test_completed_and_held_agree_on_the_run_after_attendance_and_a_correction(ctx, past):
    """runs_held and participants_completed count the run in the same period (the one
    its sessions ended in), not in the period the rosters were entered, and keep doing
    so after a correction."""
    run, organiser, (efua, kofi) = past["run"], past["organiser"], past["registrations"]
    s1, s2, s3 = run.sessions
    january, february = Period(date(2026, 1, 1), date(2026, 1, 31)), Period(date(2026, 2, 1), date(2026, 2, 28))
    today = Period(utcnow().date(), utcnow().date())

    def figures(period):
        m = compute(ctx, period)
        return (m["workshops.runs_held"], m["workshops.participants_completed"]["total"],
                m["workshops.participants_completed"]["female"], m["workshops.participants_attended"]["total"])

    for s in (s1, s2):
        attendance.save_roster(ctx, s, [efua.id, kofi.id], organiser)
    assert figures(january) == (1, 2, 1, 2)
    assert figures(february) == (0, 0, 0, 0)
    assert figures(today) == (0, 0, 0, 0)

    attendance.save_roster(ctx, s2, [efua.id], organiser)  # Kofi was not there: his completion is revoked
    assert figures(january) == (1, 2, 1, 2)  # the revoked record still counts; he attended the first session
    attendance.save_roster(ctx, s1, [efua.id], organiser)  # nor at the first
    assert figures(january) == (1, 2, 1, 1)
    attendance.save_roster(ctx, s3, [kofi.id], organiser)  # but at the third: 1 February, with no second
    assert figures(january) == (1, 2, 1, 1) and figures(february) == (1, 0, 0, 1)
    attendance.save_roster(ctx, s1, [efua.id, kofi.id], organiser)  # and at the first after all: he completes 1 February
    assert figures(january) == (1, 1, 1, 2) and figures(february) == (1, 1, 0, 1)
    assert len(_workshop_records(ctx)) == 2


def test_an_edited_run_reconciles_its_completions(ctx, past):
    run, organiser, (efua, kofi) = past["run"], past["organiser"], past["registrations"]
    s1, s2, s3 = run.sessions
    attendance.save_roster(ctx, s1, [efua.id, kofi.id], organiser)
    attendance.save_roster(ctx, s2, [efua.id], organiser)
    attendance.save_roster(ctx, s3, [kofi.id], organiser)
    efuas, kofis = attendance.completion_record(ctx, efua), attendance.completion_record(ctx, kofi)
    assert (efuas.completed_at, kofis.completed_at) == (s2.ends_at, s3.ends_at)
    s2.ends_at += timedelta(minutes=30)  # the second session ran late
    ctx.flush()
    assert attendance.reconcile_run(ctx, run, organiser) == {efua.id: "redated"}
    assert efuas.completed_at == s2.ends_at
    run.required_sessions = 3  # every session, after all
    ctx.flush()
    assert attendance.reconcile_run(ctx, run, organiser) == {efua.id: "revoked", kofi.id: "revoked"}
    assert attendance.reconcile_run(ctx, run, organiser) == {}
