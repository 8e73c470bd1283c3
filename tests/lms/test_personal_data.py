"""A person's own data as a JSON download (the data access right), on both databases."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from courses.models import Enrolment, LessonRead, QuizAttempt
from lms.accounts.models import AuditEntry
from lms.db import utcnow
from lms.records.services import record_completion
from workshops.models import Attendance, CalendarFeed, Evaluation, Registration
from tests.factories import make_course, make_org, make_run, make_user


def _person(session, tag, course, run):
    """Someone with a membership, an enrolment, a lesson read, a quiz attempt, a
    registration with attendance and an evaluation, and a certificate; every text of
    theirs carries ``tag``."""
    org = make_org(session, name=f"Organisation {tag}")
    user = make_user(session, email=f"{tag.lower()}@example.org", name=f"Person {tag}", org=org, sex="female")
    version = course.current_version
    session.add(Enrolment(user_id=user.id, course_id=course.id, version_id=version.id))
    session.add(LessonRead(user_id=user.id, lesson_id=version.lessons[0].id))
    session.add(QuizAttempt(user_id=user.id, quiz_id=version.quiz("final").id, number=1, status="submitted",
                            layout={"questions": []}, answers={"q1": f"answer {tag}"}, score=80, passed=True))
    registration = Registration(run_id=run.id, user_id=user.id, status="confirmed", checkin_token=f"token-{tag}",
                                accessibility_needs=f"needs {tag}", person_key=user.person_key)
    session.add(registration)
    session.flush()
    session.add(Attendance(registration_id=registration.id, session_id=run.sessions[0].id, method="roster"))
    session.add(Evaluation(registration_id=registration.id, satisfaction=5, comments=f"comment {tag}"))
    session.add(CalendarFeed(user_id=user.id, token=f"feed-secret-{tag}"))
    record = record_completion(session, user, item_type="course", item_id=course.id, item_key=course.slug,
                               item_version=1, item_title=f"Course {course.slug}", issuer="Alliance 8.7")
    session.flush()
    return user, record


def test_a_person_downloads_their_own_data_and_nobody_elses(app, session, client, auth):
    course = make_course(session, slug="dd-essentials")
    run = make_run(session, starts=utcnow() - timedelta(days=1))
    me, my_record = _person(session, "Abena", course, run)
    other, other_record = _person(session, "Kwame", course, run)
    session.commit()

    assert auth.login(me.email).status_code == 302
    response = client.get("/account/profile/data")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="my-data-{utcnow().date().isoformat()}.json"'
    assert "no-store" in response.headers["Cache-Control"]
    data = json.loads(response.data)

    assert data["profile"]["email"] == "abena@example.org"
    assert data["profile"]["name"] == "Person Abena"
    assert [m["organisation"]["name"] for m in data["memberships"]] == ["Organisation Abena"]
    assert [m["status"] for m in data["memberships"]] == ["active"]
    [enrolment] = data["courses"]["enrolments"]
    assert enrolment["course"] == "dd-essentials"
    assert [r["lesson"] for r in enrolment["lessons_read"]] == [1]
    [attempt] = data["courses"]["quiz_attempts"]
    assert (attempt["answers"], attempt["score"], attempt["passed"]) == ({"q1": "answer Abena"}, 80, True)
    [registration] = data["workshops"]["registrations"]
    assert registration["accessibility_needs"] == "needs Abena"
    assert registration["status"] == "confirmed"
    assert [a["session"] for a in registration["attendance"]] == [run.sessions[0].title]
    assert registration["evaluation"]["comments"] == "comment Abena"
    assert data["workshops"]["calendar_feed"] is not None
    [record] = data["completion_records"]
    assert record["certificate"]["certificate_code"] == my_record.certificate_code
    assert record["certificate"]["verification_url"].endswith(f"/records/verify/{my_record.certificate_code}")

    text = response.get_data(as_text=True)
    for theirs in ("kwame", "Kwame", other_record.certificate_code, other.person_key):
        assert theirs not in text
    # secrets are not personal data to hand out: the password hash, the session and feed tokens
    for secret in (me.password_hash, me.session_token, "feed-secret-Abena", "token-Abena"):
        assert secret not in text

    session.refresh_all()
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "personal_data.download"))
    assert (entry.actor_id, entry.target_type, entry.target_id) == (me.id, "User", me.id)


def test_someone_with_nothing_yet_gets_the_empty_parts(app, session, client, auth):
    me = make_user(session, email="new@example.org")
    session.commit()
    auth.login(me.email)
    data = client.get("/account/profile/data").get_json()
    assert data["memberships"] == [] and data["completion_records"] == []
    assert data["courses"] == {"enrolments": [], "quiz_attempts": []}
    assert data["workshops"] == {"registrations": [], "calendar_feed": None}
    assert data["account"] == {"audit_log": [], "failed_sign_ins": []}
    client.get("/account/profile/data")
    assert [e["action"] for e in client.get("/account/profile/data").get_json()["account"]["audit_log"]] == \
        ["personal_data.download", "personal_data.download"]


def test_the_profile_page_links_the_download_and_visitors_must_sign_in(app, session, client, auth):
    me = make_user(session, email="me@example.org")
    session.commit()
    visitor = client.get("/account/profile/data")
    assert visitor.status_code == 302 and "/account/login" in visitor.headers["Location"]
    auth.login(me.email)
    assert b'href="/account/profile/data"' in client.get("/account/profile").data


def test_a_feature_adds_its_part_through_the_registry():
    import pytest

    from lms.registry import Registry

    registry = Registry()
    source = lambda session, user: []  # noqa: E731
    registry.add_personal_data("things", source)
    registry.add_personal_data("things", source)
    assert registry.personal_data == [("things", source)]
    with pytest.raises(ValueError):
        registry.add_personal_data("things", lambda session, user: {})
