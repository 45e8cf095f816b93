"""HTML pages through the Flask test client: forms, CSRF, login redirects, headers."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from stubcollector.extensions import db
from stubcollector.models import User
from tests.support.factories import TEST_PASSWORD
from tests.support.pages import HTML, csrf_token

NEW_PASSWORD = "stub-collector-2026"


def sign_up(client: FlaskClient, username: str = "pagefan", **extra: Any) -> Any:
    form = {
        "csrf_token": csrf_token(client, "/signup"),
        "username": username,
        "email": f"{username}@example.com",
        "password": NEW_PASSWORD,
        **extra,
    }
    return client.post("/signup", data=form, headers=HTML)


def user_count() -> int:
    return db.session.scalar(select(func.count(User.id))) or 0


def test_sign_up_creates_the_account_and_logs_in(client: FlaskClient) -> None:
    response = sign_up(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/auth/me").json["user"]["username"] == "pagefan"


def test_sign_up_without_a_csrf_token_is_refused_and_creates_nothing(
    client: FlaskClient,
) -> None:
    response = client.post(
        "/signup",
        data={"username": "forged", "email": "forged@example.com", "password": NEW_PASSWORD},
        headers=HTML,
    )
    assert response.status_code == 400
    assert b"nothing was changed" in response.data
    assert user_count() == 0


def test_sign_up_shows_service_errors_next_to_the_field(client: FlaskClient, user: User) -> None:
    response = sign_up(client, username=user.username)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert '<p class="field__error" id="username-error">Username is already taken</p>' in page
    assert 'aria-invalid="true"' in page
    assert user_count() == 1


def test_wrong_password_and_unknown_user_read_the_same(client: FlaskClient, user: User) -> None:
    bodies = []
    for login in (user.username, "nobody-at-all"):
        response = client.post(
            "/login",
            data={"csrf_token": csrf_token(client, "/login"), "login": login, "password": "nope"},
            headers=HTML,
        )
        assert response.status_code == 401
        alert = re.search(
            r'<div class="alert alert--error" role="alert"><p>(.*?)</p>',
            response.get_data(as_text=True),
        )
        assert alert
        bodies.append(alert.group(1))
    assert bodies == ["Invalid username/email or password"] * 2


def test_log_in_by_email_follows_a_local_next_but_not_a_foreign_one(
    client: FlaskClient, user: User
) -> None:
    form = {"login": user.email, "password": TEST_PASSWORD}
    response = client.post(
        "/login?next=/account",
        data={**form, "csrf_token": csrf_token(client, "/login")},
        headers=HTML,
    )
    assert response.headers["Location"] == "/account"
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
    response = client.post(
        "/login?next=https://evil.example/steal",
        data={**form, "csrf_token": csrf_token(client, "/login")},
        headers=HTML,
    )
    assert response.headers["Location"] == "/"


def test_pages_behind_login_redirect_while_the_api_answers_401(client: FlaskClient) -> None:
    page = client.get("/account", headers=HTML)
    assert page.status_code == 302
    assert page.headers["Location"] == "/login?next=%2Faccount"
    api = client.get("/auth/me")
    assert api.status_code == 401
    assert api.json["status"] == "error"


def test_log_out_is_a_post_with_a_token_and_ends_the_session(client: FlaskClient) -> None:
    sign_up(client)
    assert client.get("/logout", headers=HTML).status_code == 405
    assert client.post("/logout", headers=HTML).status_code == 400
    assert client.get("/auth/me").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")}, headers=HTML)
    assert client.get("/auth/me").status_code == 401


def test_profile_form_saves_and_shows_on_the_public_profile(client: FlaskClient) -> None:
    sign_up(client)
    response = client.post(
        "/account/profile",
        data={
            "profile-csrf_token": csrf_token(client, "/account", "profile"),
            "profile-display_name": "Ada <b>Archivist</b>",
            "profile-location": "Chicago",
            "profile-bio": "Jazz stubs",
        },
        headers=HTML,
    )
    assert response.status_code == 302
    user_id = client.get("/auth/me").json["user"]["id"]
    page = client.get(f"/users/{user_id}", headers=HTML).get_data(as_text=True)
    assert "Ada &lt;b&gt;Archivist&lt;/b&gt;" in page  # escaped, never markup
    assert "Jazz stubs" in page
    assert "Nothing on sale right now" in page


def test_changing_email_needs_the_current_password(client: FlaskClient) -> None:
    sign_up(client)
    token = csrf_token(client, "/account", "email")
    response = client.post(
        "/account/email",
        data={
            "email-csrf_token": token,
            "email-email": "new@example.com",
            "email-current_password": "wrong-password",
        },
        headers=HTML,
    )
    assert response.status_code == 422
    assert 'id="email-current_password-error"' in response.get_data(as_text=True)
    assert client.get("/auth/me").json["user"]["email"] == "pagefan@example.com"


def test_unknown_profile_is_a_404_page(client: FlaskClient) -> None:
    response = client.get("/users/999999", headers=HTML)
    assert response.status_code == 404
    assert b"find that page" in response.data


def test_pages_send_the_page_policy_and_json_keeps_its_own(client: FlaskClient) -> None:
    page = client.get("/", headers=HTML)
    policy = page.headers["Content-Security-Policy"]
    assert policy == (
        "default-src 'self'; img-src 'self' data: blob:; script-src 'self'; frame-src 'none'; "
        "connect-src 'self'; style-src 'self'; font-src 'self'; frame-ancestors 'none'; "
        "base-uri 'self'; form-action 'self'; object-src 'none'"
    )
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in page.headers["Permissions-Policy"]
    api = client.get("/healthz")
    assert api.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_stripe_mode_lets_stripe_js_in_and_nothing_else(make_app: Any) -> None:
    app: Flask = make_app(
        payments_backend="stripe",
        stripe_secret_key="sk_test_page_csp",
        stripe_webhook_secret="whsec_page_platform",
        stripe_connect_webhook_secret="whsec_page_connect",
    )
    policy = app.test_client().get("/", headers=HTML).headers["Content-Security-Policy"]
    directives = dict(
        [*part.split(" ", 1), ""][:2]
        for part in policy.split("; ")  # name -> sources
    )
    assert directives["script-src"] == "'self' https://js.stripe.com"
    assert directives["frame-src"] == "https://js.stripe.com https://hooks.stripe.com"
    assert directives["connect-src"] == "'self' https://api.stripe.com"
    assert directives["style-src"] == "'self'"
    assert "unsafe-inline" not in policy
    assert "Sandbox mode" not in app.test_client().get("/", headers=HTML).get_data(as_text=True)


def test_an_unexpected_error_shows_a_calm_page_without_details(make_app: Any) -> None:
    app: Flask = make_app()

    def broken() -> str:
        raise RuntimeError("secret internals: db password is hunter2")

    app.add_url_rule("/broken-page", view_func=broken)
    response = app.test_client().get("/broken-page", headers=HTML)
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side" in page
    assert "hunter2" not in page
    assert "Traceback" not in page


def test_admin_pages_redirect_strangers_and_refuse_members(make_app: Any) -> None:
    from stubcollector.services import accounts
    from stubcollector.web.pages.access import admin_required

    app: Flask = make_app()

    @admin_required
    def admin_only() -> str:
        return "admin area"

    # Registered on a page blueprint's name so the login redirect applies, as it will for
    # the admin blueprint.
    app.add_url_rule("/account/admin-probe", "account.admin_probe", admin_only)
    client = app.test_client()
    assert client.get("/account/admin-probe", headers=HTML).status_code == 302
    with app.app_context():
        accounts.register("plainmember", "plain@example.com", NEW_PASSWORD)
        accounts.create_admin("bossadmin", "boss@example.com", NEW_PASSWORD)
    client.post("/auth/login", json={"login": "plainmember", "password": NEW_PASSWORD})
    refused = client.get("/account/admin-probe", headers=HTML)
    assert refused.status_code == 403
    assert b"You can&#39;t open this page" in refused.data
    client.post("/auth/logout", json={})
    client.post("/auth/login", json={"login": "bossadmin", "password": NEW_PASSWORD})
    assert client.get("/account/admin-probe", headers=HTML).data == b"admin area"


def test_too_many_login_attempts_get_a_429_page(make_app: Any) -> None:
    app: Flask = make_app(ratelimit_enabled=True)
    client = app.test_client()
    statuses = []
    for _ in range(21):
        page = client.get("/login", headers=HTML).get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token
        response = client.post(
            "/login",
            data={"csrf_token": token.group(1), "login": "nobody", "password": "wrong"},
            headers=HTML,
        )
        statuses.append(response.status_code)
    assert statuses[:20] == [401] * 20
    assert statuses[20] == 429
    assert b"Too many attempts" in response.data


def test_menu_entries_appear_when_their_pages_exist(make_app: Any) -> None:
    from flask import Blueprint

    from stubcollector.services import accounts

    app: Flask = make_app()
    # Stand-ins for the areas other branches add; only their endpoint names matter here.
    for area in ("marketplace", "orders", "admin"):
        if area in app.blueprints:
            continue
        stand_in = Blueprint(area, __name__, url_prefix=f"/{area}")
        stand_in.add_url_rule("/", "index", lambda: "")
        app.register_blueprint(stand_in)
    client = app.test_client()

    def menu() -> list[str]:
        page = client.get("/", headers=HTML).get_data(as_text=True)
        links = re.search(r'<ul class="site-nav__links">(.*?)</ul>', page, re.S)
        return re.findall(r">([^<]+)</a>", links.group(1)) if links else []

    assert menu() == ["Marketplace"]
    with app.app_context():
        accounts.create_admin("menuadmin", "menuadmin@example.com", NEW_PASSWORD)
        accounts.register("menumember", "menumember@example.com", NEW_PASSWORD)
    client.post("/auth/login", json={"login": "menumember", "password": NEW_PASSWORD})
    assert menu() == ["Marketplace", "My collection", "Sell", "Orders"]
    client.post("/auth/logout", json={})
    client.post("/auth/login", json={"login": "menuadmin", "password": NEW_PASSWORD})
    assert menu() == ["Marketplace", "My collection", "Sell", "Orders", "Admin"]
