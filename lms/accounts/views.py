"""Sign-up, login, logout, password reset, profile."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..auth import login_required
from ..db import get_session, utcnow
from ..forms import CSRFForm
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


def _confirmation_hours() -> int:
    from flask import current_app

    return current_app.config["LMS_EMAIL_CONFIRMATION_HOURS"]


def _invitation_for(token: str | None, email: str | None):
    """The valid invitation ``token`` names, if it was sent to ``email`` (the address
    typed): following its link proved the address. Any other case is a plain sign-up."""
    if not token:
        return None
    from ..orgs.services import find_invitation

    invitation = find_invitation(get_session(), token)
    if invitation is None or invitation.email != services.normalise_email(email):
        return None
    return invitation


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    """Sign-up answers the same page whatever the address (the worker then mails the
    confirmation link, or tells an existing account's owner), except after an
    invitation link to the address typed, which proves it: that account opens at once."""
    if current_user.is_authenticated:
        return redirect(url_for("lms_orgs.mine"))
    form = SignupForm(invitation=request.args.get("invitation", ""))
    if request.method == "GET" and request.args.get("email"):
        form.email.data = request.args["email"]
    if form.validate_on_submit():
        session = get_session()
        details = dict(name=form.name.data, password=form.password.data, country=form.country.data,
                       sex=form.sex.data, language=form.language.data, time_zone=form.time_zone.data)
        invitation = _invitation_for(form.invitation.data, form.email.data)
        try:
            if invitation is None:
                services.request_signup(session, email=form.email.data, **details)
                return render_template("lms/accounts/signup_sent.html", email=form.email.data,
                                       hours=_confirmation_hours())
            user = services.sign_up_invited(session, invitation, **details)
        except services.FieldError as exc:
            getattr(form, exc.field).errors.append(str(exc))
        else:
            _start_session(user)
            return redirect(url_for("lms_orgs.accept_invitation", token=form.invitation.data))
    return render_template("lms/accounts/signup.html", form=form)


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm_email(token: str):
    """The link of the confirmation email. Opening it (a GET, which mail scanners do
    too) only shows a button; pressing it confirms the address and logs the person in."""
    session = get_session()
    confirmation = services.valid_confirmation(session, token)
    if confirmation is None:
        return render_template("lms/accounts/confirm_invalid.html", hours=_confirmation_hours()), 410
    form = CSRFForm()
    if form.validate_on_submit():
        user = services.confirm_email(session, token)
        _start_session(user)
        flash(_("Welcome, %(name)s. Your address is confirmed: now choose your organisation.", name=user.name),
              "success")
        return redirect(url_for("lms_orgs.join"))
    return render_template("lms/accounts/confirm.html", form=form, confirmation=confirmation)


@bp.route("/confirm", methods=["GET", "POST"])
def resend_confirmation():
    """A new confirmation link, for an address whose account waits for one; the same
    answer for every address."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_confirmation_link(get_session(), form.email.data)
        return render_template("lms/accounts/resend_sent.html", email=form.email.data, hours=_confirmation_hours())
    return render_template("lms/accounts/resend.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm(next=request.args.get("next", ""))
    target = request.args.get("next") or form.next.data
    if current_user.is_authenticated:
        return redirect(_safe_next(target, url_for("lms.home")))
    error, unconfirmed = None, False
    if form.validate_on_submit():
        result = services.authenticate(
            get_session(), form.email.data, form.password.data, request.remote_addr or "-"
        )
        if result.throttled:
            error = _("Too many failed attempts. Wait 15 minutes, or reset your password.")
        elif result.unconfirmed:
            error, unconfirmed = _("Your email address is not confirmed yet. Open the link we sent you when "
                                   "you signed up, or ask for a new one."), True
        elif result.user is None:
            error = _("The email address or the password is not right.")
        else:
            _start_session(result.user, remember=form.remember.data)
            return redirect(_safe_next(target, url_for("lms.home")))
    return render_template("lms/accounts/login.html", form=form, error=error, unconfirmed=unconfirmed)


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
        services.request_password_reset(get_session(), form.email.data)
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
