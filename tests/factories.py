"""Small builders for test data. Passwords use a cheap hash so tests stay fast."""
from __future__ import annotations

import itertools
import secrets

from werkzeug.security import generate_password_hash

from lms.accounts.models import User
from lms.orgs.models import Membership, Organisation
from lms.orgs.services import activate_membership

PASSWORD = "correct horse battery"
_cheap_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
_seq = itertools.count(1)


def make_org(session, name=None, kind="employers_organisation", country="GH", parent=None,
             sectors=("cocoa",), status="active", **fields) -> Organisation:
    org = Organisation(name=name or f"Organisation {next(_seq)}", kind=kind, country=country,
                       parent=parent, status=status, **fields)
    org.sectors = list(sectors)
    session.add(org)
    session.flush()
    return org


def make_user(session, email=None, name=None, role="learner", org=None, manager=False,
              country="GH", sex=None, **fields) -> User:
    n = next(_seq)
    user = User(email=(email or f"person{n}@example.org").lower(), name=name or f"Person {n}",
                role=role, country=country, sex=sex, password_hash=_cheap_hash,
                session_token=secrets.token_hex(8), **fields)
    session.add(user)
    session.flush()
    if org is not None:
        membership = Membership(user=user, organisation=org, role="manager" if manager else "member", status="pending")
        session.add(membership)
        session.flush()
        activate_membership(session, membership, None)
    return user


def make_join_request(session, user, org, message=None) -> Membership:
    membership = Membership(user=user, organisation=org, status="pending", message=message)
    session.add(membership)
    session.flush()
    return membership
