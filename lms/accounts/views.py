"""Sign-up, login, logout, password reset, profile."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..auth import login_required
from ..db import get_session, utcnow
from . import services
from .forms import ChangePasswordForm, LoginForm, ProfileForm, ResetPasswordForm, ResetRequestForm, SignupForm

bp = Blueprint("lms_accounts", __name__)


def _safe_next(target: str | None, default: str) -> str:
    """``target`` when it is a path on this site, else ``default``. The raw value is
    judged: urlsplit drops tabs, CR and LF, which browsers drop too ("/\t/evil.example"
    is "//evil.example" to them), and a CR or LF in a Location header splits it."""
    target = target or ""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return default
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc and "\\" not in target:
        return target
    return default


def _start_session(user, remember: bool = False) -> None:
    # A fresh session on every login: nothing set before it (a planted session id,
    # a stale flash) survives, which defeats session fixation.
    from flask import session as cookie_session

    cookie_session.clear()
    login_user(user, remember=remember)


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("lms_orgs.mine"))
    form = SignupForm(invitation=request.args.get("invitation", ""))
    if request.method == "GET" and request.args.get("email"):
        form.email.data = request.args["email"]
    if form.validate_on_submit():
        session = get_session()
        try:
            user = services.create_user(
                session, email=form.email.data, name=form.name.data, password=form.password.data,
                country=form.country.data, sex=form.sex.data, language=form.language.data,
                time_zone=form.time_zone.data,
            )
        except services.FieldError as exc:
            getattr(form, exc.field).errors.append(str(exc))
        else:
            _start_session(user)
            if form.invitation.data:
                return redirect(url_for("lms_orgs.accept_invitation", token=form.invitation.data))
            flash(_("Welcome, %(name)s. Now choose your organisation.", name=user.name), "success")
            return redirect(url_for("lms_orgs.join"))
    return render_template("lms/accounts/signup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm(next=request.args.get("next", ""))
    target = request.args.get("next") or form.next.data
    if current_user.is_authenticated:
        return redirect(_safe_next(target, url_for("lms.home")))
    error = None
    if form.validate_on_submit():
        result = services.authenticate(
            get_session(), form.email.data, form.password.data, request.remote_addr or "-"
        )
        if result.throttled:
            error = _("Too many failed attempts. Wait 15 minutes, or reset your password.")
        elif result.user is None:
            error = _("The email address or the password is not right.")
        else:
            _start_session(result.user, remember=form.remember.data)
            return redirect(_safe_next(target, url_for("lms.home")))
    return render_template("lms/accounts/login.html", form=form, error=error)


@bp.post("/logout")
@login_required
def logout():
    from flask import session as cookie_session

    # The session lives in the cookie: clearing it here cannot reach a copy kept
    # elsewhere (a shared computer, a stolen cookie, a remember-me cookie). The token
    # checked on every request can be changed, so logging out ends them all, and with
    # them the person's sessions on other devices.
    current_user.end_sessions()
    logout_user()
    cookie_session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("lms.home"))


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(
            get_session(), form.email.data,
            lambda token: url_for("lms_accounts.reset_password", token=token, _external=True),
        )
        return render_template("lms/accounts/reset_sent.html", email=form.email.data)
    return render_template("lms/accounts/forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    session = get_session()
    reset = services.valid_reset(session, token)
    if reset is None:
        return render_template("lms/accounts/reset_invalid.html"), 410
    form = ResetPasswordForm()
    form.owner = reset.user
    if form.validate_on_submit():
        services.reset_password(session, token, form.password.data)
        flash(_("Your password has been changed. Log in with the new one."), "success")
        return redirect(url_for("lms_accounts.login"))
    return render_template("lms/accounts/reset.html", form=form)


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    if request.method == "GET":
        form.sex.data = current_user.sex or ""
        form.time_zone.data = current_user.time_zone or ""
    if form.validate_on_submit():
        try:
            services.update_profile(
                get_session(), current_user, name=form.name.data, country=form.country.data, sex=form.sex.data,
                language=form.language.data, time_zone=form.time_zone.data)
        except services.FieldError as exc:
            getattr(form, exc.field).errors.append(str(exc))
        else:
            flash(_("Your profile has been saved."), "success")
            return redirect(url_for("lms_accounts.profile"))
    return render_template("lms/accounts/profile.html", form=form)


@bp.get("/profile/data")
@login_required
def my_data():
    """Everything the LMS holds about the signed-in person, as a JSON download."""
    from ..audit import audit
    from ..db import writer
    from ..personal_data import collect, to_json

    user = current_user._get_current_object()
    body = to_json(collect(get_session(), user))
    with writer() as session:
        audit("personal_data.download", user, user, session=session)
    response = make_response(body)
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="my-data-{utcnow().date().isoformat()}.json"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    form.owner = current_user._get_current_object()
    if form.validate_on_submit():
        if not current_user.check_password(form.current.data):
            form.current.errors.append(_("This is not your current password."))
        else:
            user = current_user._get_current_object()
            user.set_password(form.password.data)
            _start_session(user)
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("lms_accounts.profile"))
    return render_template("lms/accounts/password.html", form=form)
