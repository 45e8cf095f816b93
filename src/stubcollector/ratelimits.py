"""Rate limits declared on views at import time, enforced by one Flask-Limiter per app.

Flask-Limiter keeps its storage, its enabled flag and its route table on the ``Limiter``
object. A module-level ``Limiter`` shared by every app would let the last app built in a
process decide storage and switches for all of them (two test apps would share one
in-memory counter, a disabled test app would disable the others). So views only *declare*
their limits here (``@limits.per_ip(...)``, ``@limits.per_user(...)``, ...), and
``RateLimits.init_app`` builds a fresh ``Limiter`` for each app and wraps that app's views.

Names for the other areas (see docs/SECURITY.md, "Rate limits"):

* ``@limiter.per_user_budget(UPLOADS)`` — work that costs (uploads, stub readings,
  checkouts, new listings, dispute evidence and its files): one budget per logged-in user
  (the client IP for anonymous callers, who are refused by the view anyway), **shared by
  every route that does that work**: the JSON API route and its HTML form twin count
  against the same budget, so a page is no way around the API's limit.
  :data:`PER_USER_BUDGETS` lists them.
* ``@limiter.per_user("30 per hour")`` — a per-user limit of one route alone.
* ``@limiter.per_ip(...)`` / ``@limiter.per_account(..., identifier=...)`` — login and
  registration style throttles.
* ``@limiter.exempt`` — webhooks: signed by the provider, retried by it, never throttled by
  our per-user or default limits.

Storage is Redis when ``RATELIMIT_STORAGE_URL`` (or ``REDIS_URL``) is set, so every process
counts together; memory otherwise (per process). Breaches raise werkzeug's 429, which
``web.errors`` turns into the JSON envelope; ``Retry-After`` comes from Flask-Limiter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, Response, request
from flask_limiter import Limiter
from flask_login import current_user

F = TypeVar("F", bound=Callable[..., Any])

RULES_ATTRIBUTE = "__rate_limits__"
EXEMPT_ATTRIBUTE = "__rate_limit_exempt__"
EXTENSION_KEY = "stubcollector.limiter"


def ip_key() -> str:
    # With TRUSTED_PROXY_COUNT set, ProxyFix has already put the client's address here.
    return f"ip:{request.remote_addr or 'unknown'}"


def user_key() -> str:
    """The logged-in user's id; anonymous callers share their IP's bucket."""
    user_id = getattr(current_user, "id", None)
    if user_id is not None and getattr(current_user, "is_authenticated", False):
        return f"user:{user_id}"
    return ip_key()


def json_field_key(*names: str) -> Callable[[], str]:
    """Key by the first of ``names`` present in the JSON body, normalised (trimmed, lower).

    Used before the body is validated, so it never raises: a missing or malformed value
    shares one bucket per IP, which the view then refuses with a 4xx.
    """

    def key() -> str:
        data = request.get_json(silent=True)
        if isinstance(data, dict):
            for name in names:
                value = data.get(name)
                if isinstance(value, str) and value.strip():
                    return f"account:{value.strip().lower()[:254]}"
        return f"account-unknown:{ip_key()}"

    return key


@dataclass(frozen=True)
class Budget:
    """How much of one kind of costly work a user may ask for, whichever route they use."""

    name: str
    value: str


# Per logged-in user, shared by the API route and the page that do the same work.
UPLOADS = Budget("uploads", "30 per hour")
# A reading costs about 2 CPU-seconds of the offline engine (or a Gemini call).
READINGS = Budget("re-reads", "20 per hour")
CHECKOUTS = Budget("checkouts", "20 per hour")
NEW_LISTINGS = Budget("new-listings", "60 per hour")
# Each reaches the payment provider on the seller's account: a dispute's evidence (staged or
# submitted) and the files uploaded for it.
DISPUTE_EVIDENCE = Budget("dispute-evidence", "30 per hour")
EVIDENCE_FILES = Budget("evidence-files", "30 per hour")
PER_USER_BUDGETS = (UPLOADS, READINGS, CHECKOUTS, NEW_LISTINGS, DISPUTE_EVIDENCE, EVIDENCE_FILES)


@dataclass(frozen=True)
class LimitRule:
    value: str
    key_func: Callable[[], str]
    # Distinct scopes keep two rules on one view (per IP, per account) in separate counters.
    scope: str
    deduct_when: Callable[[Response], bool] | None = None
    # Only these HTTP methods count (a page's GET must not use up its form's POST budget).
    methods: tuple[str, ...] | None = None
    # One counter for every view declaring this scope (a budget), not one per view.
    shared: bool = False


class RateLimits:
    """Declares limits on views; ``init_app`` enforces them with a per-app ``Limiter``."""

    def limit(
        self,
        value: str,
        *,
        key_func: Callable[[], str] | None = None,
        scope: str | None = None,
        deduct_when: Callable[[Response], bool] | None = None,
        methods: list[str] | None = None,
        shared: bool = False,
    ) -> Callable[[F], F]:
        rule = LimitRule(
            value,
            key_func or ip_key,
            scope or "custom",
            deduct_when,
            tuple(methods) if methods is not None else None,
            shared,
        )

        def declare(view: F) -> F:
            rules: tuple[LimitRule, ...] = getattr(view, RULES_ATTRIBUTE, ())
            setattr(view, RULES_ATTRIBUTE, (*rules, rule))
            return view

        return declare

    def per_ip(self, value: str) -> Callable[[F], F]:
        return self.limit(value, key_func=ip_key, scope="ip")

    def per_user(self, value: str) -> Callable[[F], F]:
        return self.limit(value, key_func=user_key, scope="user")

    def per_user_budget(
        self, budget: Budget, *, methods: list[str] | None = None
    ) -> Callable[[F], F]:
        """Count the view against the user's ``budget``, together with every other view
        declaring it. ``methods``: only these count (a page's GET is free)."""
        return self.limit(
            budget.value,
            key_func=user_key,
            scope=f"user-budget:{budget.name}",
            methods=methods,
            shared=True,
        )

    def per_account(
        self,
        value: str,
        *,
        identifier: Callable[[], str],
        deduct_when: Callable[[Response], bool] | None = None,
    ) -> Callable[[F], F]:
        return self.limit(value, key_func=identifier, scope="account", deduct_when=deduct_when)

    def exempt(self, view: F) -> F:
        setattr(view, EXEMPT_ATTRIBUTE, True)
        return view

    def init_app(
        self,
        app: Flask,
        *,
        storage_uri: str,
        enabled: bool,
        default_limits: tuple[str, ...] = (),
        key_prefix: str = "stubcollector",
    ) -> Limiter:
        """Build this app's limiter. Call after every blueprint is registered."""
        app.config["RATELIMIT_ENABLED"] = enabled
        limiter = Limiter(
            key_func=ip_key,
            storage_uri=storage_uri,
            default_limits=list(default_limits),
            headers_enabled=True,
            key_prefix=key_prefix,
            strategy="moving-window",
            # A dead Redis must not take logins down with it: count in memory until it is back.
            in_memory_fallback_enabled=storage_uri.startswith(("redis", "rediss")),
        )
        limiter.init_app(app)
        for endpoint, view in list(app.view_functions.items()):
            if getattr(view, EXEMPT_ATTRIBUTE, False):
                limiter.exempt(view)
                continue
            wrapped: Any = view
            for rule in getattr(view, RULES_ATTRIBUTE, ()):
                methods = list(rule.methods) if rule.methods is not None else None
                if rule.shared:
                    wrapped = limiter.shared_limit(
                        rule.value,
                        rule.scope,
                        key_func=rule.key_func,
                        deduct_when=rule.deduct_when,
                        methods=methods,
                    )(wrapped)
                    continue
                wrapped = limiter.limit(
                    rule.value,
                    key_func=rule.key_func,
                    scope=rule.scope,
                    deduct_when=rule.deduct_when,
                    methods=methods,
                )(wrapped)
            app.view_functions[endpoint] = wrapped
        app.extensions[EXTENSION_KEY] = limiter
        return limiter


def limiter_of(app: Flask) -> Limiter:
    found = app.extensions[EXTENSION_KEY]
    assert isinstance(found, Limiter)
    return found
