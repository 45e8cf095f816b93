"""WTForms form classes for the pages, and the bridge from domain errors to form fields.

Forms check only shape (present, not absurdly long); the services decide the real rules
(username pattern, password strength, email validity), and :func:`show_errors` puts their
messages next to the field they name, so a rule lives in one place for API and pages.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from flask import request
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from stubcollector.domain.errors import DomainError


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] if message else message


def show_errors(
    form: FlaskForm, error: DomainError, *, fields: Mapping[str, str] | None = None
) -> None:
    """Attach a service's error to the form field it names (``fields`` renames).

    Errors that name no field of this form go to ``form.form_errors``, shown above the
    fields; nothing is dropped.
    """
    named: dict[str, str] | None = getattr(error, "errors", None)
    if named is None:
        field_name = getattr(error, "field", None)
        named = {field_name: error.message} if field_name else {}
    if not named:
        form.form_errors.append(_sentence(error.message))
        return
    renames = fields or {}
    for name, message in named.items():
        field = form._fields.get(renames.get(name, name))
        if field is None:
            form.form_errors.append(_sentence(f"{name}: {message}"))
        else:
            field.errors = [*field.errors, _sentence(message)]


def safe_next_url(target: str | None) -> str | None:
    """A redirect target from ``?next=`` only if it stays on this site."""
    if not target:
        return None
    parts = urlsplit(target.replace("\\", "/"))
    if parts.scheme not in ("", "http", "https"):
        return None
    if parts.netloc and parts.netloc != request.host:
        return None
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//"):
        return None
    return path + (f"?{parts.query}" if parts.query else "")


class SignupForm(FlaskForm):  # type: ignore[misc]
    username = StringField(
        "Username",
        validators=[DataRequired(), Length(max=64)],
        description="3 to 32 characters: letters, digits, '.', '_' or '-'. Shown to buyers.",
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    email = EmailField(
        "Email",
        validators=[DataRequired(), Length(max=254)],
        render_kw={"autocomplete": "email"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(max=256)],
        description="At least 10 characters, and not easy to guess.",
        render_kw={"autocomplete": "new-password"},
    )


class LoginForm(FlaskForm):  # type: ignore[misc]
    login = StringField(
        "Username or email",
        validators=[DataRequired(), Length(max=254)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(max=256)],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField("Keep me logged in on this device")


class ProfileForm(FlaskForm):  # type: ignore[misc]
    display_name = StringField(
        "Display name",
        validators=[Optional(), Length(max=80)],
        description="How other collectors see you. Leave empty to use your username.",
    )
    location = StringField(
        "Location",
        validators=[Optional(), Length(max=120)],
        description="City or region, shown on your public profile.",
    )
    bio = TextAreaField(
        "About you",
        validators=[Optional(), Length(max=2000)],
        description="What you collect; buyers read this on your profile.",
        render_kw={"rows": 4},
    )


class EmailForm(FlaskForm):  # type: ignore[misc]
    email = EmailField(
        "New email",
        validators=[DataRequired(), Length(max=254)],
        render_kw={"autocomplete": "email"},
    )
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired(), Length(max=256)],
        render_kw={"autocomplete": "current-password"},
    )


class PasswordForm(FlaskForm):  # type: ignore[misc]
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired(), Length(max=256)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(max=256)],
        description="At least 10 characters. Logs out your other devices.",
        render_kw={"autocomplete": "new-password"},
    )
    confirm_password = PasswordField(
        "Repeat the new password",
        validators=[
            DataRequired(),
            EqualTo("new_password", message="Does not match the new password"),
        ],
        render_kw={"autocomplete": "new-password"},
    )
