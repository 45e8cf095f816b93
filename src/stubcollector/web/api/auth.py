"""Accounts: /auth/register, /auth/login, /auth/logout, /auth/me."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, session
from flask.typing import ResponseReturnValue
from flask_login import login_user, logout_user
from pydantic import Field

from stubcollector.extensions import limiter
from stubcollector.ratelimits import json_field_key
from stubcollector.services import accounts
from stubcollector.web.api_endpoint import api_endpoint
from stubcollector.web.current import client_ip, require_user
from stubcollector.web.envelope import ok
from stubcollector.web.schemas import RequestModel, ResponseModel, SuccessEnvelope

bp = Blueprint("auth", __name__, url_prefix="/auth")

# Every attempt from one IP counts; per account (the normalised login identifier) only
# failed attempts count, so a user who types the password right is never slowed down by
# their own logins, while guessing one account's password from many IPs is capped.
LOGIN_PER_IP = "20 per 15 minutes"
LOGIN_FAILURES_PER_ACCOUNT = "5 per 15 minutes"
REGISTER_PER_IP = "10 per hour"
REGISTER_PER_ACCOUNT = "3 per hour"


class RegisterRequest(RequestModel):
    username: str = Field(min_length=1, max_length=64, examples=["ticketfan"])
    email: str = Field(min_length=3, max_length=254, examples=["fan@example.com"])
    password: str = Field(min_length=1, max_length=256)


class LoginRequest(RequestModel):
    login: str = Field(
        min_length=1, max_length=254, description="Username or email", examples=["ticketfan"]
    )
    password: str = Field(min_length=1, max_length=256)
    remember: bool = False


class ProfileUpdateRequest(RequestModel):
    display_name: str | None = Field(default=None, max_length=80)
    bio: str | None = Field(default=None, max_length=2000)
    location: str | None = Field(default=None, max_length=120)
    email: str | None = Field(default=None, max_length=254)
    new_password: str | None = Field(default=None, max_length=256)
    current_password: str | None = Field(default=None, max_length=256)


class PrivateUser(ResponseModel):
    id: int
    username: str
    email: str
    display_name: str
    bio: str | None
    location: str | None
    is_admin: bool
    is_seller: bool
    member_since: str
    stripe_account_id: str | None
    stripe_account_status: str
    stripe_onboarding_completed: bool
    charges_enabled: bool
    payouts_enabled: bool
    requirements_due: list[str]


class UserEnvelope(SuccessEnvelope):
    user: PrivateUser


def _start_session(user: Any, remember: bool = False) -> None:
    # A fresh session at login: nothing an attacker planted before login survives it.
    session.clear()
    login_user(user, remember=remember)


@bp.post("/register")
@limiter.per_ip(REGISTER_PER_IP)
@limiter.per_account(REGISTER_PER_ACCOUNT, identifier=json_field_key("email"))
@api_endpoint(
    summary="Create an account and log in",
    tags=["auth"],
    body=RegisterRequest,
    responses={201: UserEnvelope},
)
def register(body: RegisterRequest) -> ResponseReturnValue:
    user = accounts.register(body.username, body.email, body.password, ip_address=client_ip())
    _start_session(user)
    return ok(201, message="account created", user=accounts.private_profile(user))


@bp.post("/login")
@limiter.per_ip(LOGIN_PER_IP)
@limiter.per_account(
    LOGIN_FAILURES_PER_ACCOUNT,
    identifier=json_field_key("login"),
    deduct_when=lambda response: response.status_code == 401,
)
@api_endpoint(
    summary="Log in with username or email",
    tags=["auth"],
    body=LoginRequest,
    responses={200: UserEnvelope},
    errors=(401,),
)
def login(body: LoginRequest) -> ResponseReturnValue:
    user = accounts.authenticate(body.login, body.password)
    _start_session(user, remember=body.remember)
    return ok(message="logged in", user=accounts.private_profile(user))


@bp.post("/logout")
@api_endpoint(
    summary="Log out (ends every session of this user)",
    tags=["auth"],
    auth=True,
    responses={200: SuccessEnvelope},
)
def logout() -> ResponseReturnValue:
    user = require_user()
    accounts.end_sessions(user)
    logout_user()
    session.clear()
    return ok(message="logged out")


@bp.get("/me")
@api_endpoint(summary="The logged-in user", tags=["auth"], auth=True, responses={200: UserEnvelope})
def me() -> ResponseReturnValue:
    return ok(user=accounts.private_profile(require_user()))


@bp.patch("/me")
@api_endpoint(
    summary="Edit one's own profile",
    tags=["auth"],
    auth=True,
    body=ProfileUpdateRequest,
    responses={200: UserEnvelope},
)
def update_me(body: ProfileUpdateRequest) -> ResponseReturnValue:
    user = require_user()
    updated = accounts.update_profile(
        user,
        accounts.ProfileChanges(
            display_name=body.display_name,
            seller_bio=body.bio,
            location=body.location,
            email=body.email,
            new_password=body.new_password,
            current_password=body.current_password,
        ),
    )
    if body.new_password is not None:
        # The password change rotated the session token; keep this browser logged in.
        _start_session(updated)
    return ok(message="profile updated", user=accounts.private_profile(updated))
