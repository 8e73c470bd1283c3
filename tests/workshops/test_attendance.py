"""Attendance: QR check-in, the roster, self check-in, completion of a run and its
certificate, evaluations. On SQLite and PostgreSQL."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from lms.accounts.models import AuditEntry
from lms.common import FieldError
from lms.db import utcnow, write_lock
from lms.records.models import CompletionRecord
from tests.factories import make_org, make_user
from tests.support.api import api_headers, create_api_token
from workshops.services import attendance, evaluations
from workshops.models import Attendance, Evaluation, Registration, RunSession, WorkshopRun, WorkshopSeries


def _run(session, host, starts, sessions=2, required=None, code="K7M-3PQ", hours=2, title="Due diligence for SMEs"):
    n = secrets.token_hex(3)
    series = WorkshopSeries(slug=f"dd-smes-{n}", title="Due diligence for SMEs", summary="Four sessions.")
    session.add(series)
    session.flush()
    run = WorkshopRun(series_id=series.id, host_organisation_id=host.id, title=title, language="fr", country="CI",
                      timezone="Africa/Abidjan", capacity=30, checkin_code=code, required_sessions=required)
    run.sessions = [RunSession(title=f"Session {i + 1}", starts_at=starts + timedelta(days=i),
                               ends_at=starts + timedelta(days=i, hours=hours)) for i in range(sessions)]
    session.add(run)
    session.flush()
    return run


def _register(session, run, user, status="confirmed"):
    registration = Registration(run_id=run.id, user_id=user.id, status=status,
                                checkin_token=secrets.token_urlsafe(16), person_key=user.person_key)
    session.add(registration)
    session.flush()
    return registration


@pytest.fixture
def world(session):
    host = make_org(session, name="Fédération des employeurs", kind="employers_organisation", country="CI")
    other = make_org(session, name="Other Employers", kind="employers_organisation")
    sme = make_org(session, name="Cocoa SME", kind="sme", parent=host, size_band="micro")
    organiser = make_user(session, email="organiser@example.org", name="Organiser", org=host, manager=True)
    stranger = make_user(session, email="stranger@example.org", org=other, manager=True)
    people = [make_user(session, email=f"p{i}@example.org", name=f"Awa {i}", org=sme, sex="female", country="CI")
              for i in range(3)]
    # The first session began ten minutes ago: it is in progress.
    run = _run(session, host, utcnow().replace(microsecond=0) - timedelta(minutes=10), sessions=3, required=2)
    registrations = [_register(session, run, p) for p in people]
    session.commit()
    return {"run": run, "organiser": organiser, "stranger": stranger, "people": people,
            "registrations": registrations, "host": host, "sme": sme}


def _attendances(session, registration_id=None):
    session.refresh_all()
    query = select(Attendance)
    if registration_id is not None:
        query = query.where(Attendance.registration_id == registration_id)
    return session.scalars(query).all()


def test_qr_check_in_twice_records_one_attendance(client, auth, session, world):
    registration = world["registrations"][0]
    auth.login(world["organiser"])
    page = client.get(f"/workshops/checkin/{registration.checkin_token}")
    assert page.status_code == 200
    assert "Awa 0" in page.text and "Session 1" in page.text

    first = client.post(f"/workshops/checkin/{registration.checkin_token}", data={})
    assert first.status_code == 200 and "Checked in for Session 1" in first.text
    second = client.post(f"/workshops/checkin/{registration.checkin_token}", data={})
    assert second.status_code == 200 and "Already checked in" in second.text

    rows = _attendances(session, registration.id)
    assert len(rows) == 1
    assert rows[0].method == "qr" and rows[0].recorded_by_id == world["organiser"].id
    assert rows[0].session_id == world["run"].sessions[0].id


@pytest.mark.parametrize("who", ["stranger", "participant"])
def test_qr_check_in_refused_to_others(client, auth, session, world, who):
    registration = world["registrations"][0]
    auth.login(world["stranger"] if who == "stranger" else world["people"][0])
    assert client.get(f"/workshops/checkin/{registration.checkin_token}").status_code == 403
    assert client.post(f"/workshops/checkin/{registration.checkin_token}", data={}).status_code == 403
    assert _attendances(session) == []


def test_unknown_check_in_token_is_404(client, auth, world):
    auth.login(world["organiser"])
    assert client.get("/workshops/checkin/not-a-token").status_code == 404


def test_roster_sets_exactly_the_ticked(client, auth, session, world):
    run, (r0, r1, r2) = world["run"], world["registrations"]
    first = run.sessions[0]
    write_lock(session)
    code = attendance.session_room_code(run, first)
    assert attendance.self_check_in(session, r0, f"{code[:3].lower()} {code[3:].lower()}") is True
    session.commit()

    auth.login(world["organiser"])
    url = f"/workshops/runs/{run.id}/sessions/{first.id}/roster"
    page = client.get(url)
    assert page.status_code == 200
    assert f'<label for="present-{r0.id}">Awa 0</label>' in page.text
    assert "Room code (self)" in page.text
    assert f'id="present-{r0.id}" checked' in page.text and f'id="present-{r1.id}" checked' not in page.text

    response = client.post(url, data={"present": [str(r1.id), str(r2.id)]})
    assert response.status_code == 302
    assert {a.registration_id for a in _attendances(session)} == {r1.id, r2.id}
    assert session.get(RunSession, first.id).attendance_taken_at is not None

    client.post(url, data={"present": [str(r2.id)]})
    rows = _attendances(session)
    assert [(a.registration_id, a.method) for a in rows] == [(r2.id, "roster")]


def test_roster_refused_to_another_organisation(client, auth, world):
    run = world["run"]
    auth.login(world["stranger"])
    assert client.get(f"/workshops/runs/{run.id}/sessions/{run.sessions[0].id}/roster").status_code == 403


def _attend(session, registration, run_session, method="roster"):
    session.rollback()  # end any read snapshot: the write lock is taken first
    write_lock(session)
    recorded = attendance.record_attendance(session, registration, run_session, method)
    session.commit()
    return recorded


def _records(session):
    session.refresh_all()
    return session.scalars(select(CompletionRecord).where(CompletionRecord.item_type == "workshop")).all()


def test_attending_the_required_sessions_completes_the_run_once(client, session, world):
    run = _run(session, world["host"], utcnow().replace(microsecond=0) - timedelta(days=5), sessions=3, required=2)
    person = world["people"][0]
    registration = _register(session, run, person)
    session.commit()
    assert _attend(session, registration, run.sessions[0]) is True
    assert _records(session) == []  # 1 of 2 required
    assert _attend(session, registration, run.sessions[0]) is False  # idempotent
    assert _attend(session, registration, run.sessions[1], method="qr") is True
    assert _attend(session, registration, run.sessions[2], method="self") is True

    (record,) = _records(session)
    # Dated when the second (the last required) session ended, days before it was entered.
    assert record.completed_at == run.sessions[1].ends_at
    assert (record.user_id, record.item_type, record.item_id, record.item_key, record.item_version) == (
        person.id, "workshop", run.id, run.series.slug, 1)
    assert record.item_title == run.title and record.language == "fr"
    assert record.issuer == "Fédération des employeurs"
    assert record.person_name == "Awa 0" and record.sex == "female" and record.country == "CI"
    assert record.organisation_id == world["sme"].id and record.parent_organisation_id == world["host"].id
    assert record.certificate_code

    page = client.get(f"/records/verify/{record.certificate_code}")
    assert page.status_code == 200
    assert "Awa 0" in page.text and run.title in page.text


def test_fewer_than_required_sessions_gives_no_record(session, world):
    host = world["host"]
    everything = _run(session, host, utcnow() - timedelta(days=3), sessions=2, required=None)
    registration = _register(session, everything, world["people"][1])
    session.commit()
    _attend(session, registration, everything.sessions[0])
    assert _records(session) == []
    _attend(session, registration, everything.sessions[1])
    assert len(_records(session)) == 1


def test_only_confirmed_registrations_attend(session, world):
    waiting = _register(session, _run(session, world["host"], utcnow()), world["people"][0], status="waitlisted")
    session.commit()
    session.rollback()
    write_lock(session)
    with pytest.raises(FieldError):
        attendance.record_attendance(session, waiting, waiting.run.sessions[0], "roster")
    session.rollback()
    assert _attendances(session) == []


def test_self_check_in_code_and_window(session, world):
    run, registration = world["run"], world["registrations"][0]
    start = run.sessions[0].starts_at
    code = attendance.session_room_code(run, run.sessions[0])
    write_lock(session)
    with pytest.raises(FieldError, match="not the code"):
        attendance.self_check_in(session, registration, "K7M-3PX")
    # A code seen at another session does not work for this one.
    with pytest.raises(FieldError, match="not the code"):
        attendance.self_check_in(session, registration, attendance.session_room_code(run, run.sessions[1]))
    # Not before the session starts, not even a minute: the next session's start is given.
    for early in (timedelta(minutes=31), timedelta(minutes=1), timedelta(seconds=1)):
        with pytest.raises(FieldError, match="No session .* The next one, Session 1, starts .*Africa/Abidjan"):
            attendance.self_check_in(session, registration, code, now=start - early)
    with pytest.raises(FieldError, match="No session"):
        attendance.self_check_in(session, registration, code, now=start + timedelta(hours=2, minutes=31))
    assert attendance.self_check_in(session, registration, f" {code[:3].lower()}-{code[3:].lower()} ",
                                    now=start) is True
    assert attendance.self_check_in(session, registration, code, now=start + timedelta(hours=2, minutes=30)) is False
    session.commit()
    (row,) = _attendances(session)
    assert (row.method, row.session_id, row.recorded_by_id) == ("self", run.sessions[0].id, world["people"][0].id)


def test_self_check_in_page(client, auth, session, world):
    run = world["run"]
    url = f"/workshops/runs/{run.id}/self-check-in"
    auth.login(world["people"][0])
    page = client.get(url)
    assert page.status_code == 200 and "Code shown in the room" in page.text
    wrong = client.post(url, data={"code": "nope"})
    assert wrong.status_code == 422 and "not the code shown in the room" in wrong.text
    assert 'value="nope"' in wrong.text  # nothing typed is lost
    right = client.post(url, data={"code": attendance.session_room_code(run, run.sessions[0]).lower()})
    assert "You are checked in" in right.text
    assert len(_attendances(session)) == 1
    auth.logout()
    auth.login(world["stranger"])
    assert client.get(url).status_code == 403


def test_evaluation_saved_updated_and_summarised(client, auth, session, world):
    run, (r0, r1, _) = world["run"], world["registrations"]
    url = f"/workshops/runs/{run.id}/evaluation"
    auth.login(world["people"][0])
    assert "attended at least one session" in client.get(url).text  # not attended yet
    for registration in (r0, r1):
        _attend(session, registration, run.sessions[0])

    assert client.post(url, data={"satisfaction": "4", "comments": "Useful."}).status_code == 302
    assert client.post(url, data={"satisfaction": "5", "comments": "Very useful."}).status_code == 302
    refused = client.post(url, data={"comments": "no rating"})
    assert refused.status_code == 422 and "Choose how satisfied you are" in refused.text
    auth.logout()
    auth.login(world["people"][1])
    client.post(url, data={"satisfaction": "2", "comments": ""})
    auth.logout()

    session.refresh_all()
    assert session.scalar(select(func.count()).select_from(Evaluation)) == 2
    summary = evaluations.evaluation_summary(session, run.id)
    assert (summary.count, summary.mean) == (2, 3.5)
    assert summary.distribution == {1: 0, 2: 1, 3: 0, 4: 0, 5: 1}
    assert summary.comments == ["Very useful."]

    auth.login(world["organiser"])
    page = client.get(f"/workshops/runs/{run.id}/evaluations")
    assert page.status_code == 200 and "3.5" in page.text and "Very useful." in page.text
    auth.logout()
    auth.login(world["people"][2])
    assert client.get(f"/workshops/runs/{run.id}/evaluations").status_code == 403


def test_evaluation_waits_for_the_first_session(session, world):
    later = _run(session, world["host"], utcnow() + timedelta(days=2))
    registration = _register(session, later, world["people"][0])
    session.commit()
    assert "opens when the first session starts" in evaluations.may_evaluate(session, registration)


def test_room_code_page(client, auth, world):
    run = world["run"]
    auth.login(world["organiser"])
    page = client.get(f"/workshops/runs/{run.id}/room-code")
    assert page.status_code == 200
    assert all(attendance.session_room_code(run, s) in page.text for s in run.sessions)
    auth.logout()
    auth.login(world["people"][0])
    assert client.get(f"/workshops/runs/{run.id}/room-code").status_code == 403


# -- only sessions that have started, through the pages -------------------------------

def test_attendance_refused_before_the_session_starts(client, auth, session, world):
    run, (r0, r1, _) = world["run"], world["registrations"]
    later = run.sessions[1]  # tomorrow
    auth.login(world["organiser"])
    manage = client.get(f"/workshops/runs/{run.id}/manage").text
    url = f"/workshops/runs/{run.id}/sessions/{later.id}/roster"
    assert f'href="/workshops/runs/{run.id}/sessions/{run.sessions[0].id}/roster"' in manage
    assert f'href="{url}"' not in manage and "attendance opens when the session starts" in manage

    page = client.get(url)
    assert page.status_code == 200 and "Session 2 has not started yet: it starts" in page.text
    assert 'name="present"' not in page.text
    refused = client.post(url, data={"present": [str(r0.id), str(r1.id)]})
    assert refused.status_code == 409
    assert "Session 2 has not started yet" in refused.text and "Attendance can be taken once it has started." in refused.text
    qr = client.post(f"/workshops/checkin/{r0.checkin_token}", data={"session_id": str(later.id)})
    assert qr.status_code == 409 and "Session 2 has not started yet" in qr.text

    assert _attendances(session) == [] and session.get(RunSession, later.id).attendance_taken_at is None
    assert _records(session) == []


# -- completion dates and corrections, through the pages --------------------------------

@pytest.fixture
def held(session, world):
    """A run whose two sessions (both required) ended in January 2026; the organiser
    enters the rosters later."""
    run = _run(session, world["host"], datetime(2026, 1, 20, 9, tzinfo=timezone.utc), sessions=2,
               title="Responsible recruitment")
    registrations = [_register(session, run, p) for p in world["people"][:2]]
    session.commit()
    return run, registrations


def _bearer(app, session):
    secretariat = make_user(session, email="sec@example.org", role="secretariat")
    session.commit()
    return api_headers(create_api_token(app, secretariat))


def test_roster_correction_is_audited_and_reverses_the_completion(app, client, auth, session, world, held):
    run, (r0, r1) = held
    s1, s2 = run.sessions
    headers = _bearer(app, session)

    def figures(start, end):
        m = client.get(f"/api/v1/metrics?from={start}&to={end}", headers=headers).json
        return (m["workshops"]["runs_held"], m["workshops"]["participants_completed"]["total"],
                m["records"]["certificates_issued"]["total"])

    auth.login(world["organiser"])
    roster = lambda s, *regs: client.post(  # noqa: E731
        f"/workshops/runs/{run.id}/sessions/{s.id}/roster", data={"present": [str(r.id) for r in regs]},
        follow_redirects=True)
    roster(s1, r0, r1)
    done = roster(s2, r0, r1)
    assert "2 participants have completed the workshop: their certificates are issued." in done.text
    records = {r.user_id: r for r in _records(session)}
    assert [r.completed_at for r in records.values()] == [s2.ends_at, s2.ends_at]  # 21 January, 11:00 UTC
    awa1 = records[world["people"][1].id]
    assert "2026-01-21" in client.get(f"/records/verify/{awa1.certificate_code}").text
    # The run and its completions are counted in January, when it was held; not today, when it was entered.
    assert figures("2026-01-01", "2026-01-31") == (1, 2, 2)
    today = utcnow().date().isoformat()
    assert figures(today, today) == (0, 0, 0)

    # Awa 1 was ticked at the second session by mistake.
    corrected = roster(s2, r0)
    assert "1 participant no longer has the required sessions: their certificate is revoked." in corrected.text
    session.refresh_all()
    awa1 = session.get(CompletionRecord, awa1.id)
    assert awa1.revoked_at is not None and not awa1.is_valid
    verify = client.get(f"/records/verify/{awa1.certificate_code}").text
    assert "This certificate has been revoked." in verify and "the organiser corrected the attendance list" in verify
    auth.logout()
    auth.login(world["people"][1])
    assert client.get(f"/records/certificates/{awa1.certificate_code}.pdf").status_code == 410
    auth.logout()
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action.in_(
        ("workshop_attendance.roster", "certificate.revoke"))).order_by(AuditEntry.id)).all()
    assert [(e.action, e.target_id, e.actor_id) for e in entries[-2:]] == [
        ("workshop_attendance.roster", s2.id, world["organiser"].id),
        ("certificate.revoke", awa1.id, world["organiser"].id)]
    assert f'"removed": [{r1.id}]' in entries[-2].detail
    # Both figures still count the run in January: the revoked record keeps its place (definitions.py).
    assert figures("2026-01-01", "2026-01-31") == (1, 2, 2)

    # She was there after all: the same certificate is valid again; still one record each.
    auth.login(world["organiser"])
    assert "1 participant has completed the workshop" in roster(s2, r0, r1).text
    session.refresh_all()
    assert session.get(CompletionRecord, awa1.id).is_valid and len(_records(session)) == 2
    assert figures("2026-01-01", "2026-01-31") == (1, 2, 2)


@pytest.mark.parametrize("value", ["²", "٣", "9" * 5001, "99999999999999999999"])
def test_roster_refuses_numbers_that_name_no_registration(client, auth, session, world, value):
    """Values that pass ``str.isdigit()`` but ``int()`` refuses (superscripts, other
    scripts' digits, beyond Python's 4,300-digit limit) or beyond any id: 400, nothing saved."""
    run, r0 = world["run"], world["registrations"][0]
    auth.login(world["organiser"])
    url = f"/workshops/runs/{run.id}/sessions/{run.sessions[0].id}/roster"
    assert client.post(url, data={"present": [str(r0.id), value]}).status_code == 400
    assert _attendances(session) == []
