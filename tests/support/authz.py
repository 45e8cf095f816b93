"""The authorization matrix: who may call which endpoint on whose objects.

One ``Row`` per (method, route). Each row says which status codes each role may get:

* ``anonymous`` — no session;
* ``owner`` — the user who owns the objects named in the path (and in the body);
* ``other`` — another ordinary user;
* ``admin`` — an administrator who owns nothing;
* ``seller`` (order routes only, ``Row.seller``) — the seller of the owner's order: the
  owner is the *buyer* of ``owner_order``, so its seller is a counterpart with some rights.

"Owner" per route: the stub's owner, the listing's seller, the order's buyer.

``Row.hidden_from`` names the roles to whom the object must not seem to exist: their
answer must be the same status and body as for an id that names nothing (``MISSING_ID``),
so ids cannot be probed (orders: 404 to strangers, 403 only to parties refused an action).

Path parameters are filled from ``OBJECTS``: a factory creates the object for the
``World`` (owned by ``world.owner``) and returns its id. A new area adds its factories
here (``owner_stub``, ``owner_listing``, ``owner_order``, ...) and its rows to ``ROWS`` in
``tests/e2e/test_authorization_matrix.py``, which fails for any ``/api`` or ``/auth`` route
without a row; ``tests/e2e/test_sessions_and_csrf.py`` uses the same rows to fill in paths.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from werkzeug.datastructures import ImmutableDict

from stubcollector.adapters.payments.sandbox.cards import CARD_SUCCESS
from stubcollector.container import container
from stubcollector.extensions import db
from stubcollector.models import Stub, User
from stubcollector.web.openapi import is_api_rule
from tests.support.factories import (
    TEST_PASSWORD,
    AdminFactory,
    ListingFactory,
    StubFactory,
    UserFactory,
)
from tests.support.images import image_bytes, render_stub
from tests.support.payments import listing_of, pay, sandbox_seller

ROLES = ("anonymous", "owner", "other", "admin")
# An id no factory creates (below the router's bound, so it reaches the view).
MISSING_ID = 2_000_000_000


@dataclass
class World:
    """The people in every matrix case, and the objects created for the case."""

    owner: User
    other: User
    admin: User
    objects: dict[str, Any] = field(default_factory=dict)
    _seller: User | None = None

    @classmethod
    def create(cls) -> World:
        return cls(
            # A seller onboarded through the sandbox (its account exists at the provider), so
            # listing and account routes have an owner; ``seller`` sells to the owner.
            owner=sandbox_seller(username="matrix-owner"),
            other=UserFactory.create(username="matrix-other"),
            admin=AdminFactory.create(username="matrix-admin"),
        )

    @property
    def seller(self) -> User:
        """The seller of the owner's order: onboarded through the sandbox, so it can be paid."""
        if self._seller is None:
            self._seller = sandbox_seller(username="matrix-seller")
        return self._seller

    def user(self, role: str) -> User | None:
        return None if role == "anonymous" else getattr(self, role)  # type: ignore[no-any-return]

    def object_id(self, name: str) -> Any:
        if name not in self.objects:
            self.objects[name] = OBJECTS[name](self)
        return self.objects[name]


# Object factories by path-parameter source name. Each creates (or picks) an object that
# belongs to world.owner and returns its id.
def _owner_stub(world: World) -> int:
    stub: Stub = StubFactory.create(owner=world.owner)
    return stub.id


def _owner_stub_with_image(world: World) -> int:
    """A private stub whose image and thumbnail are really stored."""
    storage = container().storage
    stub: Stub = StubFactory.create(
        owner=world.owner,
        image_key=storage.save(image_bytes(render_stub(), "PNG"), suffix=".png"),
        image_content_type="image/png",
        thumbnail_key=storage.save(image_bytes(render_stub(), "JPEG"), suffix=".jpg"),
    )
    return stub.id


def _owner_listing(world: World) -> int:
    listing = ListingFactory.create(seller=world.owner)
    return int(listing.id)


def _listing_for_sale(world: World) -> int:
    """A listing of another seller (the owner's checkout buys it)."""
    return listing_of(world.seller).id


