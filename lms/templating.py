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


def setup_templating(app, registry) -> None:
    """Filters and context for the LMS's templates; the menu comes from this app's registry."""
    app.add_template_filter(local_time, "local_time")
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
            "kind_label": lambda k: KIND_LABELS.get(k, k),
            "sector_label": lambda s: SECTOR_LABELS.get(s, s),
            "size_label": lambda s: SIZE_LABELS.get(s, s or ""),
            "sex_label": lambda s: SEX_LABELS.get(s, s),
            "record_kind_label": lambda t: registry.record_kinds[t].label if t in registry.record_kinds else t,
            "site_name": app.config["LMS_SITE_NAME"],
            "current_locale": lambda: str(get_locale()),
        }

    from .markdown import render_markdown
    app.add_template_filter(render_markdown, "markdown")
