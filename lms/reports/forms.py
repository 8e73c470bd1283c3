"""The filter forms of the reports (GET forms: no CSRF token, nothing is written)."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields import DateField
from wtforms.validators import Length, Optional, ValidationError

from ..metrics.definitions import Filters, Period
from ..orgs.models import KINDS, SECTORS
from ..templating import KIND_LABELS, LANGUAGE_LABELS, SECTOR_LABELS, country_name
from .dashboard import PRESET_LABELS, PRESETS, preset_period

ALL_TIME_LABEL = _l("All time")


class _GetForm(FlaskForm):
    class Meta:
        csrf = False


class PeriodForm(_GetForm):
    preset = SelectField(_l("Period"), validators=[Optional()])
    start = DateField(_l("From"), name="from", validators=[Optional()])
    end = DateField(_l("To"), name="to", validators=[Optional()])
    country = SelectField(_l("Country"), validators=[Optional()])
    sector = SelectField(_l("Sector"), validators=[Optional()],
                         choices=[("", _l("All sectors"))] + [(s, SECTOR_LABELS[s]) for s in SECTORS])
    org_kind = SelectField(_l("Kind of organisation"), validators=[Optional()],
                           choices=[("", _l("All kinds"))] + [(k, KIND_LABELS[k]) for k in KINDS])

    #: True where "all time" is a choice (tables); the dashboard always has a period
    allow_all_time = False

    def setup(self, countries: list[str]):
        presets = [(p, PRESET_LABELS[p]) for p in PRESETS]
        if self.allow_all_time:
            presets.insert(0, ("all_time", ALL_TIME_LABEL))
        self.preset.choices = presets
        self.country.choices = [("", _l("All countries"))] + sorted(
            ((c, country_name(c)) for c in countries if c), key=lambda c: c[1])
        if not self.preset.data:
            # Dates given without a preset (a link, or the API's from/to) mean custom dates.
            has_dates = self.start.raw_data or self.end.raw_data
            self.preset.data = "custom" if has_dates else ("all_time" if self.allow_all_time else "this_year")
        return self

    def validate_end(self, field):
        if self.preset.data != "custom":
            return
        if self.start.data is None and not self.start.errors:
            self.start.errors = [*self.start.errors, _l("Give the first day of the period.")]
        if field.data is None:
            raise ValidationError(_l("Give the last day of the period."))
        if self.start.data and field.data < self.start.data:
            raise ValidationError(_l("The period cannot end before it starts."))

    def period(self, today: date) -> Period | None:
        """The chosen period (``None``: all time). Call after ``validate``."""
        if self.preset.data == "all_time":
            return None
        if self.preset.data == "custom":
            return Period(self.start.data, self.end.data)
        return preset_period(self.preset.data, today)


class DashboardForm(PeriodForm):
    course = SelectField(_l("Course"), validators=[Optional()])
    language = SelectField(_l("Language"), validators=[Optional()],
                           choices=[("", _l("All languages"))] + list(LANGUAGE_LABELS.items()))

    def setup(self, countries: list[str], courses: list[tuple[str, str]] | None = None):
        super().setup(countries)
        self.course.choices = [("", _l("All courses"))] + list(courses or [])
        return self

    def filters(self) -> Filters:
        return Filters(country=self.country.data or None, sector=self.sector.data or None,
                       org_kind=self.org_kind.data or None, course=self.course.data or None,
                       language=self.language.data or None)


class TableForm(PeriodForm):
    allow_all_time = True
    q = StringField(_l("Name contains"), validators=[Optional(), Length(max=100)])
