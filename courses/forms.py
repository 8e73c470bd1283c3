"""The courses' forms: the catalogue's filters, publishing, and a quiz attempt's answers."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from wtforms import Form, StringField

from lms.forms import CSRFForm
from lms.orgs.models import SECTORS
from lms.templating import LANGUAGE_LABELS

from .models import AUDIENCES, QuizAttempt
from .quiz.engine import questions_of
from .quiz.types import QUESTION_TYPES

#: The words for the courses' stored values (the ``label`` filter), by group.
LABELS = {
    "course_audience": {
        "sme": _l("Small and medium-sized enterprises"),
        "employers_organisation": _l("Employers' organisations"),
        "all": _l("Everyone"),
    },
    "quiz_kind": {
        "graded": _l("Graded quiz"),
        "pretest": _l("Pre-test"),
        "self_assessment": _l("Self-assessment"),
    },
    "quiz_role": {
        "pretest": _l("Pre-test"),
        "final": _l("Final quiz"),
        "self_assessment": _l("Self-assessment"),
    },
    "question_difficulty": {
        "easy": _l("Easy"),
        "medium": _l("Medium"),
        "hard": _l("Hard"),
    },
    "item_flag": {
        "easy_on_pretest": _l("Most people get it right on the pre-test: it cannot show a gain"),
        "negative_discrimination": _l("Strong learners get it wrong more often than weak ones: check the key "
                                      "and the wording"),
    },
    "true_false": {"true": _l("True"), "false": _l("False")},
    "question_type": {
        "single": _l("Single choice"),
        "multiple": _l("Multiple choice"),
        "true_false": _l("True or false"),
        "matching": _l("Matching"),
        "numeric": _l("Number"),
        "short_text": _l("Short text"),
        "scale": _l("Scale"),
    },
}


class CatalogueFilterForm(Form):
    """The catalogue's search (a GET form: nothing to protect). A value that is not one
    of the choices filters nothing, as if it had not been sent."""

    language = StringField()
    sector = StringField()
    audience = StringField()
    q = StringField()

    def filters(self) -> dict:
        def one_of(value, choices):
            return value if value in choices else ""

        return {"language": one_of(self.language.data, LANGUAGE_LABELS),
                "sector": one_of(self.sector.data, SECTORS),
                "audience": one_of(self.audience.data, AUDIENCES),
                "q": (self.q.data or "").strip()[:100]}


class PublishForm(CSRFForm):
    published = StringField()

    def wanted(self) -> bool:
        return self.published.data == "1"


class AttemptForm(CSRFForm):
    """The answers of one attempt: a field per question (or per item of a matching
    question) as its type declares it, built from the attempt's layout, so options come
    back only as the attempt's tokens. ``action`` is "save" to keep the answers and
    continue later; anything else hands the attempt in. ``confirmed`` (sent by the
    confirmation step) hands it in even with questions left unanswered."""

    action = StringField()
    confirmed = StringField()

    @classmethod
    def for_attempt(cls, session: Session, attempt: QuizAttempt, formdata=None) -> AttemptForm:
        """The form of ``attempt``, reading the request's form (or ``formdata``)."""
        questions = questions_of(session, attempt)
        fields = {}
        for question, layout in questions:
            fields.update(QUESTION_TYPES[question.type].fields(f"q{question.id}", layout))
        form_class = type("AttemptForm", (cls,), fields)
        form = form_class() if formdata is None else form_class(formdata=formdata)
        form.questions = questions
        return form

    def is_saving(self) -> bool:
        return self.action.data == "save"

    def is_confirmed(self) -> bool:
        return self.confirmed.data == "1"

    def answers(self) -> dict:
        """The responses by question id, as the attempt stores them; unanswered questions
        and values that are none of the attempt's choices are left out."""
        values = MultiDict()
        for name, field in self._fields.items():
            data = field.data
            for value in data if isinstance(data, list) else [data]:
                if isinstance(value, str):
                    values.add(name, value)
        answers = {}
        for question, layout in self.questions:
            value = QUESTION_TYPES[question.type].parse(values, f"q{question.id}", layout)
            if value not in ("", None, [], {}):
                answers[str(question.id)] = value
        return answers
