"""Catalogue, course pages, lessons, quizzes and their results."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from lms.auth import login_required, secretariat_required
from lms.audit import audit
from lms.db import get_session
from lms.orgs.forms import DecisionForm
from lms.orgs.models import SECTORS
from lms.templating import LANGUAGE_LABELS

from . import services
from .models import AUDIENCES, QUIZ_ROLES, Course, Lesson, QuizAttempt
from .quiz import engine
from .quiz.types import QUESTION_TYPES

bp = Blueprint("lms_courses", __name__, template_folder="templates")


def _course_or_404(slug: str) -> Course:
    course = services.course_by_slug(get_session(), slug)
    if course is None or course.current_version is None:
        abort(404)
    if not course.published and not (current_user.is_authenticated and current_user.is_secretariat):
        enrolment = services.enrolment_of(get_session(), current_user, course)
        if enrolment is None:
            abort(404)
    return course


def _enrolled(slug: str):
    """The course and the current person's enrolment; not enrolled: back to the course page."""
    course = _course_or_404(slug)
    enrolment = services.enrolment_of(get_session(), current_user, course)
    if enrolment is None:
        flash(_("Enrol on the course first."), "info")
        abort(redirect(url_for("lms_courses.course", slug=slug)))
    return course, enrolment


@bp.get("/")
def catalogue():
    args = request.args
    language = args.get("language", "") if args.get("language", "") in LANGUAGE_LABELS else ""
    sector = args.get("sector", "") if args.get("sector", "") in SECTORS else ""
    audience = args.get("audience", "") if args.get("audience", "") in AUDIENCES else ""
    q = args.get("q", "").strip()[:100]
    courses = services.catalogue(get_session(), language=language, sector=sector, audience=audience, q=q)
    return render_template("courses/catalogue.html", courses=courses, language=language, sector=sector,
                           audience=audience, q=q, sectors=SECTORS, audiences=AUDIENCES, languages=LANGUAGE_LABELS)


@bp.get("/<slug>")
def course(slug: str):
    session = get_session()
    course = _course_or_404(slug)
    enrolment = services.enrolment_of(session, current_user, course)
    version = enrolment.version if enrolment else course.current_version
    read = services.read_lesson_ids(session, current_user.id, version) if enrolment else set()
    quizzes = {role: version.quiz(role) for role in QUIZ_ROLES}
    record = None
    if enrolment and enrolment.completed_at:
        from lms.records.models import CompletionRecord

        record = session.scalar(select(CompletionRecord).where(
            CompletionRecord.user_id == current_user.id, CompletionRecord.item_type == "course",
            CompletionRecord.item_id == course.id).order_by(CompletionRecord.completed_at.desc()).limit(1))
    return render_template("courses/course.html", course=course, version=version, enrolment=enrolment,
                           read=read, quizzes=quizzes, record=record, form=DecisionForm(),
                           resume=services.resume_lesson(session, enrolment) if enrolment else None)


@bp.post("/<slug>/enrol")
@login_required
def enrol(slug: str):
    course = _course_or_404(slug)
    if not DecisionForm().validate():
        abort(400)
    enrolment = services.enrol(get_session(), current_user, course)
    pretest = enrolment.version.quiz("pretest")
    if pretest is not None:
        flash(_("You are enrolled. Start with the short pre-test: it shows what you already know."), "success")
        return redirect(url_for("lms_courses.quiz", slug=slug, role="pretest"))
    flash(_("You are enrolled."), "success")
    return redirect(url_for("lms_courses.lesson", slug=slug, position=1))


@bp.get("/<slug>/resume")
@login_required
def resume(slug: str):
    course, enrolment = _enrolled(slug)
    lesson = services.resume_lesson(get_session(), enrolment)
    return redirect(url_for("lms_courses.lesson", slug=slug, position=lesson.position))


def _lesson(enrolment, position: int) -> Lesson:
    lessons = enrolment.version.lessons
    if not 1 <= position <= len(lessons):
        abort(404)
    return lessons[position - 1]


@bp.get("/<slug>/lessons/<int:position>")
@login_required
def lesson(slug: str, position: int):
    session = get_session()
    course, enrolment = _enrolled(slug)
    lesson = _lesson(enrolment, position)
    services.open_lesson(session, enrolment, lesson)
    lessons = enrolment.version.lessons
    read = services.read_lesson_ids(session, current_user.id, enrolment.version)  # once: progress and this lesson
    return render_template(
        "courses/lesson.html", course=course, version=enrolment.version, lesson=lesson, lessons=lessons,
        previous=lessons[position - 2] if position > 1 else None,
        next=lessons[position] if position < len(lessons) else None,
        is_read=lesson.id in read, read=len(read), total=len(lessons), form=DecisionForm(),
    )


@bp.post("/<slug>/lessons/<int:position>/done")
@login_required
def lesson_done(slug: str, position: int):
    course, enrolment = _enrolled(slug)
    if not DecisionForm().validate():
        abort(400)
    lesson = _lesson(enrolment, position)
    services.mark_read(get_session(), enrolment, lesson)
    lessons = enrolment.version.lessons
    if position < len(lessons):
        return redirect(url_for("lms_courses.lesson", slug=slug, position=position + 1))
    final = enrolment.version.quiz("final")
    if final is not None:
        return redirect(url_for("lms_courses.quiz", slug=slug, role="final"))
    return redirect(url_for("lms_courses.course", slug=slug))


def _quiz(enrolment, role: str):
    if role not in QUIZ_ROLES:
        abort(404)
    quiz = enrolment.version.quiz(role)
    if quiz is None:
        abort(404)
    return quiz


