"""People's time zones: a country's usual zone, the choices a form offers, and an instant
shown in a zone in the reader's language.

Times are stored in UTC (``lms.db.UTCDateTime``). A person's own times (a quiz's
deadline, when an attempt was handed in, when a certificate was earned) are shown in
their zone: the one they chose, else their country's usual one, else UTC. Workshop
sessions keep the run's own zone (``local_time``), since that is where they happen.
"""
from __future__ import annotations

import unicodedata
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from babel import Locale
from babel.core import get_global
from babel.dates import format_skeleton, get_datetime_format, get_timezone_location

UTC = "UTC"

#: For the countries that span several zones, the zone most of their people live in
#: (CLDR lists a country's zones in no useful order). One zone: that one.
PRIMARY_ZONES = {
    "AR": "America/Argentina/Buenos_Aires", "AU": "Australia/Sydney", "BR": "America/Sao_Paulo",
    "CA": "America/Toronto", "CD": "Africa/Kinshasa", "CL": "America/Santiago", "CN": "Asia/Shanghai",
    "CY": "Asia/Nicosia", "DE": "Europe/Berlin", "EC": "America/Guayaquil", "ES": "Europe/Madrid",
    "FM": "Pacific/Pohnpei", "GL": "America/Nuuk", "ID": "Asia/Jakarta", "KI": "Pacific/Tarawa",
    "KZ": "Asia/Almaty", "MH": "Pacific/Majuro", "MN": "Asia/Ulaanbaatar", "MX": "America/Mexico_City",
    "MY": "Asia/Kuala_Lumpur", "NZ": "Pacific/Auckland", "PF": "Pacific/Tahiti", "PG": "Pacific/Port_Moresby",
    "PS": "Asia/Hebron", "PT": "Europe/Lisbon", "RU": "Europe/Moscow", "UA": "Europe/Kyiv",
    "UM": "Pacific/Wake", "US": "America/New_York", "UZ": "Asia/Tashkent",
}


@lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    return frozenset(available_timezones())


def is_time_zone(value: str | None) -> bool:
    """Whether ``value`` names a zone of the system's time zone database."""
    return bool(value) and value in _known()


def country_time_zone(country: str | None) -> str | None:
    """The usual zone of a country (ISO 3166-1 alpha-2), or None when it is unknown."""
    if not country:
        return None
    code = country.upper()
    zones = get_global("territory_zones").get(code, [])
    zone = PRIMARY_ZONES.get(code) or (zones[0] if zones else None)
    return zone if is_time_zone(zone) else None


def zone_of(user) -> str:
    """The zone ``user``'s own times are shown in: theirs, else their country's, else UTC."""
    if user is None or not getattr(user, "is_authenticated", False):
        return UTC
    chosen = getattr(user, "time_zone", None)
    if is_time_zone(chosen):
        return chosen
    return country_time_zone(getattr(user, "country", None)) or UTC


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()


@lru_cache(maxsize=8)
def time_zone_choices(locale: str = "en") -> tuple[tuple[str, str], ...]:
    """(zone, label) for every country's zones, labelled in ``locale`` by the country and,
    where a country has several, the city ("Congo-Kinshasa — Lubumbashi"), sorted by
    label; UTC first."""
    loc = Locale.parse(locale)
    territories = get_global("territory_zones")
    choices = []
    for territory, zones in territories.items():
        if not territory.isalpha() or territory == "ZZ":  # "001": the world; "ZZ": unknown
            continue
        country = loc.territories.get(territory, territory)
        for zone in zones:
            if not is_time_zone(zone):
                continue
            label = country
            if len(zones) > 1:
                label = f"{country} — {get_timezone_location(zone, locale=loc, return_city=True)}"
            choices.append((zone, label))
    choices.sort(key=lambda choice: (_folded(choice[1]), choice[0]))
    return ((UTC, "UTC"), *choices)


def time_zone_name(zone: str, locale: str = "en") -> str:
    """How a zone is named in the choices ("Ghana", "Brazil — Manaus"); the zone id otherwise."""
    return dict(time_zone_choices(locale)).get(zone, zone)


#: How much of an instant to show: Babel skeletons, laid out as the locale does.
_SKELETONS = {"date": "yMMMd", "time": "Hm", "day": "yMMMEd"}


def format_in_zone(value: datetime | None, zone: str, locale: str = "en", what: str = "datetime",
                   name_zone: bool = True) -> str:
    """``value`` (aware, UTC) in ``zone``, in the words of ``locale``: "Tue, Mar 10, 2026,
    15:05 (Africa/Kinshasa)". ``what``: "datetime", "date", "time" or "day"."""
    if value is None:
        return ""
    tz = ZoneInfo(zone if is_time_zone(zone) else UTC)
    if what == "datetime":
        day = format_skeleton(_SKELETONS["day"], value, tzinfo=tz, locale=locale)
        time = format_skeleton(_SKELETONS["time"], value, tzinfo=tz, locale=locale)
        text = get_datetime_format("medium", locale=locale).replace("'", "").format(time, day)
    else:
        text = format_skeleton(_SKELETONS[what], value, tzinfo=tz, locale=locale)
    if name_zone and what != "date":
        text = f"{text} ({tz.key})"
    return text
