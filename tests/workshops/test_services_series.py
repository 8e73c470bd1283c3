"""The series services called directly: who may author and edit, and saving."""
from __future__ import annotations

import pytest
from flask_login import AnonymousUserMixin

from lms.common import FieldError
from tests.factories import make_org, make_series, make_user
from workshops.services import series as services


def _save(ctx, series, actor, outlines=None, title="Due diligence: a start"):
    return services.save_series(ctx, series, title=title, summary=" Four steps. ", language="en", audience="sme",
                                objectives_md="", facilitator_notes_md="", actor=actor,
                                outlines=[services.OutlineRow("One", 90, "")] if outlines is None else outlines)


def test_who_may_author_and_edit(ctx):
    eo, sme = make_org(ctx), make_org(ctx, kind="sme")
    eo_manager, sme_manager = make_user(ctx, org=eo, manager=True), make_user(ctx, org=sme, manager=True)
    secretariat, other = make_user(ctx, role="secretariat"), make_user(ctx, org=make_org(ctx), manager=True)
    assert services.may_author_series(eo_manager) and services.may_author_series(secretariat)
    assert not services.may_author_series(sme_manager) and not services.may_author_series(AnonymousUserMixin())
    series = _save(ctx, None, eo_manager)
    assert series.owner_organisation_id == eo.id and series.slug == "due-diligence-a-start"
    assert services.may_edit_series(eo_manager, series) and services.may_edit_series(secretariat, series)
    assert not services.may_edit_series(other, series)
    assert not services.may_edit_series(secretariat, make_series(ctx, source="content"))


def test_save_series_rules(ctx):
    secretariat = make_user(ctx, role="secretariat")
    first = _save(ctx, None, secretariat)
    assert _save(ctx, None, secretariat).slug == first.slug + "-2" and first.owner_organisation_id is None
    with pytest.raises(FieldError) as refused:
        _save(ctx, first, secretariat, outlines=[])
    assert refused.value.field == "sessions"
    with pytest.raises(FieldError, match="content files"):
        _save(ctx, make_series(ctx, source="content"), secretariat)
    again = _save(ctx, first, secretariat, outlines=[services.OutlineRow(" A ", 60, "x"), services.OutlineRow("B", 30, "")])
    assert [(s.position, s.title) for s in again.sessions] == [(1, "A"), (2, "B")] and again.summary == "Four steps."
    assert services.series_by_slug(ctx, first.slug) is first and first in services.list_series(ctx)
