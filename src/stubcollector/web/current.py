"""Who is asking: typed accessors over Flask-Login's ``current_user``."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from stubcollector.domain.errors import AuthenticationRequired, PermissionDenied
from stubcollector.models import User


def optional_user() -> User | None:
    user = current_user._get_current_object()
    return user if isinstance(user, User) else None


def require_user() -> User:
    user = optional_user()
    if user is None:
        raise AuthenticationRequired("log in first")
    return user


def require_admin() -> User:
    user = require_user()
    if not user.is_admin:
        raise PermissionDenied("admins only")
    return user


def client_ip() -> str | None:
    # With TRUSTED_PROXY_COUNT set, ProxyFix has already rewritten remote_addr.
    return request.remote_addr
