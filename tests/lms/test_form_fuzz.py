"""Every form of the app, fuzzed with Hypothesis: never a server error, never half a write.

Each POST route of the app has an entry in ``ROUTES``: who may use it, the page it
posts to (made afresh for each example when the route uses things up: a reset token,
a pending request, a person to erase) and the fields it reads. The fields of WTForms
forms are read from the form classes themselves; each example is either a plausible
submission (so that it reaches the service code), a plausible one with one or two
fields spoilt, or chaos: random text with control characters and any Unicode, very
long strings, missing fields, a field sent twice, huge numbers, impossible dates,
extra fields.

For every example: the answer is 2xx, 3xx or 4xx, never 5xx. A submission that is
refused (4xx, or 200 with the form shown again with its errors) must leave every
table exactly as it was: row counts and a hash of every row. A route that accepts the
input may change data.

``test_every_post_route_is_fuzzed`` fails when a POST route is added without an entry.
"""
from __future__ import annotations

import hashlib
import io
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Callable

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from wtforms import (BooleanField, DateField, DateTimeLocalField, EmailField, FieldList, FileField, FormField,
                     IntegerField, PasswordField, RadioField, SelectField, SelectMultipleField, TimeField, URLField)
from wtforms.validators import Length, NumberRange

from courses.models import Enrolment
from lms.accounts.forms import ChangePasswordForm, LoginForm, ProfileForm, ResetPasswordForm, ResetRequestForm, SignupForm
from lms.accounts.models import ROLES, EmailConfirmation, LoginAttempt, PasswordReset, hash_token
from lms.api.forms import TokenForm
from lms.db import Base, utcnow
from lms.jobs import enqueue
from lms.orgs.forms import ImportForm, InviteForm, JoinForm, MergeForm, OrganisationForm, RequestOrganisationForm
from lms.orgs.models import Invitation
from lms.records.services import record_completion
from lms.records.views import RevokeForm
from workshops.services.attendance import session_room_code
from workshops.forms import EvaluationForm, SelfCheckInForm
from workshops.forms import CancelRunForm, RegisterForm, RunEditForm, RunForm, SeriesForm
from workshops.models import Attendance, Registration
from tests.factories import PASSWORD, make_course, make_join_request, make_org, make_run, make_series, make_user
from tests.support.accounts import login

#: Examples per route and backend; routes with big forms get ``weight`` times as many.
EXAMPLES = {"sqlite": 24, "postgres": 14}

MISSING = object()

WEIRD = [
    "", " ", "\x00", "a\x00b", "\t\r\n", "\x1b[31m", "\ufeff", "\u202egnp.exe", "\ud7ff\ue000\uffff", "𝕏🙂👩🏽‍🔧",
    "0", "-1", "1" + "0" * 30, "-" + "9" * 25, "9223372036854775808", "1e309", "NaN", "inf", "0x1F", "١٢٣",
    "2024-02-30", "0001-01-01", "9999-12-31", "0000-00-00", "25:61", "23:59", "24:00",
    "9999-12-31T23:59", "0001-01-01T00:00", "2024-13-01T25:00",
    "<script>alert(1)</script>", "' OR '1'='1", "%s%n%x", "../../etc/passwd", "null", "[]", "{}", "true",
    "Ω" * 301, "x" * 5001, "ftp://example.org", "javascript:alert(1)", "https://ex ample.org",
]
#: Longer than any column; the second is over the form memory limit (413).
LONG = ["y" * 70_000, "z" * 600_000]

junk = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(max_codepoint=0x1F), max_size=6),
    st.sampled_from(WEIRD + LONG),
    st.integers(min_value=-(2 ** 80), max_value=2 ** 80).map(str),
    st.floats().map(repr),
    st.lists(st.text(max_size=8), min_size=2, max_size=3),  # the field sent twice
)
#: Text a form accepts but a database or a template may choke on.
NASTY = ["a\x00b", "x\x1b[31m\x07", "\u202egnp.exe", "𝕏🙂👩🏽‍🔧", "\ufeffBOM", "tab\tand\r\nnewline",
         "\x00", "<b>bold</b> & 'quotes\"", "e\u0301 combining", "\U0010ffff", "%(name)s {0} %s"]
#: Half of the plausible text is nasty.
names_text = st.one_of(st.sampled_from(NASTY), st.sampled_from(NASTY), st.text(min_size=1, max_size=60),
                       st.sampled_from(["Amina Mensah", "  padded  ", "Ünïcödé ✓", "O'Brien & Co", "名前"]))
near = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2032, 12, 31))
#: Year 1 to 9999: time zones push the ends off the calendar.
anywhen = st.one_of(st.datetimes(), st.sampled_from([datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59)]))
any_day = st.one_of(near, anywhen).map(lambda d: d.date().isoformat())
any_time = st.times().map(lambda t: f"{t.hour:02d}:{t.minute:02d}")
any_local = st.one_of(near, anywhen).map(
    lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}")
#: Integers around the limits of 32- and 64-bit columns, and beyond.
EDGES = [0, -1, 2 ** 31 - 1, 2 ** 31, 2 ** 63 - 1, 2 ** 63, 10 ** 30, -(2 ** 63) - 1]
numbers = st.one_of(st.integers(-3, 30), st.sampled_from(EDGES), st.integers(-(2 ** 70), 2 ** 70)).map(str)
urls = st.sampled_from(["https://example.org", "http://example.org/a?b=c#d", "https://xn--80ak6aa92e.com/",
                        "https://example.org/" + "p" * 270])
passwords = st.sampled_from([PASSWORD, "another long passphrase 2", "ünïcödé pässwörd ✓✓", "short"])
ZONES = ["UTC", "Europe/Paris", "Pacific/Kiritimati", "Pacific/Pago_Pago", "America/St_Johns", "Asia/Kathmandu"]


# -- the fields of a form -------------------------------------------------------------

def _leaves(form):
    for f in form:
        if isinstance(f, FormField):
            yield from _leaves(f.form)
        elif isinstance(f, FieldList):
            for entry in f.entries:
                yield from (_leaves(entry.form) if isinstance(entry, FormField) else [entry])
        elif f.type != "CSRFTokenField":
            yield f


def _limits(f):
    low = high = longest = None
    for v in f.validators:
        if isinstance(v, NumberRange):
            low, high = v.min, v.max
        if isinstance(v, Length) and v.max not in (None, -1):
            longest = v.max
    return low, high, longest


def _valid(f, world):
    low, high, longest = _limits(f)
    if isinstance(f, BooleanField):
        return st.sampled_from(["y", MISSING])
    if isinstance(f, DateTimeLocalField):
        return any_local
    if isinstance(f, DateField):
        return any_day
    if isinstance(f, TimeField):
        return any_time
    if isinstance(f, IntegerField):
        low = -3 if low is None else low
        in_range = st.integers(low, low + 60 if high is None else high).map(str)
        return in_range if high is not None else st.one_of(in_range, in_range, numbers)
    if isinstance(f, SelectField):  # also SelectMultipleField, RadioField
        values = [str(c[0]) for c in f.iter_choices()]
        values = [v for v in values if v] + [v for v in values if not v]  # Hypothesis favours the first
        if isinstance(f, SelectMultipleField):
            return st.lists(st.sampled_from(values), unique=True, max_size=len(values))
        return st.sampled_from(values)
    if isinstance(f, EmailField):
        return st.one_of(st.emails(), st.sampled_from(world.emails))
    if isinstance(f, URLField):
        return urls
    if isinstance(f, PasswordField):
        return passwords
    if isinstance(f, FileField):
        raise AssertionError(f"give the file field {f.name} an override")
    if longest is None:
        return names_text
    # Up to the limit, and exactly at it in two-byte characters (a VARCHAR counts characters).
    return st.one_of(names_text.filter(lambda s: len(s) <= longest), st.text(min_size=1, max_size=min(longest, 60)),
                     st.just("é" * longest))


def form_fields(app, world, form_cls, overrides=None, repeat=None):
    """Strategies for the plausible values of each field of ``form_cls``, by field name.

    ``repeat`` = (FieldList name, n) adds rows n-1 more times (``sessions-1-...``)."""
    overrides = overrides or {}
    with app.test_request_context():
        form = form_cls(meta={"csrf": False})
        if repeat:
            fl = getattr(form, repeat[0])
            while len(fl.entries) < repeat[1]:
                fl.append_entry()
        fields = {}
        for f in _leaves(form):
            if f.name in overrides:
                fields[f.name] = overrides[f.name]
            elif not (isinstance(f, (SelectField, RadioField)) and f.choices is None):
                fields[f.name] = _valid(f, world)
    missing = set(overrides) - set(fields)
    assert not missing, f"{form_cls.__name__} has no fields {missing}"
    return fields


# -- the world the forms work on ------------------------------------------------------

def _registration(session, run, user, status):
    now = utcnow()
    reg = Registration(run_id=run.id, user_id=user.id, status=status, queued_at=now,
                       confirmed_at=now if status == "confirmed" else None, stakeholder_category="supplier",
                       checkin_token=secrets.token_urlsafe(16), person_key=user.person_key)
    session.add(reg)
    session.flush()
    return reg


