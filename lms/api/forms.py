"""The form of the API tokens page."""
from __future__ import annotations

from datetime import datetime, time, timezone

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.fields import DateField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from .models import NAME_LENGTH


class TokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_LENGTH)],
                       description=_l("What the token is for, so that you know which one to revoke: "
                                      "“Power BI dashboard”, “Annual report script”."))
    expires = DateField(_l("Expires on (optional)"), validators=[Optional()],
                        description=_l("The token stops working at the start of this day (00:00 UTC), at most a "
                                       "year ahead. Leave it empty for a token that does not expire."))

    def expires_at(self) -> datetime | None:
        """The instant the token stops working: the start of the chosen day, in UTC."""
        if self.expires.data is None:
            return None
        return datetime.combine(self.expires.data, time(0), tzinfo=timezone.utc)

    def validate_expires(self, _field) -> None:
        from .services import expiry_problem

        problem = expiry_problem(self.expires_at())
        if problem:
            raise ValidationError(problem)
