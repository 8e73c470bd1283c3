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
    registry.add_activity_column(ActivityColumn("enrolments", lambda: _l("Enrolments"), enrolments_by_organisation,
                                                order=10))
