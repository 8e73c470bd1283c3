"""Forms of the workshop pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, DateTimeLocalField, FieldList, Form, FormField, IntegerField,
                     RadioField, SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField, TimeField,
                     URLField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, URL, ValidationError
from wtforms.widgets import HiddenInput

from lms.common import bounded_int
from lms.db import MAX_ID
from lms.forms import CSRFForm
from lms.templating import LANGUAGE_LABELS, country_choices

from .models import RUN_AUDIENCES, STAKEHOLDER_CATEGORIES

SERIES_ROWS = 6

STAKEHOLDER_LABELS = {
    "buyer": _l("Buyer (brand or retailer)"),
    "supplier": _l("Supplier or producer"),
    "worker_advocate": _l("Worker advocate"),
    "survivor": _l("Survivor of forced labour or trafficking"),
    "government": _l("Government"),
    "academic": _l("Academic or researcher"),
    "technology_provider": _l("Technology provider"),
    "donor_investor": _l("Donor or investor"),
    "employers_organisation": _l("Employers' organisation"),
    "trade_union": _l("Trade union"),
    "other": _l("Other"),
}
SERIES_AUDIENCE_LABELS = {
    "all": _l("Everyone"),
    "sme": _l("Small and medium-sized enterprises"),
    "employers_organisation": _l("Employers' organisations"),
}
RUN_AUDIENCE_LABELS = {
    "open": _l("Open to everyone"),
    "members": _l("Members of the host organisation and its member businesses"),
}
REGISTRATION_STATUS_LABELS = {
    "pending": _l("Waiting for approval"),
    "confirmed": _l("Place confirmed"),
    "waitlisted": _l("On the waiting list"),
    "cancelled": _l("Cancelled"),
    "rejected": _l("Not accepted"),
}
RUN_STATUS_LABELS = {
    "scheduled": _l("Scheduled"),
    "cancelled": _l("Cancelled"),
}
#: The words for the workshops' stored values (the ``label`` filter), by group.
LABELS = {
    "registration_status": REGISTRATION_STATUS_LABELS, "run_status": RUN_STATUS_LABELS,
    "stakeholder_category": STAKEHOLDER_LABELS, "series_audience": SERIES_AUDIENCE_LABELS,
    "run_audience": RUN_AUDIENCE_LABELS,
}


def _languages():
    return list(LANGUAGE_LABELS.items())


class OutlineForm(Form):
    """One session of a series; a row left without a title is ignored."""

    title = StringField(_l("Session title"), validators=[Optional(), Length(max=300)])
    duration_minutes = IntegerField(_l("Duration (minutes)"), default=90,
                                    validators=[Optional(), NumberRange(min=5, max=24 * 60)])
    outline_md = TextAreaField(_l("Outline (Markdown)"), validators=[Optional(), Length(max=20000)])


class SeriesForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    summary = TextAreaField(_l("Summary"), validators=[DataRequired(), Length(max=2000)])
    language = SelectField(_l("Language"), choices=_languages, default="en")
    audience = SelectField(_l("Audience"), choices=list(SERIES_AUDIENCE_LABELS.items()), default="all")
    objectives_md = TextAreaField(_l("Objectives (Markdown)"), validators=[Optional(), Length(max=20000)])
    facilitator_notes_md = TextAreaField(
        _l("Facilitator notes (Markdown)"), validators=[Optional(), Length(max=50000)],
        description=_l("Shown only to organisers and the secretariat."))
    #: Set by the view when no row has a title.
    sessions_errors: list | None = None
    # Six fixed rows (no JavaScript needed), as separate fields: WTForms' FieldList
    # renumbers rows when one in the middle is left empty.

    def session_rows(self):
        return [getattr(self, f"session_{n}") for n in range(SERIES_ROWS)]

    def filled_sessions(self):
        return [row.form for row in self.session_rows() if (row.form.title.data or "").strip()]


for _n in range(SERIES_ROWS):
    setattr(SeriesForm, f"session_{_n}", FormField(OutlineForm, label=_l("Session")))


#: The most sessions a run's form takes ("Add another session" stops there).
MAX_RUN_SESSIONS = 20


class RunSessionForm(Form):
    """One session of a run, in the run's time zone. A row left empty is ignored (the
    form keeps a free row for the next session); a row begun needs its date and start.
    Without an end, the session lasts as long as the series says."""

    day = DateField(_l("Date"), validators=[Optional()])
    starts = TimeField(_l("Starts at"), validators=[Optional()])
    ends = TimeField(_l("Ends at"), validators=[Optional()])

    def typed(self) -> list:
        return [self.day, self.starts, self.ends]

    def is_blank(self) -> bool:
        return not any((f.raw_data or [""])[0].strip() if f.raw_data else f.data for f in self.typed())

    def validate(self, extra_validators=None):
        if self.is_blank():
            return True
        valid = super().validate(extra_validators)
        for f, message in ((self.day, _l("Give the date.")), (self.starts, _l("Give the start time."))):
            if f.data is None and not f.errors:
                f.errors = [*f.errors, message]
                valid = False
        return valid


class _RunPlaceFields(FlaskForm):
    """Where a run is held and how many it takes: the same fields to schedule and to edit."""

    city = StringField(_l("City (optional)"), validators=[Optional(), Length(max=100)],
                       description=_l("Shown in the list of runs. Leave empty for a run held online only."))
    venue = StringField(_l("Venue (optional)"), validators=[Optional(), Length(max=300)])
    online_url = URLField(_l("Online link (optional)"), validators=[Optional(), URL(), Length(max=500)],
                          description=_l("Shown only to confirmed participants and organisers."))
    capacity = IntegerField(_l("Capacity (places)"), validators=[
        InputRequired(_l("Give the number of places.")), NumberRange(min=1, max=100000)])
    registration_opens = DateTimeLocalField(_l("Registration opens (optional)"), format="%Y-%m-%dT%H:%M",
                                            validators=[Optional()])
    registration_closes = DateTimeLocalField(_l("Registration closes (optional)"), format="%Y-%m-%dT%H:%M",
                                             validators=[Optional()])
    required_sessions = IntegerField(
        _l("Sessions required to complete (optional)"), validators=[Optional(), NumberRange(min=1)],
        description=_l("Leave empty to require every session."))
    add_session = SubmitField(_l("Add another session"))

    def filled_sessions(self) -> list[tuple[int, Form]]:
        """(row number in the form, row) of the sessions typed."""
        return [(n, entry.form) for n, entry in enumerate(self.sessions) if not entry.form.is_blank()]

    def add_session_row(self) -> None:
        if len(self.sessions) < MAX_RUN_SESSIONS:
            self.sessions.append_entry()


class RunForm(_RunPlaceFields):
    host_id = SelectField(_l("Host organisation"), coerce=int, validate_choice=True)
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)],
                        description=_l("The series' title unless you give the run its own."))
    language = SelectField(_l("Language"), choices=_languages, default="en")
    country = SelectField(_l("Country"), choices=lambda: [("", _l("Choose a country"))] + country_choices(),
                          validators=[DataRequired(_l("Choose a country."))])
    timezone = SelectField(_l("Time zone"), validators=[DataRequired()],
                           description=_l("The sessions' dates and times are read in this time zone."))
    approval_required = BooleanField(_l("Organisers approve each registration"))
    audience = SelectField(_l("Who may register"), choices=[(a, RUN_AUDIENCE_LABELS[a]) for a in RUN_AUDIENCES],
                           default="open")
    sessions = FieldList(FormField(RunSessionForm), min_entries=1, max_entries=MAX_RUN_SESSIONS)

    def more_settings_open(self, series_title: str) -> bool:
        """Whether the "More settings" part starts open: it holds an error or a choice."""
        fields = (self.title, self.registration_opens, self.registration_closes, self.approval_required,
                  self.audience, self.required_sessions)
        return (any(f.errors for f in fields) or (self.title.data or "") != series_title
                or bool(self.registration_opens.data or self.registration_closes.data or self.approval_required.data
                        or self.required_sessions.data) or self.audience.data not in (None, "open"))


class EditSessionForm(RunSessionForm):
    """A session of a scheduled run (``session_id``), or a new one (no id)."""

    session_id = IntegerField(widget=HiddenInput(), validators=[Optional(), NumberRange(min=1, max=MAX_ID)])
    remove = BooleanField(_l("Remove this session"))

    def is_blank(self) -> bool:
        return not (self.session_id.raw_data or [""])[0] and not self.session_id.data and super().is_blank()


class RunEditForm(_RunPlaceFields):
    sessions = FieldList(FormField(EditSessionForm), min_entries=1, max_entries=MAX_RUN_SESSIONS)


class RegisterForm(FlaskForm):
    stakeholder_category = SelectField(
        _l("Which best describes you?"),
        choices=[("", _l("Choose one"))] + [(c, STAKEHOLDER_LABELS[c]) for c in STAKEHOLDER_CATEGORIES],
        validators=[DataRequired(_l("Choose the description that fits you best."))])
    accessibility_needs = TextAreaField(
        _l("Accessibility needs (optional)"), validators=[Optional(), Length(max=2000)],
        description=_l("For example sign language interpretation, step-free access or captions."))


class CancelRunForm(FlaskForm):
    confirm = BooleanField(_l("Yes, cancel this run and tell everyone registered"),
                           validators=[DataRequired(_l("Tick the box to confirm."))])


class RosterForm(CSRFForm):
    """The roster's ticked boxes: registration ids, kept as sent (the service keeps
    those of confirmed participants and ignores the rest)."""

    present = SelectMultipleField(validate_choice=False, default=())

    def validate_present(self, field):
        # The boxes carry registration ids: anything else was not sent by the page.
        if any(bounded_int(value, 1) is None for value in field.data or ()):
            raise ValidationError(_l("The roster names a registration that does not exist."))


class QrCheckInForm(CSRFForm):
    """The session an organiser checks a scanned participant in for; none: the
    session in progress."""

    session_id = IntegerField(validators=[Optional(), NumberRange(min=0, max=MAX_ID)])


class SelfCheckInForm(FlaskForm):
    code = StringField(_l("Code shown in the room"), validators=[
        DataRequired(_l("Type the code shown in the room.")), Length(max=40)], render_kw={"autocomplete": "off"})


SATISFACTION = [
    ("5", _l("5 – Very satisfied")), ("4", _l("4 – Satisfied")), ("3", _l("3 – Neither satisfied nor dissatisfied")),
    ("2", _l("2 – Dissatisfied")), ("1", _l("1 – Very dissatisfied")),
]


class EvaluationForm(FlaskForm):
    satisfaction = RadioField(_l("How satisfied are you with this workshop?"), choices=SATISFACTION,
                              validators=[InputRequired(_l("Choose how satisfied you are."))])
    comments = TextAreaField(_l("Comments"), validators=[Length(max=5000)],
                             description=_l("What worked, what could be better (optional)."))
