"""The secretariat's changes to an account (role, active), called directly and through
the people list."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from lms.accounts.models import AuditEntry
from lms.accounts.services import change_role, set_active, update_account
from lms.common import FieldError
from tests.factories import make_user


def _audit(s) -> list[tuple[str, dict]]:
    return [(e.action, json.loads(e.detail)) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_change_role_is_audited_with_the_old_role(ctx):
    actor, person = make_user(ctx, role="secretariat"), make_user(ctx)
    assert change_role(ctx, person, "secretariat", actor) is True
    ctx.flush()
    assert person.role == "secretariat"
    assert _audit(ctx) == [("user.role", {"role": "secretariat", "was": "learner"})]
    assert ctx.scalar(select(AuditEntry.actor_id)) == actor.id


def test_the_same_role_again_changes_nothing(ctx):
    actor, person = make_user(ctx, role="secretariat"), make_user(ctx)
    assert change_role(ctx, person, "learner", actor) is False
    ctx.flush()
    assert _audit(ctx) == []


def test_nobody_changes_their_own_role_or_deactivates_themselves(ctx):
    actor = make_user(ctx, role="secretariat")
    with pytest.raises(FieldError):
        change_role(ctx, actor, "learner", actor)
    with pytest.raises(FieldError):
        set_active(ctx, actor, False, actor)
    with pytest.raises(FieldError):
        update_account(ctx, actor, actor)
    assert actor.role == "secretariat" and actor.active


def test_an_unknown_role_is_refused(ctx):
    actor, person = make_user(ctx, role="secretariat"), make_user(ctx)
    with pytest.raises(FieldError) as raised:
        change_role(ctx, person, "admin", actor)
    assert raised.value.field == "role" and person.role == "learner"


def test_update_account_changes_role_and_state_together(ctx):
    actor, person = make_user(ctx, role="secretariat"), make_user(ctx)
    assert update_account(ctx, person, actor, role="secretariat", active=False) is True
    ctx.flush()
    assert (person.role, person.active) == ("secretariat", False)
    assert [action for action, _ in _audit(ctx)] == ["user.role", "user.deactivate"]


def test_the_people_list_posts_through_the_service(client, session, auth):
    actor, person = make_user(session, role="secretariat"), make_user(session)
    session.commit()
    auth.login(actor)
    assert client.post(f"/admin/users/{person.id}", data={"role": "secretariat"}).status_code == 302
    assert client.post(f"/admin/users/{person.id}", data={"active": "0", "role": "admin"}).status_code == 302
    assert client.post(f"/admin/users/{actor.id}", data={"active": "0"}).status_code == 302
    session.refresh_all()
    assert (session.get(type(person), person.id).role, session.get(type(person), person.id).active) == \
        ("secretariat", False)
    assert session.get(type(actor), actor.id).active
