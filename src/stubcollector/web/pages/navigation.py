"""The site navigation, declared once.

An item appears only when its endpoint is registered, so an area's blueprint lights up its
menu entry by existing: the marketplace, collection, selling, orders and admin pages add
``marketplace.index``, ``collection.index``, ``selling.index``, ``orders.index`` and
``admin.index`` and need no template change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, request, url_for

from stubcollector.web.current import optional_user


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    needs_login: bool = False
    admin_only: bool = False


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    active: bool


NAVIGATION: tuple[NavItem, ...] = (
    NavItem("Marketplace", "marketplace.index"),
    NavItem("My collection", "collection.index", needs_login=True),
    NavItem("Sell", "selling.index", needs_login=True),
    NavItem("Orders", "orders.index", needs_login=True),
    NavItem("Admin", "admin.index", needs_login=True, admin_only=True),
)


def optional_url(endpoint: str, **values: Any) -> str | None:
    """``url_for`` for pages that may not exist yet; ``None`` when the endpoint is absent."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


def nav_items() -> list[NavLink]:
    user = optional_user()
    current_area = (request.endpoint or "").split(".", 1)[0]
    links = []
    for item in NAVIGATION:
        if item.needs_login and user is None:
            continue
        if item.admin_only and not (user is not None and user.is_admin):
            continue
        url = optional_url(item.endpoint)
        if url is None:
            continue
        area = item.endpoint.split(".", 1)[0]
        links.append(NavLink(item.label, url, active=area == current_area))
    return links
