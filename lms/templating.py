"""What every template can use: the menu, country names, the current organisation."""
from __future__ import annotations

from functools import lru_cache

import pycountry
from flask_babel import get_locale, lazy_gettext
from flask_login import current_user


@lru_cache(maxsize=None)
def country_choices() -> list[tuple[str, str]]:
    return sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda c: c[1])


@lru_cache(maxsize=None)
def _country_names() -> dict[str, str]:
    return dict(country_choices())


def country_name(code: str | None) -> str:
    if not code:
        return ""
    return _country_names().get(code, code)


KIND_LABELS = {
    "employers_organisation": lazy_gettext("Employers' organisation"),
    "business_association": lazy_gettext("Business association"),
    "sme": lazy_gettext("Small or medium-sized enterprise"),
    "large_enterprise": lazy_gettext("Large enterprise"),
    "trade_union": lazy_gettext("Trade union"),
    "government": lazy_gettext("Government"),
    "un_agency": lazy_gettext("UN agency"),
    "ngo": lazy_gettext("Non-governmental organisation"),
    "academic": lazy_gettext("Academic institution"),
    "other": lazy_gettext("Other"),
}
SECTOR_LABELS = {
    "mining": lazy_gettext("Mining"),
    "cocoa": lazy_gettext("Cocoa"),
    "coffee": lazy_gettext("Coffee"),
    "cotton_garment": lazy_gettext("Cotton and garment"),
    "fishing": lazy_gettext("Fishing"),
    "agriculture_other": lazy_gettext("Other agriculture"),
    "manufacturing": lazy_gettext("Manufacturing"),
    "services": lazy_gettext("Services"),
    "other": lazy_gettext("Other"),
}
SIZE_LABELS = {
    "micro": lazy_gettext("Micro (fewer than 10 employees)"),
    "small": lazy_gettext("Small (10 to 49 employees)"),
    "medium": lazy_gettext("Medium (50 to 249 employees)"),
    "large": lazy_gettext("Large (250 employees or more)"),
}
SEX_LABELS = {
    "female": lazy_gettext("Female"),
    "male": lazy_gettext("Male"),
    "other": lazy_gettext("Other"),
    None: lazy_gettext("Not recorded"),
}
LANGUAGE_LABELS = {"en": "English", "fr": "Français", "es": "Español"}
ROLE_LABELS = {
    "learner": lazy_gettext("Learner"),
    "secretariat": lazy_gettext("Secretariat"),
}
MEMBERSHIP_ROLE_LABELS = {
    "member": lazy_gettext("Member"),
    "manager": lazy_gettext("Manager"),
}
MEMBERSHIP_STATUS_LABELS = {
    "pending": lazy_gettext("Waiting for approval"),
    "active": lazy_gettext("Current"),
    "ended": lazy_gettext("Ended"),
    "rejected": lazy_gettext("Not accepted"),
}
ORGANISATION_STATUS_LABELS = {
    "active": lazy_gettext("Active"),
    "pending": lazy_gettext("Waiting for approval"),
    "rejected": lazy_gettext("Not accepted"),
    "merged": lazy_gettext("Merged into another organisation"),
}
CERTIFICATE_STATUS_LABELS = {
    "valid": lazy_gettext("Valid"),
    "expired": lazy_gettext("Expired"),
    "revoked": lazy_gettext("Revoked"),
}


def register_core_labels(registry) -> None:
    """The words for the core's stored values; features add theirs (``registry.add_labels``)."""
    for group, labels in {
        "role": ROLE_LABELS, "membership_role": MEMBERSHIP_ROLE_LABELS,
        "membership_status": MEMBERSHIP_STATUS_LABELS, "organisation_status": ORGANISATION_STATUS_LABELS,
        "certificate_status": CERTIFICATE_STATUS_LABELS, "organisation_kind": KIND_LABELS,
        "sector": SECTOR_LABELS, "size_band": SIZE_LABELS, "sex": SEX_LABELS, "language": LANGUAGE_LABELS,
    }.items():
        registry.add_labels(group, labels)


def local_time(value, zone: str | None = None, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    """A UTC instant shown in a time zone, with the zone named (never ambiguous)."""
    if value is None:
        return ""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        tz = ZoneInfo(zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz, zone = ZoneInfo("UTC"), "UTC"
    return f"{value.astimezone(tz).strftime(fmt)} ({zone or 'UTC'})"


def viewer_time(value, what: str = "datetime") -> str:
    """A UTC instant in the zone of the person looking at the page (``lms.timezones.zone_of``),
    in their language: ``{{ attempt.deadline_at|viewer_time("time") }}``. ``what``:
    "datetime", "date", "time" or "day"."""
    from .timezones import format_in_zone, zone_of

    return format_in_zone(value, zone_of(current_user), str(get_locale() or "en"), what)


def setup_templating(app, registry) -> None:
    """Filters and context for the LMS's templates; the menu comes from this app's registry."""
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(viewer_time, "viewer_time")
    # {{ membership.status|label("membership_status") }}: the words for a stored value
    app.add_template_filter(lambda value, group: registry.label(value, group), "label")
    app.add_template_filter(lambda a, b: {**a, **b}, "dict_merge")

    @app.context_processor
    def lms_context():
        def menu():
            entries = []
            for entry in registry.menu:
                if entry.audience == "authenticated" and not current_user.is_authenticated:
                    continue
                if entry.audience == "secretariat" and not (
                    current_user.is_authenticated and current_user.is_secretariat
                ):
                    continue
                if entry.visible is not None and not entry.visible(current_user):
                    continue
                entries.append(entry)
            return entries

        return {
            "lms_menu": menu,
            "country_name": country_name,
            "kind_label": lambda k: registry.label(k, "organisation_kind"),
            "sector_label": lambda s: registry.label(s, "sector"),
            "size_label": lambda s: registry.label(s, "size_band"),
            "sex_label": lambda s: registry.label(s, "sex"),
            "record_kind_label": lambda t: registry.record_kinds[t].label if t in registry.record_kinds else t,
            "site_name": app.config["LMS_SITE_NAME"],
            "current_locale": lambda: str(get_locale()),
        }

    from .markdown import render_markdown
    app.add_template_filter(render_markdown, "markdown")