def build_world(session):
    w = SimpleNamespace()
    w.secretariat = make_user(session, email="secretariat@fuzz.example", role="secretariat")
    w.eo = make_org(session, name="Fuzz Employers", kind="employers_organisation")
    w.sme = make_org(session, name="Fuzz SME", kind="sme", parent=w.eo)
    w.manager = make_user(session, email="manager@fuzz.example", org=w.eo, manager=True)
    w.learner = make_user(session, email="learner@fuzz.example", org=w.sme)
    w.pending_org = make_org(session, name="Fuzz Pending", kind="sme", parent=w.eo, status="pending")
    w.course = make_course(session, slug="fuzz-course", pretest=True)
    version = w.course.current_version
    session.add(Enrolment(user_id=w.learner.id, course_id=w.course.id, version_id=version.id))
    w.series = make_series(session, slug="fuzz-series", source="web", owner_organisation_id=w.eo.id)
    started = utcnow().replace(microsecond=0) - timedelta(minutes=10)
    w.run = make_run(session, capacity=2, host=w.eo, series=w.series, starts=started, sessions=2)
    w.registration = _registration(session, w.run, w.learner, "confirmed")
    session.add(Attendance(registration_id=w.registration.id, session_id=w.run.sessions[0].id, method="qr"))
    for status in ("confirmed", "waitlisted", "waitlisted"):
        _registration(session, w.run, make_user(session), status)
    session.commit()
    w.emails = [w.secretariat.email, w.manager.email, w.learner.email, "nobody@fuzz.example"]
    w.org_ids = [w.eo.id, w.sme.id, w.pending_org.id, 0, 10 ** 6]
    return w


def fresh_user(ctx, org=None, manager=False):
    return make_user(ctx.session, email=f"fresh{secrets.token_hex(4)}@fuzz.example", org=org, manager=manager)


# -- the routes ----------------------------------------------------------------------

@dataclass
class Target:
    path: str
    actor: object = None  # a User to log in as, or None (anonymous)
    fields: dict = field(default_factory=dict)
    #: Fields that copy another in a plausible submission (password confirmation).
    same_as: dict = field(default_factory=dict)
    #: Wrong values of a field beyond the generic junk (a file that is not a member list).
    spoilt: dict = field(default_factory=dict)


@dataclass
class Route:
    prepare: Callable  # (ctx) -> Target; may write (and commit) what the example uses up
    weight: int = 1
    #: Tables a refused submission may legitimately write (a failed login is recorded).
    may_write_when_refused: tuple = ()


def _form(ctx, form_cls, **kw):
    return form_fields(ctx.app, ctx.world, form_cls, **kw)


def _reset_token(ctx):
    token = secrets.token_urlsafe(16)
    ctx.session.add(PasswordReset(user_id=fresh_user(ctx).id, token_hash=hash_token(token),
                                  expires_at=utcnow() + timedelta(hours=1)))
    return token


def _confirmation_token(ctx):
    """A link of a fresh account that waits for its confirmation."""
    user = fresh_user(ctx)
    user.email_confirmed_at = None
    token = secrets.token_urlsafe(16)
    ctx.session.add(EmailConfirmation(user_id=user.id, token_hash=hash_token(token),
                                      expires_at=utcnow() + timedelta(hours=1)))
    return token


def _invitation(ctx, user):
    token = secrets.token_urlsafe(16)
    ctx.session.add(Invitation(organisation_id=ctx.world.sme.id, email=user.email, role="manager",
                               token_hash=hash_token(token), invited_by_id=ctx.world.manager.id,
                               expires_at=utcnow() + timedelta(days=3)))
    return token


def _decline_token(ctx):
    from workshops.services.notifications import decline_token

    reg = _registration(ctx.session, ctx.world.run, fresh_user(ctx), "waitlisted")
    with ctx.app.test_request_context():
        return decline_token(reg)


def _record_code(ctx):
    with ctx.app.app_context():
        return record_completion(ctx.session, ctx.world.learner, item_type="course", item_id=ctx.world.course.id,
                                 item_key="fuzz-course", item_version=1, item_title="Fuzz course",
                                 issuer="Fuzz").certificate_code


def _failed_job(ctx) -> int:
    job = enqueue(ctx.session, "mail")
    job.status, job.attempts, job.last_error = "failed", 12, "SMTPRecipientsRefused"
    ctx.session.flush()
    return job.id


def _api_token(ctx) -> int:
    """A fresh token of the secretariat member, to revoke."""
    from lms.api.services import new_token

    row, _secret = new_token(ctx.session, ctx.session.get(type(ctx.world.secretariat), ctx.world.secretariat.id))
    return row.id