@bp.get("/<slug>/quiz/<role>")
@login_required
def quiz(slug: str, role: str):
    session = get_session()
    course, enrolment = _enrolled(slug)
    quiz = _quiz(enrolment, role)
    state = engine.availability(session, current_user, quiz)
    attempts = engine.attempts_of(session, current_user, quiz)
    counted = engine.counting_attempt(session, current_user.id, quiz)
    return render_template("courses/quiz.html", course=course, quiz=quiz, state=state, attempts=attempts,
                           counted=counted, form=DecisionForm())


@bp.post("/<slug>/quiz/<role>/start")
@login_required
def start(slug: str, role: str):
    session = get_session()
    course, enrolment = _enrolled(slug)
    quiz = _quiz(enrolment, role)
    if not DecisionForm().validate():
        abort(400)
    try:
        attempt = engine.start_attempt(session, current_user, quiz)
    except engine.QuizError as exc:
        flash(str(exc), "error")
        return redirect(url_for("lms_courses.quiz", slug=slug, role=role))
    return redirect(url_for("lms_courses.attempt", slug=slug, attempt_id=attempt.id))


def _own_attempt(slug: str, attempt_id: int) -> tuple[Course, QuizAttempt]:
    course = _course_or_404(slug)
    attempt = get_session().get(QuizAttempt, attempt_id)
    if attempt is None or attempt.user_id != current_user.id or attempt.quiz.version.course_id != course.id:
        abort(404)
    return course, attempt


def _present(session, attempt):
    return [
        (question, QUESTION_TYPES[question.type].present(question.spec, layout))
        for question, layout in engine.questions_of(session, attempt)
    ]


@bp.route("/<slug>/attempts/<int:attempt_id>", methods=["GET", "POST"])
@login_required
def attempt(slug: str, attempt_id: int):
    session = get_session()
    course, attempt = _own_attempt(slug, attempt_id)
    if attempt.status == "in_progress" and engine.is_overdue(attempt, engine.utcnow()):
        engine.finish_expired(session, attempt)
    if attempt.status != "in_progress":
        return redirect(url_for("lms_courses.result", slug=slug, attempt_id=attempt.id))
    if request.method == "POST":
        if not DecisionForm().validate():
            abort(400)
        if request.form.get("action") == "save":
            engine.save_answers(session, attempt, request.form)
            flash(_("Your answers have been saved."), "success")
            return redirect(url_for("lms_courses.attempt", slug=slug, attempt_id=attempt.id))
        engine.submit_attempt(session, attempt, request.form)
        return redirect(url_for("lms_courses.result", slug=slug, attempt_id=attempt.id))
    return render_template("courses/attempt.html", course=course, attempt=attempt, quiz=attempt.quiz,
                           questions=_present(session, attempt), form=DecisionForm())


@bp.get("/<slug>/attempts/<int:attempt_id>/result")
@login_required
def result(slug: str, attempt_id: int):
    session = get_session()
    course, attempt = _own_attempt(slug, attempt_id)
    if attempt.status == "in_progress":
        return redirect(url_for("lms_courses.attempt", slug=slug, attempt_id=attempt.id))
    show = engine.feedback_visible(session, attempt)
    results = {r["id"]: r for r in (attempt.result or {}).get("questions", [])}
    enrolment = services.enrolment_of(session, current_user, course)
    return render_template(
        "courses/result.html", course=course, attempt=attempt, quiz=attempt.quiz, show_feedback=show,
        questions=_present(session, attempt), results=results, types=QUESTION_TYPES,
        state=engine.availability(session, current_user, attempt.quiz), enrolment=enrolment,
    )


# -- the secretariat's course list ---------------------------------------------------

@bp.get("/admin")
@secretariat_required
def admin():
    courses = get_session().scalars(select(Course).order_by(Course.slug)).all()
    return render_template("courses/admin.html", courses=courses, form=DecisionForm())


@bp.post("/admin/<slug>/publish")
@secretariat_required
def publish(slug: str):
    course = services.course_by_slug(get_session(), slug)
    if course is None:
        abort(404)
    if not DecisionForm().validate():
        abort(400)
    course.published = request.form.get("published") == "1"
    audit("course.publish" if course.published else "course.unpublish", course, slug=slug)
    flash(_("%(slug)s is now %(state)s.", slug=slug, state=_("published") if course.published else _("hidden")), "success")
    return redirect(url_for("lms_courses.admin"))


def _content_folders():
    """Course folders under the configured content paths (default: the starter content)."""
    from flask import current_app

    from lms.content import content_folders

    from . import CONTENT_DIR

    folders = {}
    for root in map(Path, current_app.config.get("LMS_CONTENT_PATHS") or [CONTENT_DIR]):
        for folder in content_folders(root, "course.md", explicit=False):
            if (folder / "course.md").is_file():
                folders.setdefault(folder.name, folder)
    return folders


@bp.get("/admin/preview")
@secretariat_required
def preview_list():
    from .importer import content_hash

    session = get_session()
    rows = []
    for name, folder in _content_folders().items():
        course = services.course_by_slug(session, name)
        newest = course.versions[-1] if course and course.versions else None
        state = "new" if newest is None else ("unchanged" if newest.content_hash == content_hash(folder) else "changed")
        rows.append((name, state, newest))
    return render_template("courses/preview_list.html", rows=rows)


@bp.get("/admin/preview/<name>")
@secretariat_required
def preview(name: str):
    from .importer import check_prerequisites, validate_course_folder

    folder = _content_folders().get(name)
    if folder is None:
        abort(404)
    data, problems = validate_course_folder(folder)
    if data is not None:
        problems = problems + check_prerequisites(get_session(), data)
    return render_template("courses/preview.html", name=name, data=data, problems=problems)
