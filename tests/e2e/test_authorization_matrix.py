"""Every endpoint x {anonymous, owner, other user, admin}: the status codes each may get.

The rows are the table in ``ROWS``; the machinery (roles, object factories) is in
``tests/support/authz.py``. A denied unsafe request must leave every table exactly as it
was. ``test_every_route_has_a_row`` fails when an ``/api`` or ``/auth`` route has no row, so
a new endpoint cannot be forgotten. ``test_sessions_and_csrf.py`` reuses ``ROWS``: the
table is this test's own data, so it stays here rather than in ``tests/support``.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import ImmutableDict

from stubcollector.container import container
from stubcollector.extensions import db
from stubcollector.models import AuditLogEntry, Stub, User
from tests.support.authz import ROLES, Row, World, codes, everyone, routes_needing_rows
from tests.support.database import snapshot
from tests.support.doubles import DeferredJobQueue
from tests.support.factories import TEST_PASSWORD
from tests.support.images import image_bytes, render_stub

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
ORDER_HIDDEN_FROM = frozenset({"other"})


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


def _stub_belongs_to_the_caller(response: Any, world: World, role: str) -> None:
    stub = db.session.get(Stub, response.json["stub"]["id"])
    assert stub is not None
    assert stub.owner_id == world.user(role).id  # type: ignore[union-attr]


def _lists_only_the_callers_stubs(response: Any, world: World, role: str) -> None:
    owned = {
        stub.id
        for stub in db.session.scalars(sa.select(Stub).where(Stub.owner_id == world.user(role).id))
    }  # type: ignore[union-attr]
    assert {stub["id"] for stub in response.json["stubs"]} <= owned


def _served_as_an_image(response: Any, _world: World, _role: str) -> None:
    assert response.mimetype in ("image/png", "image/jpeg")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def _listed_by_the_owner(response: Any, world: World, _role: str) -> None:
    assert response.json["listing"]["seller_id"] == world.owner.id


def _cancellation_audited(response: Any, world: World, role: str) -> None:
    actions = {
        entry.action: entry
        for entry in db.session.scalars(
            sa.select(AuditLogEntry).where(
                AuditLogEntry.object_type == "listing",
                AuditLogEntry.object_id == str(response.json["listing"]["id"]),
            )
        )
    }
    assert actions["listing.cancelled"].actor_user_id == world.user(role).id  # type: ignore[union-attr]
    assert ("admin.listing_cancelled" in actions) == (role == "admin")


def _lists_only_the_callers_disputes(response: Any, world: World, role: str) -> None:
    from stubcollector.models import StubDispute, StubOrder

    user = world.user(role)
    assert user is not None
    visible = {
        dispute_id
        for dispute_id, seller_id in db.session.execute(
            sa.select(StubDispute.dispute_id, StubOrder.seller_id).join(
                StubOrder, StubOrder.id == StubDispute.order_id
            )
        )
        if user.is_admin or seller_id == user.id
    }
    assert {d["dispute_id"] for d in response.json["disputes"]} <= visible


def _order_of_the_owner(response: Any, world: World, _role: str) -> None:
    assert response.json["order"]["buyer_id"] == world.owner.id


# A private stub: its owner may use it; to anybody else it does not exist (404).
_PRIVATE_STUB = {
    "anonymous": codes(401),
    "owner": codes(200, 202),
    "other": codes(404),
    "admin": codes(404),
}
# Views of the caller's own things: every logged-in user gets their own.
_CALLERS_OWN = {"owner": codes(200), "other": codes(200), "admin": codes(200)}

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
    # Dependency probe: 503 when Redis is configured and down; no user data either way.
    Row("GET", "/readyz", **everyone(200, 503)),
    # --- collection: a stub is private to its owner; admins do not browse collections ---
    Row(
        "POST",
        "/api/stubs/upload",
        anonymous=codes(401),
        owner=codes(201),
        other=codes(201),
        admin=codes(201),
        form=lambda _world: {"image": (io.BytesIO(image_bytes(render_stub(), "PNG")), "s.png")},
        check=_stub_belongs_to_the_caller,
    ),
    Row(
        "GET",
        "/api/stubs",
        anonymous=codes(401),
        owner=codes(200),
        other=codes(200),
        admin=codes(200),
        params=ImmutableDict(),
        check=_lists_only_the_callers_stubs,
    ),
    *(
        Row(method, rule, **_PRIVATE_STUB, params=ImmutableDict(stub_id="owner_stub"), body=body)
        for method, rule, body in (
            ("GET", "/api/stubs/<int:stub_id>", None),
            ("PATCH", "/api/stubs/<int:stub_id>", {"notes": "edited"}),
            ("DELETE", "/api/stubs/<int:stub_id>", None),
            ("POST", "/api/stubs/<int:stub_id>/read", {}),
        )
    ),
    *(
        Row(
            "GET",
            rule,
            # Public route (a listed stub's image is public): a private one is "not found".
            **{**_PRIVATE_STUB, "anonymous": codes(404)},
            params=ImmutableDict(stub_id="owner_stub_with_image"),
            check=_served_as_an_image,
        )
        for rule in ("/api/stubs/<int:stub_id>/image", "/api/stubs/<int:stub_id>/thumbnail")
    ),
    # --- marketplace: listings are public; only their seller changes them -----------------
    Row("GET", "/api/marketplace/listings", **everyone(200)),
    Row(
        "GET",
        "/api/marketplace/listings/<int:listing_id>",
        **everyone(200),
        params=ImmutableDict(listing_id="owner_listing"),
    ),
    Row(
        "POST",
        "/api/marketplace/listings",
        anonymous=codes(401),
        owner=codes(201),
        # Someone else's stub: private, so "not found" (no hint that it exists).
        other=codes(404),
        admin=codes(404),
        check=_listed_by_the_owner,
        body=lambda world: {"stub_id": world.object_id("owner_stub"), "asking_price": "12.50"},
    ),
    *(
        Row(
            method,
            "/api/marketplace/listings/<int:listing_id>",
            anonymous=codes(401),
            owner=codes(200),
            # The listing is public, so "not yours" leaks nothing.
            other=codes(403),
            admin=codes(403),
            params=ImmutableDict(listing_id="owner_listing"),
            body=body,
        )
        for method, body in (("PATCH", {"asking_price": "13.00"}),)
    ),
    Row(
        "DELETE",
        "/api/marketplace/listings/<int:listing_id>",
        anonymous=codes(401),
        owner=codes(200),
        other=codes(403),
        # Moderation: an admin may withdraw any listing (recorded as an admin action).
        admin=codes(200),
        params=ImmutableDict(listing_id="owner_listing"),
        check=_cancellation_audited,
    ),
    *(
        Row("GET", rule, anonymous=codes(401), **_CALLERS_OWN)
        for rule in (
            "/api/marketplace/my-listings",
            "/api/marketplace/my-orders",
            "/api/marketplace/payment-compatibility",
        )
    ),
    # --- payments: seller onboarding is the caller's own; orders are buyer's and seller's --
    # (to anyone else an order does not exist: 404 with the body of a missing id)
    Row(
        "POST",
        "/api/payments/connect/onboard",
        anonymous=codes(401),
        # The owner already has a sandbox account: a fresh link for it.
        owner=codes(200),
        other=codes(201),
        admin=codes(201),
        body={},
    ),
    *(
        Row(
            "GET",
            rule,
            anonymous=codes(401),
            owner=codes(200),
            # Without a connected account there is nothing of theirs to show.
            other=codes(404),
            admin=codes(404),
        )
        for rule in (
            "/api/payments/onboard/return",
            "/api/payments/onboard/refresh",
            "/api/payments/connect/status",
            "/api/payments/connect/dashboard",
            "/api/payments/connect/balance",
        )
    ),
    Row(
        "POST",
        "/api/payments/create-payment-intent",
        anonymous=codes(401),
        # Anyone logged in may buy another seller's active listing; not their own.
        owner=codes(200),
        other=codes(200),
        admin=codes(200),
        body=lambda world: {"listing_id": world.object_id("listing_for_sale")},
    ),
    Row(
        "GET",
        "/api/payments/orders/<int:order_id>",
        anonymous=codes(401),
        owner=codes(200),
        other=codes(404),
        admin=codes(200),
        seller=codes(200),
        params=ImmutableDict(order_id="owner_order"),
        hidden_from=ORDER_HIDDEN_FROM,
        check=_order_of_the_owner,
    ),
    Row(
        "POST",
        "/api/payments/orders/<int:order_id>/complete",
        anonymous=codes(401),
        owner=codes(200),
        other=codes(404),
        admin=codes(403),
        seller=codes(403),
        params=ImmutableDict(order_id="owner_order"),
        hidden_from=ORDER_HIDDEN_FROM,
        body={},
    ),
    Row(
        "POST",
        "/api/payments/orders/<int:order_id>/refund",
        anonymous=codes(401),
        owner=codes(200),
        other=codes(404),
        admin=codes(200),
        seller=codes(403),
        params=ImmutableDict(order_id="owner_order"),
        hidden_from=ORDER_HIDDEN_FROM,
        body={},
    ),
    # --- disputes: answered by the seller of the order and admins; hidden from others ----
    Row(
        "GET",
        "/api/disputes",
        anonymous=codes(401),
        **_CALLERS_OWN,
        check=_lists_only_the_callers_disputes,
    ),
    Row(
        "GET",
        "/api/disputes/<dispute_id>",
        anonymous=codes(401),
        owner=codes(200),
        other=codes(404),
        admin=codes(200),
        params=ImmutableDict(dispute_id="owner_dispute"),
        hidden_from=frozenset({"other"}),
    ),
    Row(
        "POST",
        "/api/disputes/<dispute_id>/evidence",
        anonymous=codes(401),
        owner=codes(200),
        other=codes(404),
        admin=codes(200),
        params=ImmutableDict(dispute_id="owner_dispute"),
        hidden_from=frozenset({"other"}),
        body={"product_description": "A 1985 stub, as listed"},
    ),
    Row(
        "POST",
        "/api/disputes/<dispute_id>/files",
        anonymous=codes(401),
        owner=codes(201),
        other=codes(404),
        admin=codes(201),
        params=ImmutableDict(dispute_id="owner_dispute"),
        hidden_from=frozenset({"other"}),
        form=lambda _world: {
            "field": "receipt",
            "file": (io.BytesIO(b"%PDF-1.4\n% receipt\n%%EOF\n"), "receipt.pdf"),
        },
    ),
    # Webhooks are authorised by the provider's signature, not by a user: without one,
    # everybody gets 400 and nothing is stored.
    *(
        Row(
            "POST",
            rule,
            **everyone(400),
            body={"id": "evt_forged", "type": "account.updated"},
            refusal_audited_as="webhook.rejected",
        )
        for rule in ("/api/payments/webhook", "/api/payments/webhook/connect")
    ),
)


def client_for(app: Flask, world: World, role: str) -> FlaskClient:
    client = app.test_client()
    user = world.user(role)
    if user is not None:
        response = client.post(
            "/auth/login", json={"login": user.username, "password": TEST_PASSWORD}
        )
        assert response.status_code == 200
    return client


CASES = [
    pytest.param(row, role, id=f"{row.method} {row.rule} {role}")
    for row in ROWS
    for role in (*ROLES, "seller")
    if role != "seller" or row.seller is not None
]


@pytest.mark.parametrize(("row", "role"), CASES)
def test_matrix(app: Flask, row: Row, role: str, monkeypatch: pytest.MonkeyPatch) -> None:
    world = World.create()
    path = row.path(world)
    body = row.json_body(world)
    form = row.form(world) if row.form is not None else None
    client = client_for(app, world, role)
    before = snapshot() if row.method in UNSAFE else None
    kwargs: dict[str, Any] = {}
    if form is not None:
        # Uploads queue a reading; it is not what this test is about (and OCR is slow).
        monkeypatch.setattr(container(app), "jobs", DeferredJobQueue(app))
        kwargs.update(
            data=form,
            content_type="multipart/form-data",
            headers={"X-Requested-With": "XMLHttpRequest"},
        )
    elif body is not None:
        kwargs["json"] = body
    elif row.method in UNSAFE:
        kwargs["json"] = {}
    response = client.open(path, method=row.method, **kwargs)
    allowed = row.allowed(role)
    assert response.status_code in allowed, (
        f"{row.method} {path} as {role}: {response.status_code} not in {sorted(allowed)}: "
        f"{response.get_data(as_text=True)[:300]}"
    )
    if role in row.hidden_from:
        if row.form is not None:
            kwargs["data"] = row.form(world)  # the first request consumed its files
        missing = client.open(row.path(world, missing=True), method=row.method, **kwargs)
        assert (response.status_code, response.json) == (missing.status_code, missing.json), (
            f"{row.method} {path} as {role} tells an existing object from a missing one"
        )
    if response.status_code >= 400:
        assert response.json["status"] == "error"
        if before is not None:
            after = snapshot()
            if row.refusal_audited_as is not None:
                new = [entry for entry in after["audit_log"] if entry not in before["audit_log"]]
                assert [entry[4] for entry in new] == [row.refusal_audited_as]
                after["audit_log"] = before["audit_log"]
            assert after == before, "a refused request changed the database"
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
