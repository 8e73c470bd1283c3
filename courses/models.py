"""Courses as imported from Markdown: versions, lessons, quizzes, questions; and
what learners do with them: enrolments, lessons read, quiz attempts."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from lms.accounts.models import User
from lms.common import one_line
from lms.db import Base, UTCDateTime, utcnow

AUDIENCES = ("sme", "employers_organisation", "all")
QUIZ_KINDS = ("graded", "pretest", "self_assessment")
QUIZ_ROLES = ("pretest", "final", "self_assessment")
GRADING = ("highest", "last")
FEEDBACK = ("after_each_attempt", "after_last_attempt", "never")
DIFFICULTIES = ("easy", "medium", "hard")
#: What a pre-test may be the parallel form of (``parallel_to`` in its file).
PARALLEL_TO = ("final",)


class Course(Base):
    """A course across its versions; the slug is its identity."""

    __tablename__ = "lms_courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    #: Shown in the catalogue; the secretariat can unpublish.
    published: Mapped[bool] = mapped_column(default=True)
    #: The version new enrolments get.
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("lms_course_versions.id", use_alter=True, ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    current_version: Mapped[CourseVersion | None] = relationship(foreign_keys=[current_version_id], post_update=True)
    versions: Mapped[list[CourseVersion]] = relationship(
        back_populates="course", foreign_keys="CourseVersion.course_id", order_by="CourseVersion.number"
    )


class CourseVersion(Base):
    """One import of a course folder. Records keep the version they were earned on."""

    __tablename__ = "lms_course_versions"
    __table_args__ = (UniqueConstraint("course_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("lms_courses.id", ondelete="CASCADE"))
    number: Mapped[int]
    #: Hash of every file of the folder: an unchanged import makes no new version.
    content_hash: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(5), index=True)
    audience: Mapped[str] = mapped_column(String(30))
    sectors: Mapped[list] = mapped_column(JSON, default=list)
    estimated_minutes: Mapped[int]
    as_of: Mapped[date] = mapped_column(Date)
    prerequisites: Mapped[list] = mapped_column(JSON, default=list)
    certificate_validity_months: Mapped[int | None]
    overview_md: Mapped[str] = mapped_column(Text, default="")

    course: Mapped[Course] = relationship(back_populates="versions", foreign_keys=[course_id])
    lessons: Mapped[list[Lesson]] = relationship(
        back_populates="version", order_by="Lesson.position", cascade="all, delete-orphan"
    )
    quizzes: Mapped[list[Quiz]] = relationship(back_populates="version", cascade="all, delete-orphan")

    def quiz(self, role: str) -> Quiz | None:
        return next((q for q in self.quizzes if q.role == role), None)

    @validates("title")
    def _one_line(self, _key, value):
        # Names and titles go into mail headers: saved on one line.
        return one_line(value)


class Lesson(Base):
    __tablename__ = "lms_lessons"
    __table_args__ = (UniqueConstraint("version_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("lms_course_versions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    filename: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    minutes: Mapped[int]
    body_md: Mapped[str] = mapped_column(Text)

    version: Mapped[CourseVersion] = relationship(back_populates="lessons")


class Quiz(Base):
    __tablename__ = "lms_quizzes"
    __table_args__ = (UniqueConstraint("version_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("lms_course_versions.id", ondelete="CASCADE"), index=True)
    #: pretest, final or self_assessment: its place in the course.
    role: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))
    pass_mark: Mapped[float] = mapped_column(Float, default=0)
    #: How many questions each attempt draws from the pool; NULL: all. With a topic
    #: plan, the plan's total.
    draw: Mapped[int | None]
    #: The topic plan {topic: count} when the quiz draws by topic (``draw`` written as a
    #: mapping, or a parallel form's plan taken from the final quiz); NULL: a plain draw.
    topic_plan: Mapped[dict | None] = mapped_column(JSON)
    #: A pre-test that is the parallel form of the course's final quiz: "final"; NULL: none.
    parallel_to: Mapped[str | None] = mapped_column(String(20))
    shuffle_questions: Mapped[bool] = mapped_column(default=False)
    shuffle_options: Mapped[bool] = mapped_column(default=False)
    #: 0: unlimited.
    attempts_allowed: Mapped[int] = mapped_column(default=0)
    delay_minutes: Mapped[int] = mapped_column(default=0)
    #: 0: no limit.
    time_limit_minutes: Mapped[int] = mapped_column(default=0)
    grading: Mapped[str] = mapped_column(String(10), default="highest")
    feedback: Mapped[str] = mapped_column(String(30), default="after_each_attempt")
    #: Self-assessment: the shared scale [{"score", "label"}] and the weak threshold.
    levels: Mapped[list | None] = mapped_column(JSON)
    weak_below: Mapped[int | None]

    version: Mapped[CourseVersion] = relationship(back_populates="quizzes")
    questions: Mapped[list[Question]] = relationship(
        back_populates="quiz", order_by="Question.position", cascade="all, delete-orphan"
    )


class Question(Base):
    __tablename__ = "lms_questions"
    __table_args__ = (UniqueConstraint("quiz_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("lms_quizzes.id", ondelete="CASCADE"), index=True)
    #: The author's id for the question, stable across versions.
    key: Mapped[str] = mapped_column(String(100))
    position: Mapped[int]
    type: Mapped[str] = mapped_column(String(20))
    prompt: Mapped[str] = mapped_column(Text)
    points: Mapped[int] = mapped_column(default=1)
    #: The type's own fields as authored (options, answer, pairs, ...), answer keys
    #: included: never sent to the browser before grading.
    spec: Mapped[dict] = mapped_column(JSON)
    explanation: Mapped[str | None] = mapped_column(Text)
    lesson_filename: Mapped[str | None] = mapped_column(String(200))
    #: The topic a topic plan draws it under: its ``topic``, else its lesson's file name;
    #: NULL when it has neither.
    topic: Mapped[str | None] = mapped_column(String(200))
    #: easy, medium or hard, as the author judged it; NULL: not said.
    difficulty: Mapped[str | None] = mapped_column(String(10))

    quiz: Mapped[Quiz] = relationship(back_populates="questions")


class Enrolment(Base):
    __tablename__ = "lms_enrolments"
    __table_args__ = (UniqueConstraint("user_id", "course_id"), Index("ix_lms_enrolments_started_at", "started_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("lms_users.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("lms_courses.id", ondelete="CASCADE"), index=True)
    #: The version the learner follows; a new import does not move them.
    version_id: Mapped[int] = mapped_column(ForeignKey("lms_course_versions.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Where to resume.
    last_lesson_id: Mapped[int | None] = mapped_column(ForeignKey("lms_lessons.id", ondelete="SET NULL"))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Snapshots for the enrolment metric (people move; the count must not).
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("lms_organisations.id", ondelete="SET NULL"))
    sex: Mapped[str | None] = mapped_column(String(10))
    country: Mapped[str | None] = mapped_column(String(2))

    user: Mapped[User] = relationship()
    course: Mapped[Course] = relationship()
    version: Mapped[CourseVersion] = relationship()


class LessonRead(Base):
    __tablename__ = "lms_lesson_reads"

    user_id: Mapped[int] = mapped_column(ForeignKey("lms_users.id", ondelete="CASCADE"), primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lms_lessons.id", ondelete="CASCADE"), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuizAttempt(Base):
    __tablename__ = "lms_quiz_attempts"
    __table_args__ = (UniqueConstraint("user_id", "quiz_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("lms_users.id", ondelete="CASCADE"), index=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("lms_quizzes.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    #: in_progress -> submitted, or expired (graded at the deadline with what was saved).
    status: Mapped[str] = mapped_column(String(12), default="in_progress")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The drawn questions in order, and for each the option order and the opaque
    #: tokens that stand for options in the page: {"questions": [{"id", "tokens": {...}}]}.
    layout: Mapped[dict] = mapped_column(JSON)
    #: Responses keyed by question id, as tokens/values the page sent.
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    #: Percent of points, 0-100; NULL until graded.
    score: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None]
    #: Per-question results and, for self-assessments, the profile.
    result: Mapped[dict | None] = mapped_column(JSON)
    #: The fingerprint of the topic plan the questions were drawn from
    #: (``courses.quiz.engine.plan_fingerprint``); NULL: a plain draw. Knowledge gain
    #: pairs only a pre-test and a final drawn from the same plan.
    plan_fingerprint: Mapped[str | None] = mapped_column(String(64))

    quiz: Mapped[Quiz] = relationship()
    user: Mapped[User] = relationship()


class KnowledgeGainPair(Base):
    """A person's (pre-test, final quiz) pair for one course, kept up to date from their
    graded attempts so that ``courses.knowledge_gain`` reads one row per pair instead of
    ranking every attempt ever made (see ``courses.metrics.knowledge_gain`` for the rule).

    Derived data: ``courses.metrics.refresh_knowledge_gain_pairs`` rewrites a person's
    rows from their attempts, in the transaction that changes them. The services that
    grade attempts call it themselves, under the person's lock
    (``courses.services.attempts``); writes of attempts through the ORM outside them (demo
    data, tests, a fix made in a shell) are followed by the flush listener
    ``courses.metrics.refresh_pairs_after_flush``; bulk loads that bypass the ORM call it
    themselves.
    """

    __tablename__ = "lms_knowledge_gain_pairs"
    __table_args__ = (Index("ix_lms_knowledge_gain_pairs_final_at", "final_at", "pretest_score", "final_score"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("lms_users.id", ondelete="CASCADE"), primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("lms_courses.id", ondelete="CASCADE"), primary_key=True)
    #: The first graded pre-test attempt's score.
    pretest_score: Mapped[float] = mapped_column(Float)
    #: The counting final attempt: the highest-scoring graded one drawn from the same
    #: topic plan as that pre-test attempt, the earliest of equals.
    final_score: Mapped[float] = mapped_column(Float)
    final_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The language of the course version whose final quiz that attempt was.
    final_language: Mapped[str] = mapped_column(String(5))
    #: The topic plan both attempts were drawn from (never NULL: no plan, no pair).
    plan_fingerprint: Mapped[str] = mapped_column(String(64))