def _attempt(ctx):
    """A fresh quiz attempt of a fresh enrolled learner, and the fields its page has."""
    from courses import services

    w = ctx.world
    user = fresh_user(ctx, org=w.sme)
    version = w.course.current_version
    ctx.session.add(Enrolment(user_id=user.id, course_id=w.course.id, version_id=version.id))
    ctx.session.flush()
    with ctx.app.test_request_context():
        attempt = services.start_attempt(ctx.session, user, version.quiz("final"))
    ctx.session.flush()
    fields = {"action": st.sampled_from(["submit", "save", "", "delete"])}
    for entry in attempt.layout["questions"]:
        name = f"q{entry['id']}"
        tokens = [t for t, _ in entry.get("options", [])]
        if "rights" in entry:
            rights = [t for t, _ in entry["rights"]]
            for i in entry["lefts"]:
                fields[f"{name}-{i}"] = st.sampled_from(rights)
        elif tokens:
            fields[name] = st.one_of(st.sampled_from(tokens), st.lists(st.sampled_from(tokens), unique=True))
        else:
            fields[name] = st.sampled_from(["true", "false", "6", "6,0", "1 200,5", "−6", "Palermo", " palermo. "])
    return Target(f"/courses/fuzz-course/attempts/{attempt.id}", user, fields)


def _confirmed_learner(ctx):
    user = fresh_user(ctx, org=ctx.world.sme)
    _registration(ctx.session, ctx.world.run, user, "confirmed")
    return user


def _org_fields(ctx):
    ids = st.sampled_from(ctx.world.org_ids).map(str)
    return _form(ctx, OrganisationForm, overrides={"parent_id": st.one_of(ids, st.just(""), numbers)})


def _csv():
    """Member lists: well formed ones (invitations get written) and spoilt ones."""
    cell = st.text(st.characters(codec="utf-8", exclude_characters=',;\t\r\n"'), max_size=30)
    nasty = st.sampled_from([s for s in NASTY if not set(s) & set(',;\t\r\n"')])
    plain_email = st.from_regex(r"[a-z0-9]{1,10}(\.[a-z]{1,5})?@[a-z]{1,10}\.(org|com|gh|fr)", fullmatch=True)
    good_row = st.tuples(st.one_of(plain_email, plain_email, st.emails().filter(lambda e: len(e) < 60)),
                         st.one_of(nasty, cell),
                         st.sampled_from(["member", "manager", "", "MANAGER"]))
    good = st.lists(good_row, min_size=1, max_size=5, unique_by=lambda r: r[0].lower()).map(
        lambda rows: "email,name,role\n" + "\n".join(",".join(r) for r in rows))
    row = st.tuples(st.one_of(st.emails(), st.sampled_from(["learner@fuzz.example", "bad@", ""]), cell),
                    st.one_of(names_text, st.just("")), st.sampled_from(["member", "manager", "", "boss"]))
    table = st.tuples(st.sampled_from(["email,name,role", "email;name;role", "name,role", "email,colour", ""]),
                      st.lists(row, max_size=5), st.sampled_from([",", ";", "\t"]))
    bad = table.map(lambda t: t[0] + "\n" + "\n".join(t[2].join(cells) for cells in t[1]))
    bad_content = st.one_of(bad.map(str.encode), bad.map(lambda s: s.encode("utf-16")), st.binary(max_size=200),
                            st.just(b""), st.just(b"email\n" + b"a@b.org\n" * 3000), good.map(str.encode))
    plausible = st.tuples(good.map(str.encode), st.sampled_from(["members.csv", "members.txt", "../../x.csv"]))
    spoilt = st.tuples(bad_content, st.sampled_from(["members.csv", "members.xlsx", "", "members"]))
    return plausible, spoilt


