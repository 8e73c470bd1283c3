from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, EmailField, HiddenField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField, URLField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, URL
from wtforms.widgets import CheckboxInput, ListWidget

from ..db import MAX_ID
from ..forms import CSRFForm
from ..templating import KIND_LABELS, SECTOR_LABELS, SIZE_LABELS, country_choices
from .models import KINDS, SECTORS, SIZE_BANDS


class CheckboxListField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _countries():
    return [("", _l("Choose a country"))] + country_choices()


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind of organisation"), choices=[(k, KIND_LABELS[k]) for k in KINDS])
    country = SelectField(_l("Country"), choices=_countries, validators=[DataRequired(_l("Choose a country."))])
    sectors = CheckboxListField(_l("Sectors"), choices=[(s, SECTOR_LABELS[s]) for s in SECTORS])
    size_band = SelectField(
        _l("Size (businesses only)"),
        choices=[("", _l("Not a business / not known"))] + [(s, SIZE_LABELS[s]) for s in SIZE_BANDS],
        validators=[Optional()],
    )
    parent_id = IntegerField(
        _l("Parent organisation (number)"),
        validators=[Optional(), NumberRange(min=0, max=MAX_ID, message=_l("There is no organisation with this number."))],
        description=_l("For an SME, its employers' organisation; for an employers' organisation, its federation."),
    )
    is_alliance_partner = BooleanField(_l("Alliance 8.7 partner"))
    website = URLField(_l("Website"), validators=[Optional(), URL(), Length(max=300)])


class RequestOrganisationForm(FlaskForm):
    name = StringField(_l("Name of your organisation"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(
        _l("Kind of organisation"), choices=[(k, KIND_LABELS[k]) for k in KINDS], default="sme",
    )
    country = SelectField(_l("Country"), choices=_countries, validators=[DataRequired(_l("Choose a country."))])
    sectors = CheckboxListField(_l("Sectors"), choices=[(s, SECTOR_LABELS[s]) for s in SECTORS])
    size_band = SelectField(
        _l("Number of employees"),
        choices=[("", _l("Not a business / not known"))] + [(s, SIZE_LABELS[s]) for s in SIZE_BANDS],
        validators=[Optional()],
    )
    parent_id = SelectField(
        _l("Your employers' organisation"), coerce=int, validators=[Optional()],
        description=_l("The employers' organisation your business is a member of. It will approve your request."),
    )
    website = URLField(_l("Website (optional)"), validators=[Optional(), URL(), Length(max=300)])
    #: Shown with organisations the request may duplicate: the person says theirs is none of them.
    not_listed = BooleanField(_l("My organisation is none of these: send my request"))
    #: Which name and country those organisations were found for (see services.duplicates_checked_for).
    checked = HiddenField(validators=[Optional(), Length(max=300)])


class JoinForm(FlaskForm):
    message = TextAreaField(
        _l("Message to the organisation's managers (optional)"), validators=[Optional(), Length(max=500)],
    )


class InviteForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField(_l("Name (optional)"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Role"), choices=[("member", _l("Member")), ("manager", _l("Manager"))])


class ImportForm(FlaskForm):
    file = FileField(
        _l("CSV file"),
        validators=[FileRequired(_l("Choose a CSV file.")), FileAllowed(["csv", "txt"], _l("The file must be a .csv file."))],
        description=_l("Columns: email, name (optional), role (member or manager, optional). The first row holds the column names."),
    )


class MergeForm(FlaskForm):
    target_id = IntegerField(_l("Merge into organisation number"), validators=[
        DataRequired(), NumberRange(min=1, max=MAX_ID, message=_l("There is no organisation with this number."))])
    confirm = BooleanField(_l("I understand that this cannot be undone"), validators=[DataRequired()])


class MemberRoleForm(CSRFForm):
    """The "make manager" / "make member" button of the members page; the service
    refuses a role it does not know."""

    role = HiddenField()
