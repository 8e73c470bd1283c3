"""Stored values (roles, statuses, kinds) reach people as words, from one mapping: the
registry's labels, which the core and each feature fill, read by the ``label`` filter."""
from __future__ import annotations

import re
import secrets

from lms.orgs.models import Membership
from lms.registry import Registry
from tests.factories import PASSWORD, make_org, make_run, make_user


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _login(client, user):
    assert client.post("/account/login", data={"email": user.email, "password": PASSWORD}).status_code == 302


def test_a_label_is_looked_up_by_group_and_falls_back_to_the_value():
    registry = Registry()
    registry.add_labels("membership_status", {"pending": "Waiting for approval"})
    registry.add_labels("membership_status", {"ended": "Ended"})  # groups grow, as features add theirs
    assert registry.label("pending", "membership_status") == "Waiting for approval"
    assert registry.label("ended", "membership_status") == "Ended"
    assert registry.label("boss", "membership_status") == "boss"  # unknown: as typed
    assert registry.label(None, "membership_status") == ""
    assert registry.label("pending", "no_such_group") == "pending"


def test_every_app_has_the_core_and_feature_groups(app):
    registry = app.extensions["lms"].registry
    with app.test_request_context():
        assert registry.label("manager", "membership_role") == "Manager"
        assert registry.label("secretariat", "role") == "Secretariat"
        assert registry.label(None, "sex") == "Not recorded"
        assert registry.label("waitlisted", "registration_status") == "On the waiting list"
        assert registry.label("pretest", "quiz_kind") == "Pre-test"
    # lazy strings, translated when shown, in the reader's language
    assert not isinstance(registry.labels["membership_role"]["manager"], str)


def test_my_organisation_history_says_roles_and_statuses_in_words(client, session):
    old, new = make_org(session, name="Old Employers"), make_org(session, name="New Employers")
    user = make_user(session, org=old, manager=True)
    membership = user.membership
    membership.status = "ended"
    session.add(Membership(user=user, organisation=new, role="member", status="active"))
    session.commit()
    _login(client, user)
    page = _text(client.get("/organisations/mine").get_data(as_text=True))
    assert "Old Employers Manager Ended" in page and "New Employers Member Current" in page
    for raw in (" manager ", " member ", " ended ", " active "):
        assert raw not in page.split("History", 1)[1]


def test_my_workshops_say_where_i_stand_in_words(client, session):
    from workshops.models import Registration

    user = make_user(session)
    for status in ("confirmed", "waitlisted", "pending"):
        run = make_run(session, title=f"Run {status}")
        session.add(Registration(run_id=run.id, user_id=user.id, status=status,
                                 checkin_token=secrets.token_urlsafe(16)))
    session.commit()
    _login(client, user)
    page = _text(client.get("/workshops/mine").get_data(as_text=True))
    assert "Place confirmed" in page and "On the waiting list" in page and "Waiting for approval" in page
    assert not re.search(r"· (confirmed|waitlisted|pending)\b", page)


def test_the_people_list_names_roles_in_words(client, session):
    admin = make_user(session, role="secretariat")
    make_user(session, name="Kwame Learner")
    session.commit()
    _login(client, admin)
    html = client.get("/admin/users").get_data(as_text=True)
    assert '<option value="learner" selected>Learner</option>' in html
    assert ">learner<" not in html and ">secretariat<" not in html
    assert "Secretariat" in _text(html)