def _routes():
    r = {}
    # -- accounts
    r["lms_accounts.login"] = Route(lambda c: Target("/account/login", None, _form(c, LoginForm, overrides={
        "password": st.one_of(passwords, names_text)}) | {"next": st.sampled_from(["/courses/", "//evil.example",
                                                                                   "https://evil.example"])}),
        may_write_when_refused=("lms_login_attempts",))
    r["lms_accounts.logout"] = Route(lambda c: Target("/account/logout", c.world.learner))
    r["lms_accounts.change_password"] = Route(lambda c: Target("/account/password", fresh_user(c), _form(
        c, ChangePasswordForm, overrides={"current": st.one_of(st.just(PASSWORD), passwords)}),
        same_as={"confirm": "password"}))
    r["lms_accounts.forgot_password"] = Route(lambda c: Target("/account/password/forgot", None, _form(c, ResetRequestForm)))
    r["lms_accounts.reset_password"] = Route(lambda c: Target(f"/account/password/reset/{_reset_token(c)}", None, _form(
        c, ResetPasswordForm), same_as={"confirm": "password"}))
    r["lms_accounts.resend_confirmation"] = Route(lambda c: Target("/account/confirm", None, _form(c, ResetRequestForm)))
    r["lms_accounts.confirm_email"] = Route(lambda c: Target(f"/account/confirm/{_confirmation_token(c)}", None))
    r["lms_accounts.profile"] = Route(lambda c: Target("/account/profile", c.world.learner, _form(c, ProfileForm)))
    r["lms_accounts.signup"] = Route(lambda c: Target("/account/signup", None, _form(c, SignupForm, overrides={
        "invitation": st.one_of(st.just(""), names_text)})), weight=2)
    # -- the secretariat's pages
    r["lms_admin.update_user"] = Route(lambda c: Target(f"/admin/users/{fresh_user(c).id}", c.world.secretariat, {
        "role": st.sampled_from(ROLES + ("admin", "")), "active": st.sampled_from(["0", "1", "yes", ""])}))
    r["lms_admin.erase_user"] = Route(lambda c: Target(f"/admin/users/{_confirmed_learner(c).id}/erase",
                                                   c.world.secretariat, {"confirm": st.sampled_from(["yes", "no", ""])}))
    r["lms_tokens.create"] = Route(lambda c: Target("/account/api-tokens", c.world.secretariat, _form(c, TokenForm)))
    r["lms_tokens.revoke"] = Route(lambda c: Target(f"/account/api-tokens/{_api_token(c)}/revoke",
                                                c.world.secretariat, {"back": st.sampled_from(["everyone", "mine", ""])}))
    r["lms_admin.job_action"] = Route(lambda c: Target(f"/admin/jobs/{_failed_job(c)}/retry", c.world.secretariat))
    r["lms_records.revoke"] = Route(lambda c: Target(f"/records/certificates/{_record_code(c)}/revoke",
                                                 c.world.secretariat, _form(c, RevokeForm)))
    r["lms_courses.publish"] = Route(lambda c: Target("/courses/admin/fuzz-course/publish", c.world.secretariat, {
        "published": st.sampled_from(["1", "0", "on"])}))
    # -- courses
    r["lms_courses.enrol"] = Route(lambda c: Target("/courses/fuzz-course/enrol", fresh_user(c)))
    r["lms_courses.lesson_done"] = Route(lambda c: Target(
        f"/courses/fuzz-course/lessons/{c.draw(st.integers(0, 4))}/done", c.world.learner))
    r["lms_courses.start"] = Route(lambda c: Target(
        f"/courses/fuzz-course/quiz/{c.draw(st.sampled_from(['final', 'pretest', 'self_assessment', 'x']))}/start",
        c.world.learner))
    r["lms_courses.attempt"] = Route(_attempt, weight=2)
    # -- organisations
    r["lms_orgs.create"] = Route(lambda c: Target("/organisations/new", c.world.secretariat, _org_fields(c)), weight=2)
    r["lms_orgs.edit"] = Route(lambda c: Target(f"/organisations/{c.world.sme.id}/edit", c.world.secretariat,
                                            _org_fields(c)), weight=2)
    r["lms_orgs.merge"] = Route(lambda c: Target(
        f"/organisations/{make_org(c.session, kind='sme', parent=c.world.eo).id}/merge", c.world.secretariat,
        _form(c, MergeForm, overrides={"target_id": st.one_of(st.sampled_from(c.world.org_ids).map(str), numbers)})))
    r["lms_orgs.request_new"] = Route(lambda c: Target("/organisations/request", fresh_user(c), _form(
        c, RequestOrganisationForm, overrides={"parent_id": st.one_of(
            st.sampled_from([0, c.world.eo.id, c.world.sme.id]).map(str), numbers)})), weight=2)
    r["lms_orgs.approve"] = Route(lambda c: Target(f"/organisations/{c.world.pending_org.id}/approve", c.world.manager))
    r["lms_orgs.reject"] = Route(lambda c: Target(
        f"/organisations/{make_org(c.session, kind='sme', parent=c.world.eo, status='pending').id}/reject",
        c.world.secretariat))
    r["lms_orgs.request_join"] = Route(lambda c: Target(
        f"/organisations/{c.draw(st.sampled_from(c.world.org_ids[:3]))}/join", fresh_user(c), _form(c, JoinForm)))
    r["lms_orgs.withdraw"] = Route(lambda c: Target("/organisations/mine/withdraw", _pending_member(c)))
    r["lms_orgs.invite"] = Route(lambda c: Target(f"/organisations/{c.world.eo.id}/invite", c.world.manager,
                                              _form(c, InviteForm)))
    r["lms_orgs.import_members"] = Route(_import, weight=2)
    r["lms_orgs.accept_invitation"] = Route(_accept_invitation)
    r["lms_orgs.approve_member"] = Route(lambda c: Target(
        f"/organisations/memberships/{_pending_member(c).pending_membership.id}/approve", c.world.manager))
    r["lms_orgs.reject_member"] = Route(lambda c: Target(
        f"/organisations/memberships/{_pending_member(c).pending_membership.id}/reject", c.world.manager))
    r["lms_orgs.end_member"] = Route(lambda c: Target(
        f"/organisations/memberships/{fresh_user(c, org=c.world.eo).membership.id}/end", c.world.manager))
    r["lms_orgs.member_role"] = Route(lambda c: Target(
        f"/organisations/memberships/{fresh_user(c, org=c.world.eo).membership.id}/role", c.world.manager,
        {"role": st.sampled_from(["member", "manager", "secretariat", ""])}))
    # -- workshops
    r["lms_workshops.series_new"] = Route(lambda c: Target("/workshops/series/new", c.world.manager, _series_fields(c)),
                                      weight=2)
    r["lms_workshops.series_edit"] = Route(lambda c: Target("/workshops/series/fuzz-series/edit", c.world.secretariat,
                                                        _series_fields(c)), weight=2)
    r["lms_workshops.schedule"] = Route(_schedule, weight=3)
    r["lms_workshops.edit_run"] = Route(_edit_run, weight=3)
    r["lms_workshops.register"] = Route(lambda c: Target(f"/workshops/runs/{c.world.run.id}/register", fresh_user(
        c, org=c.world.sme), _form(c, RegisterForm)))
    r["lms_workshops.cancel"] = Route(lambda c: Target(f"/workshops/runs/{c.world.run.id}/cancel", _confirmed_learner(c)))
    r["lms_workshops.cancel_run"] = Route(lambda c: Target(
        f"/workshops/runs/{make_run(c.session, host=c.world.eo, series=c.world.series).id}/cancel-run",
        c.world.manager, _form(c, CancelRunForm)))
    r["lms_workshops.decline"] = Route(lambda c: Target(f"/workshops/decline/{_decline_token(c)}"))
    for action, status in (("approve", "pending"), ("reject", "pending"), ("cancel_registration", "confirmed")):
        r[f"lms_workshops.{action}"] = Route(lambda c, action=action, status=status: Target(
            f"/workshops/registrations/{_registration(c.session, c.world.run, fresh_user(c), status).id}/"
            + action.replace("_registration", ""), c.world.manager))
    # -- attendance
    r["lms_workshops.roster"] = Route(_roster)
    r["lms_workshops.checkin"] = Route(lambda c: Target(
        f"/workshops/checkin/{_registration(c.session, c.world.run, fresh_user(c), 'confirmed').checkin_token}",
        c.world.manager, {"session_id": st.sampled_from([s.id for s in c.world.run.sessions]).map(str)},
        spoilt={"session_id": st.sampled_from(EDGES).map(str)}), weight=2)
    r["lms_workshops.self_checkin"] = Route(lambda c: Target(
        f"/workshops/runs/{c.world.run.id}/self-check-in", _confirmed_learner(c), _form(c, SelfCheckInForm, overrides={
            "code": st.one_of(st.sampled_from([session_room_code(c.world.run, s) for s in c.world.run.sessions]),
                              names_text)})))
    r["lms_workshops.evaluation"] = Route(lambda c: Target(f"/workshops/runs/{c.world.run.id}/evaluation",
                                                        c.world.learner, _form(c, EvaluationForm)))
    r["lms_workshops.calendar_page"] = Route(lambda c: Target("/workshops/calendar", c.world.learner))
    return r


