"""Erasing a person keeps their records, anonymous, and every count the same."""
from __future__ import annotations

from sqlalchemy import func, select

from lms.accounts.models import AuditEntry, User
from lms.jobs import Job
from lms.mail import OutboxMessage
from lms.records.models import CompletionRecord
from lms.records.services import record_completion
from tests.factories import make_course, make_org, make_run, make_user
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
    assert client.post(f"/admin/users/{person.id}/erase", data={}).status_code == 422  # not confirmed
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


# -- nothing names them afterwards ------------------------------------------------------------

def _traces(session, values) -> list[str]:
    """Every text or JSON column of every table that still holds one of ``values`` (case
    aside, as typed or as JSON escapes it), as "table.column"."""
    import json

    from sqlalchemy import JSON, String, Text, cast, func, or_

    from lms.db import Base

    forms = {f.lower() for v in values for f in (v, json.dumps(v)[1:-1])}
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, JSON):
                text = cast(column, Text)  # the JSON as stored: quiz answers typed by the person
            elif isinstance(column.type, (String, Text)):
                text = column
            else:
                continue
            hit = or_(*(func.lower(text).like(f"%{f}%") for f in forms))
            if session.scalar(select(func.count()).select_from(table).where(hit)):
                found.append(f"{table.name}.{column.name}")
    return found


def test_erasure_leaves_no_trace_of_their_name_or_email(app, session):
    from lms.accounts.erasure import erase_person
    from lms.audit import audit
    from lms.db import utcnow
    from lms.mail import queue_mail
    from lms.orgs.models import Invitation, Membership
    from lms.orgs.services import invite, request_to_join
    from courses.models import Course, QuizAttempt
    from courses.services.attempts import save_answers, start_attempt, submit_attempt
    from courses.services.learning import enrol
    from workshops.models import Evaluation

    name, email = "Abená Owusu-Mensah", "abena.om@example.org"
    org = make_org(session, name="Cocoa Growers")
    sec = make_user(session, email="sec@example.org", role="secretariat")
    make_user(session, email="boss@example.org", name="Kofi Manager", org=org, manager=True)
    other = make_user(session, email="yaw@example.org", name="Yaw Boateng")
    person = make_user(session, email=email, name=name, sex="female", country="GH")
    run = make_run(session)
    course = make_course(session)
    session.commit()
    with writing(app) as s:
        abena, actor = s.get(User, person.id), s.get(User, sec.id)
        org_ = s.get(type(org), org.id)
        # Audit entries naming her, one of them by another actor about another target.
        audit("user.role", abena, actor, session=s, email=email, name=name, role="learner")
        audit("org.note", org_, actor, session=s, note=f"Asked {name} <{email}> to resend")
        # A join request: her message, and the email to the manager naming her (queued).
        request_to_join(s, abena, org_, message=f"I am {name}, please let me in")
        # Someone else's request mentioning her.
        request_to_join(s, s.get(User, other.id), org_, message=f"{name} told me to join")
        # An email about her already sent to the manager.
        sent = queue_mail(s, "boss@example.org", f"{name} left", "password_reset",
                          user=actor, link="https://x/", hours=1)
        sent.sent_at = utcnow()
        # One still queued that names her only in its text: it goes out, without her name.
        queue_mail(s, "yaw@example.org", "Your digest", "password_reset", user=abena, link="https://x/", hours=1)
        # An invitation to her address, and to her by name at another one.
        invite(s, org_, email, name, "member", actor, lambda token: f"https://x/{token}")
        invite(s, org_, "abena.private@example.net", name, "member", actor, lambda token: f"https://x/{token}")
        # A workshop registration with her needs, and her evaluation naming her.
        registration = booking.register(s, run.id, abena, stakeholder_category="supplier",
                                        accessibility_needs=f"{name} needs step-free access")
        s.add(Evaluation(registration_id=registration.id, satisfaction=5, comments=f"Great, thanks - {name}"))
        record = record_completion(s, abena, item_type="course", item_id=1, item_key="essentials",
                                   item_version=1, item_title="Due diligence essentials", issuer="Alliance 8.7")
        # Short-text quiz answers in which she wrote her name and her address: one
        # handed in, one saved on an attempt still under way.
        quiz = s.get(Course, course.id).current_version.quiz("final")
        short = next(q for q in quiz.questions if q.type == "short_text")
        enrol(s, abena, s.get(Course, course.id))
        handed_in = start_attempt(s, abena, quiz)
        submit_attempt(s, handed_in, {str(short.id): f"{name.lower()}, Palermo"})
        under_way = start_attempt(s, abena, quiz)
        save_answers(s, under_way, {str(short.id): f"ask {email}"})
        s.commit()
        key, code = abena.person_key, record.certificate_code
        attempt_ids, short_id = (handed_in.id, under_way.id), str(short.id)
    audits = session.scalar(select(func.count()).select_from(AuditEntry))
    to_boss = select(OutboxMessage).where(OutboxMessage.to_addr == "boss@example.org", OutboxMessage.sent_at.is_(None))
    queued = [m for m in session.scalars(to_boss) if name in m.body_text]
    assert queued and all(m.job_id for m in queued)  # her request, announced to the manager
    queued_jobs = [m.job_id for m in queued]
    session.commit()
    assert _traces(session, [name, email])  # the set-up put them everywhere

    with writing(app) as s:
        erase_person(s, s.get(User, person.id), s.get(User, sec.id))
        s.commit()

    session.refresh_all()
    assert _traces(session, [name, email]) == []
    # The audit entries stay, naming her by her pseudonym; the mail already sent stays
    # too; nobody else lost anything.
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == audits + 1
    details = list(session.scalars(select(AuditEntry.detail).where(AuditEntry.action.in_(("user.role", "org.note")))))
    assert all(key in d for d in details) and len(details) == 2
    assert session.scalar(select(OutboxMessage.subject).where(OutboxMessage.sent_at.is_not(None))) == f"{key} left"
    theirs = session.scalar(select(Membership).where(Membership.user_id == other.id))
    assert theirs.message == f"{key} told me to join" and theirs.status == "pending"
    assert session.scalar(select(func.count()).select_from(Invitation)) == 0
    # The manager is not told of a request the erasure ended; Yaw's still reaches them.
    assert session.scalar(select(func.count()).select_from(Job).where(Job.id.in_(queued_jobs))) == 0
    assert any("Yaw Boateng" in m.body_text for m in session.scalars(to_boss))
    digest = session.scalar(select(OutboxMessage).where(OutboxMessage.subject == "Your digest"))
    assert key in digest.body_text and digest.job_id is not None
    assert session.scalar(select(Evaluation.comments)) == f"Great, thanks - {key}"
    assert session.scalar(select(CompletionRecord.person_key).where(CompletionRecord.certificate_code == code)) == key
    # Her quiz answers keep their words, naming her by her pseudonym; the grade stands.
    answers = [session.get(QuizAttempt, i).answers[short_id] for i in attempt_ids]
    assert answers == [f"{key}, Palermo", f"ask {key}"]
    assert session.get(QuizAttempt, attempt_ids[0]).status == "submitted"
