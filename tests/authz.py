"""The authorization matrix: who may call which endpoint on whose objects.

One ``Row`` per (method, route). Each row says which status codes each role may get:

* ``anonymous`` — no session;
* ``owner`` — the user who owns the objects named in the path (and in the body);
* ``other`` — another ordinary user;
* ``admin`` — an administrator who owns nothing.

Path parameters are filled from ``OBJECTS``: a factory creates the object for the
``World`` (owned by ``world.owner``) and returns its id. A new area adds its factories
(``owner_stub``, ``owner_listing``, ``owner_order``, ``owner_payment``, ...) and its rows;
``tests/e2e/test_authorization_matrix.py`` fails for any ``/api`` or ``/auth`` route
without a row, and ``tests/e2e/test_sessions_and_csrf.py`` uses the same rows to fill in paths.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from werkzeug.datastructures import ImmutableDict

from stubcollector.models import User
from stubcollector.web.openapi import is_api_rule
from tests.factories import AdminFactory, UserFactory

ROLES = ("anonymous", "owner", "other", "admin")


@dataclass
class World:
    """The people in every matrix case, and the objects created for the case."""

    owner: User
    other: User
    admin: User
    objects: dict[str, int] = field(default_factory=dict)

    @classmethod
    def create(cls) -> World:
        return cls(
            owner=UserFactory.create(username="matrix-owner"),
            other=UserFactory.create(username="matrix-other"),
            admin=AdminFactory.create(username="matrix-admin"),
        )

    def user(self, role: str) -> User | None:
        return None if role == "anonymous" else getattr(self, role)

    def object_id(self, name: str) -> int:
        if name not in self.objects:
            self.objects[name] = OBJECTS[name](self)
        return self.objects[name]


# Object factories by path-parameter source name. Each creates (or picks) an object that
# belongs to world.owner and returns its id.
OBJECTS: dict[str, Callable[[World], int]] = {
    "owner_user": lambda world: world.owner.id,
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
    # Path parameter name -> OBJECTS key.
    params: ImmutableDict[str, str] = field(default_factory=ImmutableDict)
    # JSON body, or a function of the world building one.
    body: Any = None
    # Extra assertion on (response, world, role) beyond the status code.
    check: Check | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.rule)

    def allowed(self, role: str) -> Codes:
        codes: Codes = getattr(self, role)
        return codes

    def path(self, world: World) -> str:
        def fill(match: re.Match[str]) -> str:
            name = match.group("name")
            return str(world.object_id(self.params[name]))

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
