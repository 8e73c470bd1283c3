"""Demo activity: what learners and employers' organisations have done, so that the
records, certificates and (later) the metrics have something true to show."""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.accounts.models import User
from lms.db import utcnow
from lms.demo import DOMAIN
from lms.orgs.models import Membership, Organisation
from lms.records.services import record_completion


def load_activity(session: Session, echo=print) -> None:
    """Course and workshop activity for the demo: enrolments, a pre-test and final
    attempts, completions with certificates, a past run with attendance and
    evaluations, and an upcoming run with a waiting list. Needs the starter content
    imported; skipped (with a word) when it is not. Loading twice adds nothing."""
    from courses import models as course_models
    from courses.quiz.engine import plan_fingerprint

    from . import models as workshop_models

    Course, Enrolment, LessonRead, QuizAttempt = (course_models.Course, course_models.Enrolment,
                                                 course_models.LessonRead, course_models.QuizAttempt)
    course = session.scalar(select(Course).where(Course.slug == "due-diligence-essentials"))
    series = session.scalar(select(workshop_models.WorkshopSeries).where(
        workshop_models.WorkshopSeries.slug == "due-diligence-for-smes"))
    if course is None or series is None:
        echo("The starter content is not imported (run `lms init`); no activity loaded.")
        return
    if session.scalar(select(Enrolment.id).limit(1)) is not None:
        echo("Demo activity already loaded.")
        return
    rng = random.Random(8)
    now = utcnow().replace(microsecond=0)
    version = course.current_version
    pretest, final = version.quiz("pretest"), version.quiz("final")
    learners = session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(Membership.status == "active", Organisation.kind == "sme", User.email.like(f"%@{DOMAIN}"))
        .order_by(User.id)
    ).all()
    echo(f"Course activity for {len(learners)} learners")
    for i, user in enumerate(learners):
        started = now - timedelta(days=rng.randint(20, 120))
        org = user.organisation
        enrolment = Enrolment(user_id=user.id, course_id=course.id, version_id=version.id, started_at=started,
                              organisation_id=org.id, sex=user.sex, country=user.country)
        session.add(enrolment)
        pre_score = rng.choice([20.0, 30.0, 40.0, 50.0])
        session.add(QuizAttempt(user_id=user.id, quiz_id=pretest.id, number=1, status="submitted",
                                plan_fingerprint=plan_fingerprint(pretest.topic_plan),
                                started_at=started, submitted_at=started + timedelta(minutes=9),
                                layout={"questions": []}, answers={}, score=pre_score, result={"questions": []}))
        lessons_read = version.lessons if i % 3 != 2 else version.lessons[: rng.randint(1, 4)]
        for n, lesson in enumerate(lessons_read):
            session.add(LessonRead(user_id=user.id, lesson_id=lesson.id, read_at=started + timedelta(days=n + 1)))
        enrolment.last_lesson_id = lessons_read[-1].id
        if len(lessons_read) == len(version.lessons):
            done = started + timedelta(days=len(lessons_read) + 2)
            post = rng.choice([70.0, 80.0, 90.0, 100.0])
            session.add(QuizAttempt(user_id=user.id, quiz_id=final.id, number=1, status="submitted",
                                    plan_fingerprint=plan_fingerprint(final.topic_plan),
                                    started_at=done - timedelta(minutes=20), submitted_at=done,
                                    layout={"questions": []}, answers={}, score=post, passed=True,
                                    result={"questions": []}))
            enrolment.completed_at = done
            session.flush()
            record_completion(session, user, item_type="course", item_id=course.id, item_key=course.slug,
                              item_version=version.number, item_title=version.title, language=version.language,
                              score=post, completed_at=done, issuer="Alliance 8.7 Learning",
                              validity_months=version.certificate_validity_months)
    session.flush()
    _demo_runs(session, workshop_models, series, rng, now, echo)


#: Where the demo's runs are held, by the host's country (the runs' title lines name it).
CITIES = {"CI": "Abidjan", "GH": "Accra", "CD": "Kinshasa", "PE": "Lima", "BR": "São Paulo", "UZ": "Tashkent",
          "TH": "Bangkok"}


def _demo_runs(session, m, series, rng, now, echo) -> None:
    eos = session.scalars(select(Organisation).where(Organisation.kind == "employers_organisation",
                                                     Organisation.parent_id.is_not(None)).order_by(Organisation.id)).all()
    zones = {"CI": "Africa/Abidjan", "GH": "Africa/Accra", "CD": "Africa/Lubumbashi", "PE": "America/Lima",
             "BR": "America/Sao_Paulo", "UZ": "Asia/Tashkent", "TH": "Asia/Bangkok"}
    for k, eo in enumerate(eos[:3]):
        members = session.scalars(
            select(User).join(Membership, Membership.user_id == User.id)
            .join(Organisation, Organisation.id == Membership.organisation_id)
            .where(Membership.status == "active", Organisation.parent_id == eo.id).order_by(User.id)).all()
        for past in (True, False):
            first = now + (timedelta(days=-40 - 10 * k) if past else timedelta(days=14 + 7 * k))
            capacity = len(members) + 2 if past else max(3, len(members) - 3)
            run = m.WorkshopRun(series_id=series.id, host_organisation_id=eo.id, title=series.title,
                                language="fr" if eo.country in ("CI", "CD") else "en", country=eo.country,
                                venue=f"{eo.name}, conference room", city=CITIES.get(eo.country),
                                timezone=zones.get(eo.country, "UTC"),
                                capacity=capacity, audience="members", checkin_code="".join(rng.choices(m.CHECKIN_ALPHABET, k=6)))
            run.sessions = [m.RunSession(title=s.title, starts_at=first + timedelta(days=7 * i),
                                         ends_at=first + timedelta(days=7 * i, hours=2)) for i, s in enumerate(series.sessions)]
            session.add(run)
            session.flush()
            for j, user in enumerate(members):
                status = m.RegistrationStatus.CONFIRMED if j < capacity else m.RegistrationStatus.WAITLISTED
                reg = m.Registration(run_id=run.id, user_id=user.id, status=status,
                                     queued_at=first - timedelta(days=20, minutes=-j),
                                     confirmed_at=first - timedelta(days=20) if status == m.RegistrationStatus.CONFIRMED else None,
                                     stakeholder_category="supplier", checkin_token=f"demo{run.id}x{user.id}x{rng.getrandbits(40):x}",
                                     person_key=user.person_key, organisation_id=user.organisation.id,
                                     sex=user.sex, country=user.country)
                session.add(reg)
                session.flush()
                if past and status == m.RegistrationStatus.CONFIRMED:
                    attended = [s for s in run.sessions if rng.random() < 0.85]
                    for s in attended:
                        session.add(m.Attendance(registration_id=reg.id, session_id=s.id, checked_in_at=s.starts_at,
                                                 method="roster"))
                    if len(attended) == len(run.sessions):
                        record_completion(session, user, item_type="workshop", item_id=run.id, item_key=series.slug,
                                          item_version=1, item_title=run.title, language=run.language,
                                          completed_at=run.sessions[-1].ends_at, issuer=eo.name)
                    if attended:
                        session.add(m.Evaluation(registration_id=reg.id, satisfaction=rng.choice([3, 4, 4, 5, 5]),
                                                 comments=rng.choice([None, "Very practical.", "More time for the action plan, please."]),
                                                 submitted_at=run.sessions[-1].ends_at))
            if past:
                for s in run.sessions:
                    s.attendance_taken_at = s.ends_at
            echo(f"{'Past' if past else 'Upcoming'} run by {eo.name}: {len(members)} registrations")
    session.flush()
