"""Courses, lessons and quizzes: the catalogue feature of the LMS."""
from __future__ import annotations

from pathlib import Path

from flask_babel import lazy_gettext as _l

#: The starter courses shipped with the LMS.
CONTENT_DIR = Path(__file__).resolve().parent / "content"


def setup(registry) -> None:
    from lms.registry import MenuEntry

    from .importer import import_content
    from .views import bp

    registry.add_blueprint(bp, "/courses")

    from .api import API_PATHS
    from .api import bp as api_bp

    registry.add_blueprint(api_bp, "/api/v1")
    registry.api_paths.update(API_PATHS)
    registry.add_menu(MenuEntry("lms_courses.catalogue", lambda: _l("Courses"), "all", order=10))
    registry.add_menu(MenuEntry("lms_courses.admin", lambda: _l("Course admin"), "secretariat", order=60))
    registry.add_content_importer("courses", import_content)

    from .models import refresh_pairs_after_flush

    registry.add_session_listener("after_flush", refresh_pairs_after_flush)

    from .demo_large import generate_large_demo

    # Last: it writes whatever remains of the completion records target.
    registry.add_large_demo_generator(generate_large_demo, order=90)

    from lms.registry import ActivityColumn

    from .metrics import enrolments_by_organisation, metric_section

    registry.add_metric_section(metric_section)
    from lms.registry import Metric, RecordKind

    registry.add_record_kind(RecordKind(
        "course", _l("Course"), _l("has completed the course"), "courses.completions", _l("Course completions"),
        "output_3_4", per_item=True, order=20))
    registry.add_metric(Metric("courses.enrolments", _l("Course enrolments"), "people", "output_3_4", order=10,
                               description="Enrolments started in the period"))
    registry.add_metric(Metric(
        "courses.knowledge_gain", _l("Knowledge gain (pre-test to final quiz)"), "gain", "output_3_4", order=90,
        description="Pairs (first pre-test, best final quiz) of one person and course, the final in the period"))
    registry.add_metric(Metric(
        "courses.certificates_issued", _l("Certificates issued"), "people", "output_3_4", order=85,
        description="The same figure as records.certificates_issued (every kind of record), under its first name",
        same_as="records.certificates_issued"))
    registry.add_activity_column(ActivityColumn("enrolments", lambda: _l("Enrolments"), enrolments_by_organisation,
                                                order=10))
