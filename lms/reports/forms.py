"""The filter forms of the reports (GET forms: no CSRF token, nothing is written).

A period preset stands for its dates, and the form shows them: the server resolves the
preset into From and To and renders them in the fields (no JavaScript), so the GET
form then carries explicit dates. Which one a request means, when it carries both:

- a preset alone (``?preset=last_year``, a link) or a preset just chosen in the form
  (it differs from ``last_preset``, the preset the form was shown with): the preset,
  resolved against today, whatever dates came with it;
- the preset the form was shown with, with dates that differ from its own: the dates,
  as custom dates (the reader changed them, and a saved link keeps the dates it was
  made with rather than sliding to another quarter);
- ``preset=custom``, or dates without a preset: the dates.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.fields import DateField
from wtforms.validators import Length, Optional, ValidationError

from ..exports import Setting, slug
from ..metrics.definitions import Filters, Period, period_problems
from ..orgs.models import KINDS, SECTORS
from ..templating import KIND_LABELS, LANGUAGE_LABELS, SECTOR_LABELS, country_name
from .dashboard import PRESET_LABELS, PRESETS, preset_period

ALL_TIME_LABEL = _l("All time")


class _GetForm(FlaskForm):
    class Meta:
        csrf = False


class PeriodForm(_GetForm):
    preset = SelectField(_l("Period"), validators=[Optional()],
                         description=_l("Press Show and its dates appear in From and To; change them to count "
                                        "other days."))
    start = DateField(_l("From"), name="from", validators=[Optional()])
    end = DateField(_l("To"), name="to", validators=[Optional()])
    country = SelectField(_l("Country"), validators=[Optional()])
    sector = SelectField(_l("Sector"), validators=[Optional()],
                         choices=[("", _l("All sectors"))] + [(s, SECTOR_LABELS[s]) for s in SECTORS])
    org_kind = SelectField(_l("Kind of organisation"), validators=[Optional()],
                           choices=[("", _l("All kinds"))] + [(k, KIND_LABELS[k]) for k in KINDS])
    #: the preset the form was shown with (see the module's docstring)
    last_preset = HiddenField()

    #: True where "all time" is a choice (tables); the dashboard always has a period
    allow_all_time = False

    def setup(self, countries: list[str], today: date | None = None):
        presets = [(p, PRESET_LABELS[p]) for p in PRESETS]
        if self.allow_all_time:
            presets.insert(0, ("all_time", ALL_TIME_LABEL))
        self.preset.choices = presets
        self.country.choices = [("", _l("All countries"))] + sorted(
            ((c, country_name(c)) for c in countries if c), key=lambda c: c[1])
        self._resolve_preset(today or datetime.now(timezone.utc).date())
        return self

    def _resolve_preset(self, today: date) -> None:
        typed = tuple((field.raw_data or [""])[0].strip() for field in (self.start, self.end))
        if not self.preset.data:
            # Dates given without a preset (a link, or the API's from/to) mean custom dates.
            self.preset.data = "custom" if any(typed) else ("all_time" if self.allow_all_time else "this_year")
        preset = self.preset.data
        if (preset in PRESETS and preset != "custom") or (preset == "all_time" and self.allow_all_time):
            period = preset_period(preset, today) if preset != "all_time" else None
            dates = (period.start, period.end) if period else (None, None)
            own = tuple(d.isoformat() if d else "" for d in dates)
            if self.last_preset.data == preset and any(typed) and typed != own:
                self.preset.data = "custom"  # the reader changed the dates the preset had filled in
            else:
                for field, day in zip((self.start, self.end), dates):
                    field.data, field.raw_data = day, [day.isoformat()] if day else []
                    field.process_errors = []
        self.last_preset.data = self.preset.data

    def validate(self, extra_validators=None) -> bool:
        # validate_end may put a message next to From, after From was checked
        return super().validate(extra_validators) and not self.start.errors

    def validate_end(self, field):
        if self.preset.data != "custom":
            return
        if self.start.data is None and not self.start.errors:
            self.start.errors = [*self.start.errors, _l("Give the first day of the period.")]
        if field.data is None:
            raise ValidationError(_l("Give the last day of the period."))
        problems = period_problems(self.start.data, field.data)
        if "from" in problems:
            self.start.errors = [*self.start.errors, problems["from"]]
        if "to" in problems:
            raise ValidationError(problems["to"])

    def period(self) -> Period | None:
        """The chosen period, as the From and To fields show it (``None``: all time).
        Call after ``validate``."""
        if self.preset.data == "all_time":
            return None
        return Period(self.start.data, self.end.data)

    def period_args(self) -> dict:
        """The period as the page shows it, for links that must hold the same one."""
        return {"preset": self.preset.data, "from": self.start._value(), "to": self.end._value(),
                "last_preset": self.last_preset.data}

    def about(self, filters: tuple[str, ...]) -> list[Setting]:
        """The period and the ``filters`` (field names) as a download's about block
        settings, each filter with its value and its label; an empty value means all."""
        period = self.period()
        if period:
            start, end = period.start.isoformat(), period.end.isoformat()
            words = _l("From %(start)s to %(end)s inclusive (UTC)", start=start, end=end)
            settings = [Setting("period", _l("Period"), (start, end, words), f"{start}_{end}")]
        else:
            settings = [Setting("period", _l("Period"), ("", "", ALL_TIME_LABEL), "all-time")]
        for name in filters:
            field = getattr(self, name)
            value = (field.data or "").strip()
            if isinstance(field, SelectField):
                shown = dict(field.choices).get(value, value)
            else:
                shown = value or _l("Any")
            settings.append(Setting(f"filter.{field.name}", field.label.text, (value, shown),
                                    f"{field.name.replace('_', '-')}-{slug(value)}" if value else ""))
        return settings


class DashboardForm(PeriodForm):
    course = SelectField(_l("Course"), validators=[Optional()])
    language = SelectField(_l("Language"), validators=[Optional()],
                           choices=[("", _l("All languages"))] + list(LANGUAGE_LABELS.items()))

    def setup(self, countries: list[str], courses: list[tuple[str, str]] | None = None,
              today: date | None = None):
        super().setup(countries, today)
        self.course.choices = [("", _l("All courses"))] + list(courses or [])
        return self

    def filters(self) -> Filters:
        return Filters(country=self.country.data or None, sector=self.sector.data or None,
                       org_kind=self.org_kind.data or None, course=self.course.data or None,
                       language=self.language.data or None)


class TableForm(PeriodForm):
    allow_all_time = True
    q = StringField(_l("Name contains"), validators=[Optional(), Length(max=100)])