def _import(ctx):
    plausible, spoilt = _csv()
    return Target(f"/organisations/{ctx.world.eo.id}/import", ctx.world.manager,
                  _form(ctx, ImportForm, overrides={"file": plausible}), spoilt={"file": spoilt})


def _pending_member(ctx):
    user = fresh_user(ctx)
    make_join_request(ctx.session, user, ctx.world.eo)
    ctx.session.refresh(user)
    return user


def _accept_invitation(ctx):
    user = fresh_user(ctx, org=ctx.world.eo) if ctx.draw(st.booleans()) else fresh_user(ctx)
    other = ctx.draw(st.booleans())
    token = _invitation(ctx, ctx.world.learner if other else user)
    return Target(f"/organisations/invitations/{token}", user)


def _roster(ctx):
    run = ctx.world.run
    ids = [r.id for r in ctx.session.scalars(select(Registration).where(Registration.run_id == run.id))]
    present = st.lists(st.one_of(st.sampled_from(ids).map(str), junk.filter(lambda v: isinstance(v, str))),
                       max_size=4)
    return Target(f"/workshops/runs/{run.id}/sessions/{run.sessions[0].id}/roster", ctx.world.manager,
                  {"present": present})


def _series_fields(ctx):
    return _form(ctx, SeriesForm)


