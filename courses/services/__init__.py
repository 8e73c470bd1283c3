"""The courses' services: the rules, as functions of a session that only flush.

catalogue   finding courses, who may see one, publishing
learning    enrolling, reading lessons, resuming
completion  the completion and re-certification rules
attempts    starting, saving, handing in and closing quiz attempts
locks       the locks those take, and their order
pages       what each learner's page shows, in one call
sector_modules  the one-sector courses offered to a learner for their organisation's sectors
"""
from __future__ import annotations

from .attempts import (
    Availability, HandIn, QuizError, attempts_of, availability, finish_expired, hand_in, own_attempt, save_answers,
    start_attempt, submit_attempt,
)
from .catalogue import all_courses, catalogue, course_by_slug, set_published, visible_course
from .completion import ISSUER, check_completion, is_complete, latest_record, progress, read_lesson_ids, \
    recertification_opened_at
from .learning import (
    CourseStep, enrol, enrolment_of, handed_in, lesson_at, mark_read, next_step, open_lesson, resume_at, resume_lesson,
)
from .pages import course_page, lesson_page, presented, quiz_page, result_page
from .sector_modules import is_sector_module, sector_modules_for

__all__ = [
    "CourseStep", "HandIn", "ISSUER", "Availability", "hand_in", "QuizError", "handed_in", "next_step", "resume_at", "all_courses", "attempts_of", "availability", "catalogue",
    "check_completion", "course_by_slug", "course_page", "enrol", "enrolment_of", "finish_expired", "is_complete",
    "latest_record", "lesson_at", "lesson_page", "mark_read", "open_lesson", "own_attempt", "presented", "progress",
    "quiz_page", "read_lesson_ids", "recertification_opened_at", "resume_lesson", "result_page", "save_answers",
    "sector_modules_for", "is_sector_module", "set_published", "start_attempt", "submit_attempt", "visible_course",
]
