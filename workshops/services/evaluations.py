"""The participants' evaluation of a run: who may give one, saving it, and the
organisers' summary."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms.common import FieldError
from lms.db import utcnow

from ..models import Evaluation, Registration, RegistrationStatus
from .attendance import attended_count


def may_evaluate(session: Session, registration: Registration | None, now: datetime | None = None) -> str | None:
    """Why this person may not give an evaluation now, or None."""
    now = now or utcnow()
    if registration is None or registration.status != RegistrationStatus.CONFIRMED:
        return _("Only participants of this workshop can evaluate it.")
    run = registration.run
    if not run.sessions or now < run.sessions[0].starts_at:
        return _("The evaluation opens when the first session starts.")
    if attended_count(session, registration) < 1:
        return _("The evaluation is for people who attended at least one session.")
    return None


def previous_evaluation(session: Session, registration: Registration) -> Evaluation | None:
    return session.scalar(select(Evaluation).where(Evaluation.registration_id == registration.id))


@dataclass
class EvaluationPage:
    #: Why the person may not evaluate (None: they may).
    reason: str | None
    #: What they gave before, to fill the form with.
    previous: Evaluation | None


def evaluation_page(session: Session, registration: Registration, now: datetime | None = None) -> EvaluationPage:
    reason = may_evaluate(session, registration, now)
    return EvaluationPage(reason, previous_evaluation(session, registration) if reason is None else None)


def save_evaluation(session: Session, registration: Registration, satisfaction: int, comments: str | None,
                    now: datetime | None = None) -> Evaluation:
    """One evaluation per registration: a second one replaces the first."""
    reason = may_evaluate(session, registration, now)
    if reason:
        raise FieldError(reason)
    if satisfaction not in range(1, 6):
        raise FieldError(_("Choose a satisfaction from 1 to 5."), "satisfaction")
    evaluation = previous_evaluation(session, registration)
    if evaluation is None:
        evaluation = Evaluation(registration_id=registration.id, satisfaction=satisfaction)
        session.add(evaluation)
    evaluation.satisfaction = satisfaction
    evaluation.comments = (comments or "").strip() or None
    evaluation.submitted_at = now or utcnow()
    session.flush()
    return evaluation


@dataclass
class EvaluationSummary:
    count: int = 0
    mean: float | None = None
    distribution: dict[int, int] = field(default_factory=lambda: dict.fromkeys(range(1, 6), 0))
    comments: list[str] = field(default_factory=list)


def evaluation_summary(session: Session, run_id: int) -> EvaluationSummary:
    summary = EvaluationSummary()
    of_run = (select(Evaluation.satisfaction, func.count()).join(
        Registration, Registration.id == Evaluation.registration_id).where(Registration.run_id == run_id)
        .group_by(Evaluation.satisfaction))
    for satisfaction, n in session.execute(of_run):
        summary.distribution[satisfaction] = n
    summary.count = sum(summary.distribution.values())
    if summary.count:
        summary.mean = sum(k * v for k, v in summary.distribution.items()) / summary.count
    summary.comments = list(session.scalars(select(Evaluation.comments).join(
        Registration, Registration.id == Evaluation.registration_id).where(
        Registration.run_id == run_id, Evaluation.comments.is_not(None)).order_by(Evaluation.submitted_at)))
    return summary