def _schedule(ctx):
    fields, spoilt = _run_fields(ctx)
    return Target("/workshops/runs/new?series=fuzz-series", ctx.world.manager, fields, spoilt=spoilt)


def _run_fields(ctx):
    w = ctx.world
    overrides = {"host_id": st.just(str(w.eo.id)), "timezone": st.sampled_from(ZONES),
                 "required_sessions": st.sampled_from(["", "1", "2", "3"])}
    spoilt = {"host_id": st.sampled_from([w.sme.id, w.pending_org.id, 10 ** 6]).map(str),
              "required_sessions": numbers}
    for n in range(3):  # a session that ends after it starts; the spoilt and chaotic ones need not
        overrides[f"sessions-{n}-starts"] = st.one_of(st.sampled_from(["09:30", "02:30", "00:00"]), any_time)
        overrides[f"sessions-{n}-ends"] = st.sampled_from(["23:59", "17:00"])
    return _form(ctx, RunForm, overrides=overrides, repeat=("sessions", 3)), spoilt


def _edit_run(ctx):
    """A fresh run to edit each time (its first session under way, attendance taken,
    two places taken and one person waiting), so that edits do not pile up on the
    world's run."""
    w = ctx.world
    started = utcnow().replace(microsecond=0) - timedelta(minutes=10)
    run = make_run(ctx.session, capacity=2, host=w.eo, series=w.series, starts=started, sessions=2,
                   venue="Fuzz hall", online_url="https://example.org/room")
    first = _registration(ctx.session, run, fresh_user(ctx), "confirmed")
    _registration(ctx.session, run, fresh_user(ctx), "confirmed")
    _registration(ctx.session, run, fresh_user(ctx), "waitlisted")
    ctx.session.add(Attendance(registration_id=first.id, session_id=run.sessions[0].id, method="roster"))
    ids = [str(s.id) for s in run.sessions]
    overrides = {"required_sessions": st.sampled_from(["", "1", "2", "3"])}
    spoilt = {"required_sessions": numbers}
    for n in range(3):
        overrides[f"sessions-{n}-session_id"] = st.sampled_from(ids + ["", ids[0]])
        overrides[f"sessions-{n}-starts"] = st.one_of(st.sampled_from(["09:30", "02:30", "00:00"]), any_time)
        overrides[f"sessions-{n}-ends"] = st.sampled_from(["23:59", "17:00", ""])
        spoilt[f"sessions-{n}-session_id"] = st.one_of(st.sampled_from(EDGES).map(str), st.just("x"))
    fields = _form(ctx, RunEditForm, overrides=overrides, repeat=("sessions", 3))
    return Target(f"/workshops/runs/{run.id}/edit", w.manager, fields, spoilt=spoilt)


ROUTES = _routes()


# -- the harness ---------------------------------------------------------------------

def fingerprint(engine) -> dict[str, tuple[int, str]]:
    """Per table: its row count and a hash of every row, in primary-key order."""
    prints = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = conn.execute(table.select().order_by(*table.primary_key.columns)).all()
            prints[table.name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return prints


ERROR_MARKS = ('class="error', 'class="error-summary"', 'class="flash flash-error"', 'has-error')


def refused(status: int, body: str) -> bool:
    """A 4xx, or the page shown again with errors."""
    return status >= 400 or (status == 200 and any(mark in body for mark in ERROR_MARKS))


def _encode(data: dict) -> tuple[dict, bool]:
    """Form data for the test client; a (bytes, filename) value is a file upload."""
    files = False
    out = {}
    for name, value in data.items():
        if isinstance(value, tuple):
            out[name] = (io.BytesIO(value[0]), value[1])
            files = True
        else:
            out[name] = value
    return out, files


def draw_submission(draw, target: Target) -> dict:
    mode = draw(st.sampled_from(["plausible", "plausible", "one spoilt", "chaos"]))
    names = sorted(target.fields)
    spoilt = set()
    if mode == "one spoilt" and names:
        spoilt = set(draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True)))
    data = {}
    for name in names:
        if mode == "chaos" or name in spoilt:
            value = draw(st.one_of(st.just(MISSING), junk, target.spoilt.get(name, target.fields[name])))
        else:
            value = draw(target.fields[name])
        if value is not MISSING:
            data[name] = value
    if mode != "chaos":
        for copy, source in target.same_as.items():
            if copy not in spoilt and source in data:
                data[copy] = data[source]
    if draw(st.integers(0, 3)) == 0:
        for name, value in draw(st.dictionaries(st.text(min_size=1, max_size=12), junk, max_size=2)).items():
            data.setdefault(name, value)
    return data


