"""Accounts through the HTTP API: register, login, logout, me, profile."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from stubcollector.models import User
from tests.support.clients import AuthActions
from tests.support.factories import TEST_PASSWORD

GOOD = {"username": "Ticket_Fan", "email": "Fan@Example.com", "password": "long enough pass 1"}


def register(client: FlaskClient, **changes: object) -> object:
    return client.post("/auth/register", json={**GOOD, **changes})


class TestRegister:
    def test_creates_the_account_and_logs_in(self, client: FlaskClient) -> None:
        response = register(client)
        assert response.status_code == 201
        assert response.json["status"] == "success"
        user = response.json["user"]
        assert user["username"] == "ticket_fan"
        assert user["email"] == "fan@example.com"
        assert "password" not in str(response.json)
        me = client.get("/auth/me")
        assert me.status_code == 200
        assert me.json["user"]["id"] == user["id"]

    def test_password_is_stored_as_scrypt_hash(self, client: FlaskClient, app: object) -> None:
        register(client)
        from stubcollector.extensions import db

        stored = db.session.query(User).one()
        assert stored.password_hash.startswith("scrypt:")
        assert GOOD["password"] not in stored.password_hash

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"username": "TICKET_FAN", "email": "other@example.com"}, "username"),
            ({"username": "someone_else", "email": "FAN@example.com"}, "email"),
        ],
    )
    def test_duplicate_username_or_email_is_409_naming_the_field(
        self, client: FlaskClient, changes: dict[str, str], field: str
    ) -> None:
        assert register(client).status_code == 201
        response = register(client, **changes)
        assert response.status_code == 409
        assert response.json["status"] == "error"
        assert field in response.json["errors"]

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"password": "short"}, "password"),
            ({"password": "aaaaaaaaaaaaaa"}, "password"),
            ({"password": "my ticket_fan pass"}, "password"),
            ({"username": "a"}, "username"),
            ({"username": "bad name!"}, "username"),
            ({"email": "not-an-email"}, "email"),
            ({"email": 42}, "email"),
        ],
    )
    def test_weak_or_malformed_fields_are_422_naming_the_field(
        self, client: FlaskClient, changes: dict[str, object], field: str
    ) -> None:
        response = register(client, **changes)
        assert response.status_code == 422
        assert field in response.json["errors"]
        assert client.get("/auth/me").status_code == 401

    @pytest.mark.parametrize("missing", ["username", "email", "password"])
    def test_missing_field_is_422_naming_it(self, client: FlaskClient, missing: str) -> None:
        body = {k: v for k, v in GOOD.items() if k != missing}
        response = client.post("/auth/register", json=body)
        assert response.status_code == 422
        assert response.json["errors"][missing] == "is required"

    def test_unknown_field_is_refused(self, client: FlaskClient) -> None:
        response = register(client, is_admin=True)
        assert response.status_code == 422
        assert "is_admin" in response.json["errors"]


class TestMalformedRequests:
    def test_malformed_json_is_400(self, client: FlaskClient) -> None:
        response = client.post("/auth/register", data="{not json", content_type="application/json")
        assert response.status_code == 400
        assert response.json["status"] == "error"

    def test_json_that_is_not_an_object_is_400(self, client: FlaskClient) -> None:
        response = client.post("/auth/register", json=["a", "b"])
        assert response.status_code == 400

    @pytest.mark.parametrize(
        "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"]
    )
    def test_form_content_types_are_415(self, client: FlaskClient, content_type: str) -> None:
        response = client.post("/auth/login", data="login=a&password=b", content_type=content_type)
        assert response.status_code == 415
        assert "application/json" in response.json["message"]

    def test_unknown_path_is_404_json(self, client: FlaskClient) -> None:
        response = client.get("/api/nothing-here")
        assert response.status_code == 404
        assert response.json["status"] == "error"

    def test_wrong_method_is_405_json(self, client: FlaskClient) -> None:
        response = client.get("/auth/login")
        assert response.status_code == 405
        assert response.json["status"] == "error"


class TestLogin:
    @pytest.mark.parametrize("which", ["username", "email"])
    def test_login_by_username_or_email(
        self, client: FlaskClient, user: User, auth: AuthActions, which: str
    ) -> None:
        response = auth.login(getattr(user, which).upper())
        assert response.status_code == 200
        assert response.json["user"]["username"] == user.username
        assert client.get("/auth/me").status_code == 200

    @pytest.mark.parametrize(
        ("login", "password"),
        [("collector-nobody", TEST_PASSWORD), (None, "wrong password here")],
    )
    def test_failures_do_not_say_which_part_was_wrong(
        self, user: User, auth: AuthActions, login: str | None, password: str
    ) -> None:
        response = auth.login(login or user.username, password)
        assert response.status_code == 401
        assert response.json["message"] == "invalid username/email or password"

    def test_login_rotates_the_session(
        self, client: FlaskClient, user: User, auth: AuthActions
    ) -> None:
        with client.session_transaction() as session:
            session["planted"] = "by attacker"
        auth.login(user.username)
        with client.session_transaction() as session:
            assert "planted" not in session


class TestLogoutAndMe:
    def test_me_without_session_is_401(self, client: FlaskClient) -> None:
        response = client.get("/auth/me")
        assert response.status_code == 401
        assert response.json == {"status": "error", "message": "log in first"}

    def test_logout_ends_the_session_and_old_cookies(
        self, app: object, client: FlaskClient, user: User, auth: AuthActions
    ) -> None:
        auth.login(user.username)
        with client.session_transaction() as session:
            stolen = dict(session)
        assert auth.logout().status_code == 200
        assert client.get("/auth/me").status_code == 401
        # Replaying the pre-logout cookie no longer authenticates.
        with client.session_transaction() as session:
            session.update(stolen)
        assert client.get("/auth/me").status_code == 401

    def test_logout_needs_a_session(self, auth: AuthActions) -> None:
        assert auth.logout().status_code == 401

    def test_session_cookie_is_httponly_and_lax(
        self, client: FlaskClient, user: User, auth: AuthActions
    ) -> None:
        response = auth.login(user.username)
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie


class TestProfile:
    def test_edit_own_profile(self, logged_in_client: FlaskClient) -> None:
        response = logged_in_client.patch(
            "/auth/me",
            json={
                "display_name": "Stub Hoarder",
                "bio": "Mostly 90s grunge",
                "location": "Seattle",
            },
        )
        assert response.status_code == 200
        assert response.json["user"]["display_name"] == "Stub Hoarder"
        assert response.json["user"]["bio"] == "Mostly 90s grunge"

    def test_changing_email_needs_the_current_password(self, logged_in_client: FlaskClient) -> None:
        response = logged_in_client.patch("/auth/me", json={"email": "new@example.com"})
        assert response.status_code == 422
        assert "current_password" in response.json["errors"]
        response = logged_in_client.patch(
            "/auth/me", json={"email": "new@example.com", "current_password": TEST_PASSWORD}
        )
        assert response.status_code == 200
        assert response.json["user"]["email"] == "new@example.com"

    def test_password_change_keeps_this_session(
        self, logged_in_client: FlaskClient, user: User, auth: AuthActions
    ) -> None:
        response = logged_in_client.patch(
            "/auth/me",
            json={"new_password": "a brand new secret 9", "current_password": TEST_PASSWORD},
        )
        assert response.status_code == 200
        assert logged_in_client.get("/auth/me").status_code == 200
        auth.logout()
        assert auth.login(user.username).status_code == 401
        assert auth.login(user.username, "a brand new secret 9").status_code == 200

    def test_profile_edit_needs_login(self, client: FlaskClient) -> None:
        assert client.patch("/auth/me", json={"bio": "x"}).status_code == 401
