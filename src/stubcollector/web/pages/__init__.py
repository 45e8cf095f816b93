"""HTML pages: server-rendered Jinja templates over the same services as the JSON API.

Each area has a module with a blueprint (listed in ``BLUEPRINTS``; its docstring describes
its pages); views stay thin (read a WTForms form, call one service function, flash and
redirect, or re-render with the errors next to their fields). Everything pages share lives
here: template filters and globals (``templating``), the navigation (``navigation``), form
helpers (``forms``, ``market_forms``), access checks (``access``), page links
(``pagination``), listing cards (``feeds``), server-drawn charts (``charts``) and login
redirects.

Templates (``templates/``, no front-end build): ``base.html`` (header, navigation, flashed
messages, footer, sandbox banner), one folder per area, and macros: ``macros/forms.html``
(``field``, ``form_errors``, ``submit``, ``action_button``), ``macros/ui.html``
(``status_badge``, ``badge``, ``icon``, ``empty_state``, ``page_header``, ``stat``, and
``listing_card``, the one listing card of the home page, profiles and the marketplace),
``macros/market.html`` (``pagination``, ``stub_card``, ``seller_readiness``),
``macros/order_parts.html`` (``pager``, ``tabs``, ``row``) and ``macros/charts.html``.
Styles and scripts are hand-written and mobile first (``static/app.css``); scripts only
enhance (``static/app.js``: the menu on narrow screens, ``data-confirm`` prompts, one
submit per click with ``data-submit-once``; ``static/stubs.js`` and ``static/orders.js``
for their pages). The page CSP (``web/csp.py``) allows no inline script or ``style=``
attribute. Refusals a view does not catch render ``error.html`` through ``web/errors.py``;
``errors.error_page`` renders it for one a view caught itself.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from stubcollector.extensions import login_manager
from stubcollector.web.pages import (
    account,
    admin,
    checkout,
    collection,
    disputes,
    home,
    marketplace,
    orders,
    profiles,
    seller,
    selling,
    templating,
)

BLUEPRINTS: tuple[Blueprint, ...] = (
    home.bp,
    account.bp,
    profiles.bp,
    collection.bp,
    selling.bp,
    marketplace.bp,
)
# Buying, orders, the seller account and admin (phase 2, ui-orders).
BLUEPRINTS += (checkout.bp, orders.bp, seller.bp, admin.bp)
# Answering disputes (issue 16).
BLUEPRINTS += (disputes.bp,)
LOGIN_ENDPOINT = "account.login"


def init_app(app: Flask, blueprints: tuple[Blueprint, ...]) -> None:
    """Template helpers, and login redirects for the page blueprints only.

    ``flask_login.login_required`` on a page sends a visitor to the login page and back;
    API blueprints are left out of ``blueprint_login_views``, so they keep answering 401.
    """
    templating.register(app)
    for blueprint in blueprints:
        login_manager.blueprint_login_views[blueprint.name] = LOGIN_ENDPOINT
    login_manager.login_message = "Log in to see that page."
    login_manager.login_message_category = "info"