def _short(data: dict) -> dict:
    def cut(v):
        if isinstance(v, str) and len(v) > 80:
            return v[:40] + f"...({len(v)} chars)"
        if isinstance(v, tuple):
            return (cut(v[0][:80]), v[1])
        return v
    return {k: cut(v) for k, v in data.items()}


def fuzz_route(app, session, world, backend, endpoint):
    route = ROUTES[endpoint]
    engine = app.extensions["lms"].engine
    seen = {"examples": 0, "refused": 0}

    # No shrinking: every example costs requests and database work, and the failure
    # message already names the route and the submission.
    @settings(max_examples=EXAMPLES[backend] * route.weight, deadline=None, derandomize=True, database=None,
              phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck), print_blob=False)
    @given(st.data())
    def example(data):
        ctx = SimpleNamespace(app=app, session=session, world=world, draw=data.draw)
        target = route.prepare(ctx)
        session.commit()
        client = app.test_client()
        if target.actor is not None:
            session.execute(delete(LoginAttempt))
            session.commit()
            assert login(client, target.actor).status_code == 302, f"cannot log in as {target.actor.email}"
        submission = draw_submission(data.draw, target)
        before = fingerprint(engine)
        form, files = _encode(submission)
        note = f"{endpoint}: POST {target.path} {_short(submission)}"
        try:
            response = client.post(target.path, data=form)
        except Exception as exc:  # TESTING propagates what the error handlers do not catch
            raise AssertionError(f"{note} raised {exc!r}") from exc
        status, body = response.status_code, response.get_data(as_text=True)
        note += f" -> {status}"
        assert 200 <= status < 500, note
        seen["examples"] += 1
        if 300 <= status < 400:  # what was accepted can be shown
            location = response.headers["Location"]
            shown = client.get(location)
            assert shown.status_code < 500, f"{note}, then GET {location} -> {shown.status_code}"
        if refused(status, body):
            seen["refused"] += 1
            after = fingerprint(engine)
            changed = sorted(t for t in before if before[t] != after[t] and t not in route.may_write_when_refused)
            assert not changed, f"{note}: refused, but wrote to {changed}"

    example()
    return seen


def _blueprints():
    return sorted({endpoint.split(".")[0] for endpoint in ROUTES})


@pytest.mark.parametrize("blueprint", _blueprints())
def test_forms_survive_fuzzing(app, backend, session, blueprint):
    world = build_world(session)
    totals = {}
    for endpoint in sorted(e for e in ROUTES if e.split(".")[0] == blueprint):
        totals[endpoint] = fuzz_route(app, session, world, backend, endpoint)
    assert all(t["examples"] for t in totals.values())
    print(f"\n[{backend}] " + ", ".join(f"{e} {t['examples']} ({t['refused']} refused)" for e, t in totals.items()))


@pytest.mark.sqlite_only
def test_every_post_route_is_fuzzed(app, backend):
    posted = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}
    assert posted - set(ROUTES) == set(), "POST routes without a fuzz entry in ROUTES"
    assert set(ROUTES) - posted == set(), "fuzz entries for routes that no longer exist"


def test_numbers_beyond_the_database_in_links_are_not_found(app, backend, session, client):
    """Every page with a number in its address, GET or POST, given a number no integer
    column can hold (the largest PostgreSQL integer plus one, and beyond 64 bits): 404."""
    from werkzeug.routing import AnyConverter, IntegerConverter

    admin = make_user(session, role="secretariat")
    session.commit()
    assert login(client, admin).status_code == 302
    state = app.extensions["lms"]
    adapter = app.url_map.bind("localhost")
    tried = 0
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.split(".")[0]
        numbered = [a for a in rule.arguments if isinstance(rule._converters[a], IntegerConverter)]
        if blueprint not in state.blueprints or blueprint.startswith("lms_api") or not numbered:
            continue
        for huge in (2 ** 31, 2 ** 64):
            values = {}
            for name in rule.arguments:
                converter = rule._converters[name]
                values[name] = huge if name in numbered else (
                    sorted(converter.items)[0] if isinstance(converter, AnyConverter) else "x")
            path = adapter.build(rule.endpoint, values)
            method = "GET" if "GET" in rule.methods else "POST"
            try:
                status = client.open(path, method=method).status_code
            except Exception as exc:
                raise AssertionError(f"{method} {path} raised {exc!r}") from exc
            assert status == 404, f"{method} {path} -> {status}"
            tried += 1
    assert tried > 40
