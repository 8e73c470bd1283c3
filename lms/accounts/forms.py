from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from ..templating import LANGUAGE_LABELS, country_choices
from ..timezones import time_zone_choices
from .passwords import password_problem


def sex_choices():
    return [
        ("", _l("Prefer not to say")),
        ("female", _l("Female")),
        ("male", _l("Male")),
        ("other", _l("Other")),
    ]


def _countries():
    return [("", _l("Choose your country"))] + country_choices()


def _time_zones():
    from flask_babel import get_locale

    return [("", _l("The usual time of my country"))] + list(time_zone_choices(str(get_locale() or "en")))


def time_zone_field():
    """The person's time zone; the service checks it (any zone of the system's database)."""
    return SelectField(
        _l("Time zone"), choices=_time_zones, default="", validate_choice=False,
        description=_l("Quiz deadlines and other times are shown in this time zone. "
                       "Leave the first choice to use the usual time of your country."),
    )


class PasswordStrength:
    """The password rule (``passwords.password_problem``) on a form's new-password field.

    The person is the form's ``owner`` (a User: set by the view for a change or a reset),
    else the form's own ``email`` and ``name`` fields (sign-up)."""

    def __call__(self, form, field):
        owner = getattr(form, "owner", None)
        if owner is not None:
            email, name = owner.email, owner.name
        else:
            email = form.email.data if "email" in form else None
            name = form.name.data if "name" in form else None
        problem = password_problem(field.data or "", email=email, name=name)
        if problem:
            raise ValidationError(problem)


class SignupForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("Email address"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), PasswordStrength()],
        description=_l("At least 10 characters. A short sentence is easy to remember and hard to guess."),
    )
    country = SelectField(_l("Country"), choices=_countries, validators=[DataRequired(_l("Choose your country."))])
    sex = RadioField(
        _l("Sex (optional)"), choices=sex_choices, default="", validators=[Optional()],
        description=_l("We use this only to count, anonymously, how many women and men "
                       "the programme reaches. It is never shown to anyone else."),
    )
    language = SelectField(_l("Preferred language"), choices=list(LANGUAGE_LABELS.items()), default="en")
    time_zone = time_zone_field()
    invitation = HiddenField()


class LoginForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(), Email()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    remember = BooleanField(_l("Keep me logged in on this device"))
    #: where to go after logging in (checked by the view: a path on this site only)
    next = HiddenField()


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(), Email()])


class ResetPasswordForm(FlaskForm):
    #: the person whose password is reset (set by the view)
    owner = None
    password = PasswordField(
        _l("New password"), validators=[DataRequired(), PasswordStrength()],
        description=_l("At least 10 characters. A short sentence is easy to remember and hard to guess."),
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", _l("The two passwords differ."))],
    )


class ProfileForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    country = SelectField(_l("Country"), choices=_countries, validators=[DataRequired(_l("Choose your country."))])
    sex = RadioField(
        _l("Sex (optional)"), choices=sex_choices, default="", validators=[Optional()],
        description=_l("We use this only to count, anonymously, how many women and men "
                       "the programme reaches. It is never shown to anyone else."),
    )
    language = SelectField(_l("Preferred language"), choices=list(LANGUAGE_LABELS.items()))
    time_zone = time_zone_field()


class ChangePasswordForm(FlaskForm):
    #: the person changing their password (set by the view)
    owner = None
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    password = PasswordField(
        _l("New password"), validators=[DataRequired(), PasswordStrength()],
        description=_l("At least 10 characters. A short sentence is easy to remember and hard to guess."),
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", _l("The two passwords differ."))],
    )
