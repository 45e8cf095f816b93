"""Every endpoint x {anonymous, owner, other user, admin}: the status codes each may get.

The rows are the table in ``ROWS``; the machinery (roles, object factories) is in
``tests/authz.py``. A denied unsafe request must leave every table exactly as it was.
``test_every_route_has_a_row`` fails when an ``/api`` or ``/auth`` route has no row, so a
new endpoint cannot be forgotten.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import ImmutableDict

from stubcollector.extensions import db
from stubcollector.models import Base, User
from tests.authz import ROLES, Row, World, codes, everyone, routes_needing_rows
from tests.conftest import TEST_PASSWORD

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _me_is_the_caller(response: Any, world: World, role: str) -> None:
    if role != "anonymous":
        assert response.json["user"]["id"] == world.user(role).id  # type: ignore[union-attr]


def _edits_only_the_caller(response: Any, world: World, role: str) -> None:
    _me_is_the_caller(response, world, role)
    owner = db.session.get(User, world.owner.id)
    assert owner is not None
    db.session.refresh(owner)
    assert owner.seller_bio == ("edited" if role == "owner" else None)


def _public_fields_only(response: Any, _world: World, _role: str) -> None:
    assert "email" not in response.json["user"]
    assert "stripe_account_id" not in response.json["user"]


def _logged_in_as_owner(response: Any, world: World, _role: str) -> None:
    assert response.json["user"]["id"] == world.owner.id


ROWS: tuple[Row, ...] = (
    Row("GET", "/healthz", **everyone(200)),
    Row("GET", "/openapi.json", **everyone(200)),
    Row(
        "POST",
        "/auth/register",
        **everyone(201),
        body={
            "username": "brand-new",
            "email": "brand-new@example.com",
            "password": "a fresh password 7",
        },
    ),
    Row(
        "POST",
        "/auth/login",
        # Knowing the owner's password is the authorization, whoever was logged in before.
        **everyone(200),
        body=lambda world: {"login": world.owner.username, "password": TEST_PASSWORD},
        check=_logged_in_as_owner,
    ),
    Row(
        "POST",
        "/auth/logout",
        anonymous=codes(401),
        owner=codes(200),
        other=codes(200),
        admin=codes(200),
        body={},
    ),
    Row(
        "GET",
        "/auth/me",
        anonymous=codes(401),
        owner=codes(200),
        other=codes(200),
        admin=codes(200),
        check=_me_is_the_caller,
    ),
    Row(
        "PATCH",
        "/auth/me",
        anonymous=codes(401),
        owner=codes(200),
        other=codes(200),
        admin=codes(200),
        body={"bio": "edited"},
        check=_edits_only_the_caller,
    ),
    Row(
        "GET",
        "/api/users/<int:user_id>",
        **everyone(200),
        params=ImmutableDict(user_id="owner_user"),
        check=_public_fields_only,
    ),
    Row(
        "GET",
        "/api/admin/audit-log",
        anonymous=codes(401),
        owner=codes(403),
        other=codes(403),
        admin=codes(200),
    ),
)


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    db.session.expire_all()
    with db.engine.connect() as connection:
        return {
            table.name: sorted(
                (tuple(row) for row in connection.execute(sa.select(table))), key=repr
            )
            for table in Base.metadata.sorted_tables
        }


def client_for(app: Flask, world: World, role: str) -> FlaskClient:
    client = app.test_client()
    user = world.user(role)
    if user is not None:
        response = client.post(
            "/auth/login", json={"login": user.username, "password": TEST_PASSWORD}
        )
        assert response.status_code == 200
    return client


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"{row.method} {row.rule}")
def test_matrix(app: Flask, row: Row, role: str) -> None:
    world = World.create()
    path = row.path(world)
    client = client_for(app, world, role)
    before = snapshot() if row.method in UNSAFE else None
    kwargs: dict[str, Any] = {}
    body = row.json_body(world)
    if body is not None:
        kwargs["json"] = body
    elif row.method in UNSAFE:
        kwargs["json"] = {}
    response = client.open(path, method=row.method, **kwargs)
    allowed = row.allowed(role)
    assert response.status_code in allowed, (
        f"{row.method} {path} as {role}: {response.status_code} not in {sorted(allowed)}: "
        f"{response.get_data(as_text=True)[:300]}"
    )
    if response.status_code >= 400:
        assert response.json["status"] == "error"
        if before is not None:
            assert snapshot() == before, "a refused request changed the database"
    elif row.check is not None:
        row.check(response, world, role)


def test_every_route_has_a_row(app: Flask) -> None:
    routes = routes_needing_rows(app)
    rows = {row.key for row in ROWS}
    assert len(rows) == len(ROWS), "two rows for one route"
    missing = sorted(routes - rows)
    stale = sorted(rows - routes)
    assert not missing, f"routes without a row in the authorization matrix: {missing}"
    assert not stale, f"rows for routes that do not exist: {stale}"


def test_rows_cover_every_role(app: Flask) -> None:
    for row in ROWS:
        for role in ROLES:
            assert row.allowed(role), f"{row.method} {row.rule}: no codes for {role}"
