"""Per-question statistics of a course version's quiz (the secretariat's, who author and
manage the courses), on a page and as CSV or XLSX (``lms.exports``' layout)."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import abort, render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from lms.auth import secretariat_required
from lms.db import get_session
from lms.exports import Column, Download, Setting, Table, download_response, lms_version

from ..forms import LABELS
from ..models import QUIZ_ROLES, Course, CourseVersion
from ..services.item_stats import EASY_ON_PRETEST, MIN_ATTEMPTS_TO_FLAG, quiz_item_stats
from . import bp

QUESTION_COLUMNS = (
    Column("position", _l("No."), _l("The question's place in the quiz file.")),
    Column("question", _l("Question id"), _l("The author's id for the question, stable across versions.")),
    Column("type", _l("Type"), _l("single, multiple, true_false, matching, numeric or short_text.")),
    Column("topic", _l("Topic"), _l("The topic it is drawn under: its topic, else its lesson's file name.")),
    Column("difficulty", _l("Difficulty"), _l("easy, medium or hard, as the author judged it; empty: not said.")),
    Column("prompt", _l("Prompt"), _l("The question as learners read it.")),
    Column("attempts", _l("Attempts"), _l("First graded attempts (one a person) that drew the question.")),
    Column("share_correct", _l("Share correct"),
           _l("The share of the question's points earned, 0 to 1: for a question scored right or wrong, the "
              "share of those attempts that got it right.")),
    Column("discrimination", _l("Discrimination"),
           _l("Pearson correlation, over those attempts, of the question's score with the rest of the "
              "attempt's score (the total without this question), -1 to 1; empty: too few attempts, or a "
              "score that never varies.")),
    Column("flags", _l("Flags"),
           _l("easy_on_pretest: on a pre-test, a share correct of %(easy)s or more; negative_discrimination: "
              "strong learners get it wrong more often than weak ones. Flags need %(n)s attempts or more.",
              easy=EASY_ON_PRETEST, n=MIN_ATTEMPTS_TO_FLAG)),
)
OPTION_COLUMNS = (
    Column("question", _l("Question id"), _l("The question the option belongs to.")),
    Column("option", _l("Option"), _l("The option's place in the quiz file (true and false for true_false).")),
    Column("text", _l("Text"), _l("The option as learners read it.")),
    Column("correct", _l("Correct"), _l("Whether the option is a right answer.")),
    Column("picks", _l("Picks"), _l("Attempts that picked the option.")),
    Column("share", _l("Share"), _l("Picks divided by the question's attempts.")),
)


def _quiz_or_404(slug: str, number: int, role: str):
    session = get_session()
    version = session.scalar(select(CourseVersion).join(Course, Course.id == CourseVersion.course_id)
                             .where(Course.slug == slug, CourseVersion.number == number))
    quiz = version.quiz(role) if version is not None and role in QUIZ_ROLES else None
    if quiz is None or quiz.kind == "self_assessment":  # a rubric has no right answers to count
        abort(404)
    return version, quiz


def _round(value):
    return None if value is None else round(value, 4)


def _download(slug, version, quiz, stats) -> Download:
    questions = [(item.question.position, item.question.key, item.question.type, item.question.topic or "",
                  item.question.difficulty or "", item.question.prompt, item.attempts, _round(item.share_correct),
                  _round(item.discrimination), " ".join(item.flags)) for item in stats.items]
    options = [(item.question.key, i, option.text, option.correct, option.picks, _round(option.share))
               for item in stats.items for i, option in enumerate(item.options, 1)]
    about = [
        Setting("export", _l("Table"), ("question_statistics", _l("Question statistics"))),
        Setting("course", _l("Course"), (slug, version.title), slug),
        Setting("version", _l("Version"), (version.number,), f"v{version.number}"),
        Setting("quiz", _l("Quiz"), (quiz.role, quiz.title), quiz.role),
        Setting("attempts", _l("Attempts counted"), (stats.attempts, _l("each person's first graded attempt"))),
        Setting("generated_at", _l("Generated at (UTC)"),
                (datetime.now(timezone.utc).isoformat(timespec="seconds"),)),
        Setting("lms_version", _l("LMS version"), (lms_version(),)),
        Setting("definitions", _l("Definitions"), ("courses/services/item_stats.py",)),
    ]
    return Download("question-statistics", [Table("Questions", QUESTION_COLUMNS, questions),
                                            Table("Options", OPTION_COLUMNS, options)], about)


@bp.get("/admin/<slug>/versions/<int:number>/<role>/questions")
@bp.get("/admin/<slug>/versions/<int:number>/<role>/questions.<fmt>")
@secretariat_required
def question_stats(slug: str, number: int, role: str, fmt: str | None = None):
    if fmt not in (None, "csv", "xlsx"):
        abort(404)
    version, quiz = _quiz_or_404(slug, number, role)
    stats = quiz_item_stats(get_session(), quiz)
    if fmt:
        return download_response(fmt, _download(slug, version, quiz, stats))
    return render_template("courses/question_stats.html", slug=slug, version=version, quiz=quiz, stats=stats,
                           flag_labels=LABELS["item_flag"], min_attempts=MIN_ATTEMPTS_TO_FLAG, easy=EASY_ON_PRETEST)
