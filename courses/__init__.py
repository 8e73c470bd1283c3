"""Courses, lessons and quizzes: the catalogue feature of the LMS.

models       courses as imported, and what learners do with them
services/    the rules (catalogue, learning, completion, attempts, their locks, pages)
views/       the pages (blueprint ``lms_courses``); forms: what they read
api          the JSON API's catalogue and the raw exports; metrics: the capacity metrics
content      the content importer (content_checks, content_values, quiz/checks: its checks)
demo_large   the courses' part of the large demo data set
quiz/        the quiz engine and the question types
"""
from __future__ import annotations

from pathlib import Path

from flask_babel import lazy_gettext as _l

#: The starter courses shipped with the LMS.
CONTENT_DIR = Path(__file__).resolve().parent / "content"


def setup(registry) -> None:
    # Imported here, not at the top: importing the package (for CONTENT_DIR, or its
    # models) must not load its views, nor the core's registry.
    from lms.registry import ActivityColumn, MenuEntry

    from .api import API_PATHS
    from .api import bp as api_bp
    from .content import import_content
    from .demo_large import generate_large_demo
    from .metrics import enrolments_by_organisation, metric_section, refresh_pairs_after_flush
    from .views import bp

    registry.add_blueprint(bp, "/courses")
    registry.add_blueprint(api_bp, "/api/v1")
    registry.api_paths.update(API_PATHS)
    registry.add_menu(MenuEntry("lms_courses.catalogue", lambda: _l("Courses"), "all", order=10))
    registry.add_menu(MenuEntry("lms_courses.admin", lambda: _l("Course admin"), "secretariat", order=60))
    from lms.registry import HomeSection

    from .services.home import course_overview, my_courses, suggested_courses

    registry.add_home_section(HomeSection("courses.mine", lambda: _l("My courses"), "courses/home_mine.html",
                                          my_courses, order=10))
    registry.add_home_section(HomeSection("courses.catalogue", lambda: _l("Courses"), "courses/home_catalogue.html",
                                          course_overview, audience="visitor", order=10))
    registry.add_next_steps(suggested_courses)
    from .services.personal_data import course_data

    registry.add_personal_data("courses", course_data)
    registry.add_content_importer("courses", import_content)
    from .forms import LABELS

    for group, labels in LABELS.items():
        registry.add_labels(group, labels)
    # Only for attempts written through the ORM outside the services; it takes no lock.
    registry.add_session_listener("after_flush", refresh_pairs_after_flush)
    # Last: it writes whatever remains of the completion records target.
    registry.add_large_demo_generator(generate_large_demo, order=90)
    registry.add_metric_section(metric_section)
    from lms.registry import Metric, RecordKind

    registry.add_record_kind(RecordKind(
        "course", _l("Course"), _l("has completed the course"), "courses.completions", _l("Course completions"),
        "output_3_4", per_item=True, order=20, column_key="completions",
        column_label=_l("Course completions")))
    registry.add_metric(Metric("courses.enrolments", _l("Course enrolments"), "people", "output_3_4", order=10,
                               description="Enrolments started in the period"))
    registry.add_metric(Metric(
        "courses.knowledge_gain", _l("Knowledge gain (pre-test to final quiz)"), "gain", "output_3_4", order=90,
        description="Pairs (first pre-test, best final quiz) of one person and course, the final in the period, "
                    "counted only where both attempts were drawn from the same topic plan (parallel forms)",
        note=_l("Counted only over pairs whose pre-test and final quiz were drawn from the same topic plan "
                "(parallel forms: the same topics, the same number of questions from each). Other pairs are "
                "left out: two different draws do not measure learning.")))
    registry.add_metric(Metric(
        "courses.certificates_issued", _l("Certificates issued"), "people", "output_3_4", order=85,
        description="The same figure as records.certificates_issued, under its first name",
        same_as="records.certificates_issued"))
    registry.add_activity_column(ActivityColumn("enrolments", lambda: _l("Enrolments"), enrolments_by_organisation,
                                                order=10))
