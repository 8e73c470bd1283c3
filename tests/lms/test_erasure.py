"""Erasing a person keeps their records, anonymous, and every count the same."""
from __future__ import annotations

from sqlalchemy import func, select

from lms.accounts.models import AuditEntry, User
from lms.jobs import Job
from lms.mail import OutboxMessage
from lms.records.models import CompletionRecord
from lms.records.services import record_completion
from tests.factories import make_org, make_run, make_user
from tests.support.db import writing
from tests.support.accounts import login
from workshops.services import registration as booking
from workshops.models import Registration


def test_erasure_keeps_anonymous_records(app, client, session):
    org = make_org(session, name="Cocoa SME", kind="sme", parent=make_org(session, name="EO"))
    make_user(session, email="sec@example.org", role="secretariat")
    person = make_user(session, email="ama@example.org", name="Ama Owusu", org=org, sex="female", country="GH")
    run = make_run(session)
    session.commit()
    with writing(app) as s:
        ama = s.get(User, person.id)
        record = record_completion(s, ama, item_type="course", item_id=1, item_key="essentials", item_version=1,
                                   item_title="Due diligence essentials", issuer="Alliance 8.7 Learning")
        booking.register(s, run.id, ama, stakeholder_category="supplier", accessibility_needs="Wheelchair access")
        s.commit()
        code, key = record.certificate_code, ama.person_key
    before = session.scalar(select(func.count()).select_from(CompletionRecord))
    mail_jobs = session.scalar(select(func.count()).select_from(Job).where(Job.kind == "mail"))
    hers = session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.to_addr == "ama@example.org"))
    assert hers >= 1  # her booking confirmation, not sent yet

    login(client, "sec@example.org")
    assert client.post(f"/admin/users/{person.id}/erase", data={}).status_code == 200  # not confirmed
    assert client.post(f"/admin/users/{person.id}/erase", data={"confirm": "yes"}).status_code == 302

    session.refresh_all()
    ama = session.get(User, person.id)
    assert (ama.email, ama.sex, ama.country, ama.password_hash, ama.active) == (None, None, None, None, False)
    assert ama.name != "Ama Owusu" and ama.erased_at is not None
    record = session.scalar(select(CompletionRecord).where(CompletionRecord.certificate_code == code))
    assert (record.user_id, record.person_name) == (None, None)
    assert (record.person_key, record.sex, record.country, record.organisation_name) == (key, "female", "GH", "Cocoa SME")
    assert session.scalar(select(func.count()).select_from(CompletionRecord)) == before
    registration = session.scalar(select(Registration))
    assert (registration.user_id, registration.accessibility_needs, registration.status) == (None, None, "confirmed")
    assert (registration.sex, registration.person_key) == ("female", key)
    assert session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.to_addr == "ama@example.org")) == 0
    # The jobs that would have sent her emails went with them; nobody else's did.
    assert session.scalar(select(func.count()).select_from(Job).where(Job.kind == "mail")) == mail_jobs - hers
    assert session.scalar(select(AuditEntry.action).where(AuditEntry.action == "user.erase")) == "user.erase"
    # The verification page no longer names anyone; the person cannot log in.
    assert "has been erased" in client.get("/admin/users").data.decode()  # the flash, shown once
    response = client.get(f"/records/verify/{code}")
    assert response.status_code == 200 and "Ama Owusu" not in response.data.decode()
    client.post("/account/logout")
    r = login(client, "ama@example.org")
    assert "not right" in r.data.decode()