def _owner_order(world: World) -> int:
    """An order the owner bought and paid through the sandbox (payment succeeded)."""
    from flask import current_app

    client = current_app.test_client()
    login = client.post(
        "/auth/login", json={"login": world.owner.username, "password": TEST_PASSWORD}
    )
    assert login.status_code == 200, login.json
    listing_id = world.object_id("listing_for_sale")
    checkout = client.post("/api/payments/create-payment-intent", json={"listing_id": listing_id})
    assert checkout.status_code == 200, checkout.json
    assert pay(client, checkout.json, CARD_SUCCESS).status_code == 200
    db.session.expire_all()
    return int(checkout.json["order_id"])


def _owner_dispute(world: World) -> str:
    """A dispute on a sale of the owner's: a buyer paid with the sandbox's dispute card."""
    from flask import current_app
    from sqlalchemy import select

    from stubcollector.adapters.payments.sandbox.cards import CARD_DISPUTE
    from stubcollector.models import StubDispute

    buyer = UserFactory.create()
    client = current_app.test_client()
    login = client.post("/auth/login", json={"login": buyer.username, "password": TEST_PASSWORD})
    assert login.status_code == 200, login.json
    listing_id = listing_of(world.owner).id
    checkout = client.post("/api/payments/create-payment-intent", json={"listing_id": listing_id})
    assert checkout.status_code == 200, checkout.json
    assert pay(client, checkout.json, CARD_DISPUTE).status_code == 200
    db.session.expire_all()
    return str(
        db.session.scalars(
            select(StubDispute.dispute_id).where(
                StubDispute.order_id == int(checkout.json["order_id"])
            )
        ).one()
    )


OBJECTS: dict[str, Callable[[World], Any]] = {
    "owner_user": lambda world: world.owner.id,
    "owner_stub": _owner_stub,
    "owner_stub_with_image": _owner_stub_with_image,
    "owner_listing": _owner_listing,
    "listing_for_sale": _listing_for_sale,
    "owner_order": _owner_order,
    # The owner is the seller here: a dispute is answered by the seller of its order.
    "owner_dispute": _owner_dispute,
}

Codes = frozenset[int]
Check = Callable[[Any, World, str], None]


@dataclass(frozen=True)
class Row:
    method: str
    rule: str
    anonymous: Codes
    owner: Codes
    other: Codes
    admin: Codes
    # The seller of the owner's order (order routes only; None: the role does not apply).
    seller: Codes | None = None
    # Path parameter name -> OBJECTS key.
    params: ImmutableDict[str, str] = field(default_factory=ImmutableDict)
    # JSON body, or a function of the world building one.
    body: Any = None
    # Multipart form (a function of the world) instead of a JSON body.
    form: Callable[[World], dict[str, Any]] | None = None
    # A refusal that is itself recorded (e.g. "webhook.rejected"): exactly one audit entry
    # with this action is the only change allowed.
    refusal_audited_as: str | None = None
    # Extra assertion on (response, world, role) beyond the status code.
    check: Check | None = None
    # Roles that must get exactly the answer for a missing id (see the module docstring).
    hidden_from: frozenset[str] = frozenset()

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.rule)

    def allowed(self, role: str) -> Codes:
        codes: Codes | None = getattr(self, role)
        assert codes is not None, f"{self.method} {self.rule}: no codes for {role}"
        return codes

    def path(self, world: World, *, missing: bool = False) -> str:
        """The rule with the world's objects' ids, or with ids that name nothing."""

        def fill(match: re.Match[str]) -> str:
            name = match.group("name")
            return str(MISSING_ID if missing else world.object_id(self.params[name]))

        return re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?(?P<name>\w+)>", fill, self.rule)

    def json_body(self, world: World) -> Any:
        return self.body(world) if callable(self.body) else self.body


def codes(*values: int) -> Codes:
    return frozenset(values)


def everyone(*values: int) -> dict[str, Codes]:
    return dict.fromkeys(ROLES, codes(*values))


def routes_needing_rows(app: Flask) -> set[tuple[str, str]]:
    """Every (method, rule) the matrix must cover: the JSON API, auth and the document."""
    found = set()
    for rule in app.url_map.iter_rules():
        if not (is_api_rule(rule.rule) or rule.rule == "/openapi.json"):
            continue
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            found.add((method, rule.rule))
    return found
