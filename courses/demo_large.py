"""The courses' part of ``lms demo --scale large`` (see ``lms.demo_large``): enrolments,
lessons read, pre-test and final quiz attempts, and course completion records with
their certificates, for the generated learners and the courses in the database.

It runs after the workshops and writes every completion record still to write, so
the total is exact: first completions (at most ~80% of enrolments, enrolling more
people when needed), then about 5% re-certifications (a new pass after an expired
certificate, for courses with a validity period); only when the people are too few
for that many records do some people complete a course again more often.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from lms.demo_large import LargeDemo, LargeDemoError
from lms.records.models import CompletionRecord
from lms.records.services import add_months

from .metrics import refresh_knowledge_gain_pairs
from .models import Course, CourseVersion, Enrolment, LessonRead, QuizAttempt
from .quiz.engine import plan_fingerprint
from .services import ISSUER

#: Chance that a person of an organisation kind enrols, by the course's audience.
ENROLMENT_RATES = {
    "sme": {"sme": 0.9, "large_enterprise": 0.7, "business_association": 0.7, "employers_organisation": 0.5},
    "employers_organisation": {"employers_organisation": 0.85, "business_association": 0.5,
                               "large_enterprise": 0.25, "sme": 0.1},
}
OTHER_RATE = {"sme": 0.35, "employers_organisation": 0.3}
ALL_RATE = 0.6
COMPLETION_RATE = 0.8
RECERTIFIED_SHARE = 0.05


@dataclass
class _Course:
    id: int
    slug: str
    version_id: int
    number: int
    title: str
    language: str
    audience: str
    validity: int | None
    lesson_ids: list
    pretest_id: int | None
    final_id: int | None
    pass_mark: float
    #: the topic plans' fingerprints, as the attempts would carry them (None: a plain draw)
    plans: dict


def _courses(session) -> list[_Course]:
    courses = []
    for course in session.scalars(select(Course).where(Course.published.is_(True), Course.current_version_id.is_not(None))
                                  .order_by(Course.id)):
        v: CourseVersion = course.current_version
        pretest, final = v.quiz("pretest"), v.quiz("final")
        courses.append(_Course(course.id, course.slug, v.id, v.number, v.title, v.language, v.audience,
                               v.certificate_validity_months, [lesson.id for lesson in v.lessons],
                               pretest.id if pretest else None, final.id if final else None,
                               final.pass_mark if final else 0.0,
                               {q.id: plan_fingerprint(q.topic_plan) for q in (pretest, final) if q}))
    return courses


def _score(value: float, lo: float = 0, hi: float = 100) -> float:
    return float(min(hi, max(lo, 5 * round(value / 5))))


def generate_large_demo(ctx: LargeDemo) -> None:
    rng = ctx.rng
    wanted = ctx.take_records(ctx.records_left)
    if not ctx.people:
        return
    courses = _courses(ctx.session)
    if not courses:
        if wanted:
            raise LargeDemoError("No courses in the database: run `flask --app wsgi lms init` first "
                                 "(it imports the starter courses).")
        ctx.echo("No courses in the database: no course activity generated.")
        return

    # Who enrols where: by audience, then more people if the records need them.
    enrolled = []
    for course in courses:
        rates = ENROLMENT_RATES.get(course.audience, {})
        default = OTHER_RATE.get(course.audience, ALL_RATE)
        enrolled.append([p for p in ctx.people if rng.random() < rates.get(p.org.kind, default)])
    recertified = round(RECERTIFIED_SHARE * wanted) if any(c.validity for c in courses) else 0
    first = wanted - recertified
    missing = math.ceil(first / COMPLETION_RATE) - sum(map(len, enrolled))
    if missing > 0:
        taken = [{p.index for p in people} for people in enrolled]
        spare = [(i, p) for i in range(len(courses)) for p in ctx.people if p.index not in taken[i]]
        for i, p in rng.sample(spare, min(missing, len(spare))):
            enrolled[i].append(p)
    enrolments = [(course, person, started) for course, people in zip(courses, enrolled)
                  for person, started in ctx.spread(people, hi=ctx.now - timedelta(days=2))]
    first = min(first, len(enrolments))
    extra = wanted - first

    completed = sorted(rng.sample(range(len(enrolments)), first))
    done = {}  # enrolment index -> first completion moment
    for i in completed:
        _course, _person, started = enrolments[i]
        finish = started + timedelta(days=min(rng.expovariate(1 / 12), 120), hours=1)
        if finish >= ctx.now:
            finish = started + (ctx.now - started) * (0.2 + 0.7 * rng.random())
        done[i] = finish.replace(microsecond=0)
    # Records beyond the first completions: re-certifications where a certificate has
    # expired, then (only if the people are too few) further passes.
    again = dict.fromkeys(completed, 0)
    expired = [i for i in completed if enrolments[i][0].validity
               and add_months(done[i], enrolments[i][0].validity) < ctx.now - timedelta(days=7)]
    for i in rng.sample(expired, min(extra, len(expired))):
        again[i] += 1
    left = extra - min(extra, len(expired))
    if left and not completed:
        raise LargeDemoError("No course completion to build further records on.")
    while left:
        for i in rng.sample(completed, min(left, len(completed))):
            again[i] += 1
            left -= 1

    enrolment_rows, attempts, records, reads = [], [], [], []
    for i, (course, person, started) in enumerate(enrolments):
        finish = done.get(i)
        reads_of_this = _reads(ctx, course, person, started, finish)
        reads.append(reads_of_this)
        enrolment_rows.append({
            "user_id": person.id, "course_id": course.id, "version_id": course.version_id, "started_at": started,
            "last_lesson_id": reads_of_this[-1][0] if reads_of_this else None, "completed_at": finish,
            "organisation_id": ctx.org_at(person, started).id, "sex": person.sex, "country": person.country,
        })
        attempt = _Attempts(ctx, person, course.plans)
        pre = None
        if course.pretest_id and rng.random() < (0.9 if finish else 0.65):
            pre = _score(rng.gauss(45, 18))
            attempt.add(course.pretest_id, started + timedelta(minutes=rng.randint(3, 30)), pre, None)
        if finish is None:
            if course.final_id and rng.random() < 0.15:
                at = min(started + timedelta(days=rng.uniform(0.5, 20)), ctx.now - timedelta(hours=1))
                attempt.add(course.final_id, at, _score(rng.uniform(20, course.pass_mark - 5), 0, course.pass_mark - 5),
                            False)
            attempts += attempt.rows
            continue
        chain = _chain(ctx, course, finish, again[i])
        score = None
        for n, moment in enumerate(chain):
            if course.final_id:
                if n == 0 and rng.random() < 0.25 and moment - started > timedelta(hours=2):
                    failed_at = moment - (moment - started) * rng.uniform(0.05, 0.5)
                    attempt.add(course.final_id, failed_at, _score(rng.uniform(25, course.pass_mark - 5), 0,
                                                                   course.pass_mark - 5), False)
                base = pre if pre is not None else 45.0
                score = _score(base + (100 - base) * rng.uniform(0.3, 0.95), course.pass_mark, 100)
                attempt.add(course.final_id, moment, score, True)
            records.append(ctx.record(
                person, moment, item_type="course", item_id=course.id, item_key=course.slug,
                item_version=course.number, item_title=course.title, language=course.language, score=score,
                issuer=ISSUER, validity_months=course.validity, revocable=n == len(chain) - 1))
        attempts += attempt.rows

    ctx.insert(Enrolment, enrolment_rows, "Course enrolments")
    ctx.insert(LessonRead, ({"user_id": user_id, "lesson_id": lesson_id, "read_at": at}
                            for rows in reads for lesson_id, at, user_id in rows),
               "Lessons read", total=sum(map(len, reads)))
    ctx.insert(QuizAttempt, attempts, "Quiz attempts")
    refresh_knowledge_gain_pairs(ctx.session.connection())  # bulk inserts bypass the ORM's hook
    ctx.insert(CompletionRecord, records, "Course completions")


class _Attempts:
    """A person's attempts at one course's quizzes, numbered per quiz."""

    def __init__(self, ctx: LargeDemo, person, plans: dict):
        self.ctx, self.person, self.rows, self.numbers, self.plans = ctx, person, [], {}, plans

    def add(self, quiz_id: int, submitted_at, score: float, passed: bool | None) -> None:
        number = self.numbers[quiz_id] = self.numbers.get(quiz_id, 0) + 1
        submitted_at = submitted_at.replace(microsecond=0)
        self.rows.append({
            "user_id": self.person.id, "quiz_id": quiz_id, "number": number, "status": "submitted",
            "started_at": submitted_at - timedelta(minutes=self.ctx.rng.randint(4, 25)), "deadline_at": None,
            "submitted_at": submitted_at, "layout": {"questions": []}, "answers": {}, "score": score,
            "passed": passed, "result": {"questions": []}, "plan_fingerprint": self.plans.get(quiz_id),
        })


def _chain(ctx: LargeDemo, course: _Course, finish, extra: int) -> list:
    """The moments of a person's completions of a course: the first, then a re-certification
    once the certificate has expired, then (only when the people are too few for the
    records asked for) further passes spread until now."""
    chain = [finish]
    if extra and course.validity:
        renewed = add_months(finish, course.validity) + timedelta(days=ctx.rng.uniform(1, 90))
        if renewed < ctx.now:
            chain.append(renewed.replace(microsecond=0))
            extra -= 1
    return chain + sorted(ctx.moment(chain[-1], ctx.now) for _ in range(extra))


def _reads(ctx: LargeDemo, course: _Course, person, started, finish) -> list:
    """(lesson id, read at, user id) of the lessons read: all of them before a completion,
    the first few otherwise."""
    lessons = course.lesson_ids
    if finish is None:
        lessons = lessons[:ctx.rng.randint(0, max(0, len(lessons) - 1))]
        finish = min(started + timedelta(days=30), ctx.now)
    moments = sorted(ctx.moment(started, finish) for _ in lessons)
    return [(lesson_id, at, person.id) for lesson_id, at in zip(lessons, moments)]
