"""Workshop series, runs, registration and attendance: the workshops feature of the LMS."""
from __future__ import annotations

from pathlib import Path

from flask_babel import lazy_gettext as _l

#: The starter series shipped with the LMS.
CONTENT_DIR = Path(__file__).resolve().parent / "content"
#: The bodies of the emails to participants (``queue_mail(..., "workshops/<name>")``).
MAIL_DIR = Path(__file__).resolve().parent / "mail"


def setup(registry) -> None:
    from lms.registry import MenuEntry

    from .content import import_series
    from .views import bp

    registry.add_blueprint(bp, "/workshops")
    registry.add_mail_folder("workshops", MAIL_DIR)

    from .api import API_PATHS
    from .api import bp as api_bp

    registry.add_blueprint(api_bp, "/api/v1")
    registry.api_paths.update(API_PATHS)
    registry.add_menu(MenuEntry("lms_workshops.index", lambda: _l("Workshops"), "all", order=20))
    registry.add_menu(MenuEntry("lms_workshops.mine", lambda: _l("My workshops"), "authenticated", order=25))
    from .services.runs import may_schedule

    # For the organisation managers (and the secretariat): those who may schedule a run.
    registry.add_menu(MenuEntry("lms_workshops.schedule", lambda: _l("Schedule a workshop"), "authenticated",
                                order=26, visible=may_schedule))

    from lms.registry import HomeSection

    from .services.home import my_upcoming_workshops, series_overview, workshop_steps

    registry.add_home_section(HomeSection("workshops.upcoming", lambda: _l("My upcoming workshops"),
                                          "workshops/home_upcoming.html", my_upcoming_workshops, order=20))
    registry.add_home_section(HomeSection("workshops.series", lambda: _l("Workshop series"),
                                          "workshops/home_series.html", series_overview, audience="visitor", order=20))
    registry.add_next_steps(workshop_steps)
    registry.add_content_importer("workshops", import_series)

    from .forms import LABELS

    for group, labels in LABELS.items():
        registry.add_labels(group, labels)

    from .demo import load_activity
    from .services.registration import forget_person

    registry.add_erasure_hook(forget_person)
    from .services.personal_data import workshop_data

    registry.add_personal_data("workshops", workshop_data)

    registry.add_demo_loader(load_activity)

    from .demo_large import generate_large_demo

    # Before the courses: its completions are bounded by attendance.
    registry.add_large_demo_generator(generate_large_demo, order=10)

    from lms.registry import ActivityColumn

    from .metrics import attendance_reach, attended_sessions_by_organisation, metric_section

    registry.add_metric_section(metric_section)
    from lms.registry import Metric, RecordKind

    registry.add_record_kind(RecordKind(
        "workshop", _l("Workshop"), _l("has completed the workshop"), "workshops.participants_completed",
        _l("Participants who completed a workshop"), "output_3_1", order=30,
        column_label=_l("Workshop completions")))
    for metric in (
        Metric("workshops.runs_held", _l("Workshop runs held"), "integer", "output_3_1", order=1,
               description="Runs with at least one session ended in the period and attendance taken"),
        Metric("workshops.sessions_held", _l("Workshop sessions held"), "integer", "output_3_1", order=2,
               description="Sessions ended in the period with attendance taken"),
        Metric("workshops.participants_registered", _l("Participants registered"), "people", "output_3_1",
               order=10, description="Distinct (person, run) confirmed registrations for runs with a session in the period"),
        Metric("workshops.participants_attended", _l("Participants who attended"), "people", "output_3_1",
               order=20, description="Distinct (person, run) with at least one attended session in the period"),
    ):
        registry.add_metric(metric)
    registry.add_reach_source(attendance_reach)
    registry.add_activity_column(ActivityColumn(
        "attended_sessions", lambda: _l("Attended sessions"), attended_sessions_by_organisation, order=20))

    from datetime import timedelta

    from lms.jobs import JobKind

    from .services.reminders import cli as reminders_cli
    from .services.reminders import reminders_job

    registry.add_cli_command(reminders_cli)
    # Hourly: a reminder goes out between 23 and 24 hours before a run's first session.
    registry.add_job_kind(JobKind("workshops.reminders", reminders_job, label=_l("Workshop reminders"),
                                  max_attempts=3, every=timedelta(hours=1)))
