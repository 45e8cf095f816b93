"""Sign up, log in, log out and account settings."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_user, logout_user

from stubcollector.domain.errors import AuthenticationFailed, Conflict, ValidationFailed
from stubcollector.extensions import limiter
from stubcollector.models import User
from stubcollector.services import accounts
from stubcollector.web.current import client_ip, optional_user, require_user
from stubcollector.web.pages.access import login_required
from stubcollector.web.pages.forms import (
    EmailForm,
    LoginForm,
    PasswordForm,
    ProfileForm,
    SignupForm,
    safe_next_url,
    show_errors,
)

bp = Blueprint("account", __name__)


def _client_key() -> str:
    return client_ip() or "unknown"


def _start_session(user: User, *, remember: bool = False) -> None:
    # A fresh session at login: nothing planted in the session before login survives it.
    session.clear()
    login_user(user, remember=remember)


def _after_login() -> ResponseReturnValue:
    return redirect(safe_next_url(request.args.get("next")) or url_for("pages.home"))


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit("10 per hour", key_func=_client_key, methods=["POST"])
def signup() -> ResponseReturnValue:
    if optional_user() is not None:
        return redirect(url_for("pages.home"))
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user = accounts.register(
                form.username.data, form.email.data, form.password.data, ip_address=client_ip()
            )
        except (ValidationFailed, Conflict) as error:
            show_errors(form, error)
        else:
            _start_session(user)
            flash(f"Welcome to Stub Collector, {user.username}!", "success")
            return _after_login()
    return render_template("account/signup.html", form=form), 422 if form.errors else 200


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per 15 minutes", key_func=_client_key, methods=["POST"])
def login() -> ResponseReturnValue:
    if optional_user() is not None:
        return _after_login()
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.login.data, form.password.data)
        except AuthenticationFailed as error:
            # One message for every failure, above the fields: which part was wrong stays
            # unsaid, as in the API.
            show_errors(form, error)
        else:
            _start_session(user, remember=bool(form.remember.data))
            flash("You are logged in.", "success")
            return _after_login()
    status = 401 if form.form_errors else 422 if form.errors else 200
    return render_template("account/login.html", form=form), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    user = optional_user()
    if user is not None:
        accounts.end_sessions(user)
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("pages.home"))


def _settings_page(
    *,
    profile: ProfileForm | None = None,
    email: EmailForm | None = None,
    password: PasswordForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    user = require_user()
    profile = profile or ProfileForm(
        prefix="profile",
        formdata=None,
        data={
            "display_name": user.display_name or "",
            "location": user.location or "",
            "bio": user.seller_bio or "",
        },
    )
    email = email or EmailForm(prefix="email", formdata=None)
    password = password or PasswordForm(prefix="password", formdata=None)
    page = render_template(
        "account/settings.html",
        user=user,
        profile_form=profile,
        email_form=email,
        password_form=password,
    )
    return page, status


@bp.get("/account")
@login_required
def settings() -> ResponseReturnValue:
    return _settings_page()


@bp.post("/account/profile")
@login_required
def update_profile() -> ResponseReturnValue:
    form = ProfileForm(prefix="profile")
    if form.validate_on_submit():
        try:
            accounts.update_profile(
                require_user(),
                accounts.ProfileChanges(
                    display_name=form.display_name.data or "",
                    seller_bio=form.bio.data or "",
                    location=form.location.data or "",
                ),
            )
        except ValidationFailed as error:
            show_errors(form, error, fields={"seller_bio": "bio"})
        else:
            flash("Your profile is saved.", "success")
            return redirect(url_for("account.settings"))
    return _settings_page(profile=form, status=422)


@bp.post("/account/email")
@login_required
def change_email() -> ResponseReturnValue:
    form = EmailForm(prefix="email")
    if form.validate_on_submit():
        try:
            accounts.update_profile(
                require_user(),
                accounts.ProfileChanges(
                    email=form.email.data, current_password=form.current_password.data
                ),
            )
        except (ValidationFailed, Conflict) as error:
            show_errors(form, error)
        else:
            flash("Your email address is changed.", "success")
            return redirect(url_for("account.settings"))
    return _settings_page(email=form, status=422)


@bp.post("/account/password")
@login_required
def change_password() -> ResponseReturnValue:
    form = PasswordForm(prefix="password")
    if form.validate_on_submit():
        try:
            user = accounts.update_profile(
                require_user(),
                accounts.ProfileChanges(
                    new_password=form.new_password.data,
                    current_password=form.current_password.data,
                ),
            )
        except ValidationFailed as error:
            show_errors(form, error)
        else:
            # The change rotated the session token (ending other sessions); keep this one.
            _start_session(user)
            flash("Your password is changed. Other devices have been logged out.", "success")
            return redirect(url_for("account.settings"))
    return _settings_page(password=form, status=422)
