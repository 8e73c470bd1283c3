"""The capacity rule and the waitlist, at the service level, on both databases."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from lms.common import FieldError
from lms.db import get_session
from lms.mail import OutboxMessage
from workshops.services import registration as reg
from workshops.models import Registration
from tests.factories import make_org, make_run, make_user
from tests.support.db import writing
from tests.support.accounts import login


def statuses(s, run_id):
    return s.execute(select(Registration.user_id, Registration.status).where(Registration.run_id == run_id)
                     .order_by(Registration.queued_at, Registration.id)).all()


def test_capacity_then_waitlist_then_promotion(ctx):
    run = make_run(ctx, capacity=2)
    people = [make_user(ctx) for _ in range(4)]
    results = [reg.register(ctx, run.id, p).status for p in people]
    assert results == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    first = ctx.scalar(select(Registration).where(Registration.user_id == people[0].id))
    reg.cancel(ctx, first.id)
    assert [s for _, s in statuses(ctx, run.id)] == ["cancelled", "confirmed", "confirmed", "waitlisted"]
    assert ctx.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.subject.like("A place has opened%"), OutboxMessage.to_addr == people[2].email)) == 1


def test_registering_twice_keeps_one_place(ctx):
    run = make_run(ctx, capacity=5)
    person = make_user(ctx)
    a = reg.register(ctx, run.id, person)
    b = reg.register(ctx, run.id, person)
    assert a.id == b.id and ctx.scalar(select(func.count()).select_from(Registration)) == 1


def test_coming_back_after_cancelling_joins_the_end_of_the_queue(ctx):
    run = make_run(ctx, capacity=1)
    a, b = make_user(ctx), make_user(ctx)
    first = reg.register(ctx, run.id, a)
    reg.register(ctx, run.id, b)
    reg.cancel(ctx, first.id)
    again = reg.register(ctx, run.id, a)
    assert again.id == first.id and again.status == "waitlisted"


def test_approval_required(ctx):
    run = make_run(ctx, capacity=1, approval_required=True)
    a, b = make_user(ctx), make_user(ctx)
    ra, rb = reg.register(ctx, run.id, a), reg.register(ctx, run.id, b)
    assert (ra.status, rb.status) == ("pending", "pending")
    assert reg.approve(ctx, ra.id).status == "confirmed"
    assert reg.approve(ctx, rb.id).status == "waitlisted"
    reg.reject(ctx, ra.id)
    ctx.refresh(rb)
    assert rb.status == "confirmed"


def test_members_only_and_window(ctx):
    from datetime import timedelta

    from lms.db import utcnow

    host = make_org(ctx, name="Host EO")
    sme = make_org(ctx, name="Member SME", kind="sme", parent=host)
    run = make_run(ctx, host=host, audience="members")
    with pytest.raises(FieldError, match="for members of Host EO"):
        reg.register(ctx, run.id, make_user(ctx, org=make_org(ctx, name="Elsewhere")))
    assert reg.register(ctx, run.id, make_user(ctx, org=sme)).status == "confirmed"
    later = make_run(ctx, registration_opens_at=utcnow() + timedelta(days=1))
    with pytest.raises(FieldError, match="not opened yet"):
        reg.register(ctx, later.id, make_user(ctx))


def test_cancelling_the_run_tells_everyone(ctx):
    run = make_run(ctx, capacity=1)
    people = [make_user(ctx) for _ in range(3)]
    for p in people:
        reg.register(ctx, run.id, p)
    reg.cancel_run(ctx, run.id)
    assert {s for _, s in statuses(ctx, run.id)} == {"cancelled"}
    told = set(ctx.scalars(select(OutboxMessage.to_addr).where(OutboxMessage.subject.like("%has been cancelled"))))
    assert told == {p.email for p in people}


def test_snapshots_on_the_registration(ctx):
    org = make_org(ctx, name="Snapshot SME", kind="sme")
    person = make_user(ctx, org=org, sex="female", country="PE")
    r = reg.register(ctx, make_run(ctx).id, person)
    assert (r.organisation_id, r.sex, r.country, r.person_key) == (org.id, "female", "PE", person.person_key)


@pytest.mark.sqlite_only
def test_a_booking_outside_a_writer_transaction_is_refused(app):
    """On SQLite the capacity rule needs BEGIN IMMEDIATE; a GET's session must not book.
    (PostgreSQL locks the run's row in any transaction.)"""
    with app.test_request_context(method="GET"):
        s = get_session()
        run = make_run(s)
        with pytest.raises(RuntimeError, match="writer transaction"):
            reg.register(s, run.id, make_user(s))


def test_threads_never_overbook(app, session):
    """Forty threads, each its own connection, book ten seats at once."""
    run = make_run(session, capacity=10)
    people = [make_user(session) for _ in range(40)]
    session.commit()
    barrier, errors = threading.Barrier(40), []

    def book(user_id):
        try:
            with app.test_request_context():
                barrier.wait(timeout=30)
                s = get_session(write=True)
                from lms.accounts.models import User

                reg.register(s, run.id, s.get(User, user_id))
                s.commit()
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(repr(exc))

    threads = [threading.Thread(target=book, args=(p.id,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    session.refresh_all()
    rows = statuses(session, run.id)
    assert [s for _, s in rows].count("confirmed") == 10
    assert [s for _, s in rows] == ["confirmed"] * 10 + ["waitlisted"] * 30  # in arrival order


def test_run_page_links_the_post_workshop_quiz(app, client, session):
    from tests.factories import make_course, make_series

    make_course(session, slug="due-diligence-essentials")
    series = make_series(session, linked_course_slug="due-diligence-essentials")
    run = make_run(session, series=series)
    make_user(session, email="quiz@example.org")
    session.commit()
    login(client, "quiz@example.org")
    client.post(f"/workshops/runs/{run.id}/register", data={"stakeholder_category": "supplier"})
    page = client.get(f"/workshops/runs/{run.id}").data.decode()
    assert 'href="/courses/due-diligence-essentials/quiz/final"' in page


def test_organiser_decisions_are_audited(client, session):
    from lms.accounts.models import AuditEntry

    host = make_org(session, name="Audit EO")
    make_user(session, email="organiser@example.org", org=host, manager=True)
    run = make_run(session, host=host, approval_required=True)
    person = make_user(session)
    session.commit()
    with writing(client.application) as s:
        from lms.accounts.models import User

        registration_id = reg.register(s, run.id, s.get(User, person.id)).id
        s.commit()
    login(client, "organiser@example.org")
    assert client.post(f"/workshops/registrations/{registration_id}/approve").status_code == 302
    session.refresh_all()
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "registration.approve"))
    assert entry is not None and entry.target_id == registration_id


def test_a_rejected_person_cannot_register_again(ctx):
    run = make_run(ctx, capacity=5)
    person = make_user(ctx)
    first = reg.register(ctx, run.id, person)
    token = first.checkin_token
    reg.reject(ctx, first.id)
    with pytest.raises(FieldError, match="not accepted"):
        reg.register(ctx, run.id, person)
    other = make_user(ctx)
    mine = reg.register(ctx, run.id, other)
    old_token = mine.checkin_token
    reg.cancel(ctx, mine.id)
    again = reg.register(ctx, run.id, other)
    assert again.id == mine.id and again.checkin_token not in (old_token, token)


def test_public_calendar_file_hides_the_online_link(app, client, session):
    run = make_run(session, online_url="https://meet.example.org/secret-room")
    make_user(session, email="insider@example.org")
    session.commit()
    assert b"secret-room" not in client.get(f"/workshops/runs/{run.id}.ics").data
    login(client, "insider@example.org")
    client.post(f"/workshops/runs/{run.id}/register", data={"stakeholder_category": "supplier"})
    assert b"secret-room" in client.get(f"/workshops/runs/{run.id}.ics").data


def test_reminder_links_use_the_configured_base_url(app, session):
    from datetime import timedelta

    from lms.db import utcnow
    from workshops.services.reminders import send_reminders

    app.config["LMS_BASE_URL"] = "https://learn.example.org/"
    run = make_run(session, starts=utcnow() + timedelta(hours=5))
    person = make_user(session)
    session.commit()
    with writing(app) as s:
        from lms.accounts.models import User

        reg.register(s, run.id, s.get(User, person.id))
        s.commit()
    with app.app_context():
        assert send_reminders(app.extensions["lms"].sessionmaker) == 1
    session.refresh_all()
    body = session.scalar(select(OutboxMessage.body_text).where(OutboxMessage.subject.like("Reminder:%")))
    assert f"https://learn.example.org/workshops/runs/{run.id}" in body
