"""The site's public address, for absolute links: the provider's return and refresh URLs,
Stripe's ``return_url`` and the sandbox's onboarding, checkout and dashboard links.

``PUBLIC_BASE_URL`` when it is set (production refuses to start without it, so there the
Host header never decides a link). Otherwise (development, the sandbox, tests) the address
the browser is using: a link built from a fixed ``127.0.0.1:5000`` broke every run on
another port or host name, since the page's CSP (``form-action 'self'``) blocks a form
whose redirect goes elsewhere and the session cookie belongs to the host in use. Outside
a request the fallback is ``http://127.0.0.1:<PORT>``, where ``make run`` serves.
"""

from __future__ import annotations

from flask import has_request_context, request

from stubcollector.container import settings


def public_base_url() -> str:
    """The scheme, host and port (no trailing slash) that links leaving a page start with."""
    current = settings()
    if current.public_base_url:
        return current.public_base_url
    if has_request_context():
        return request.host_url.rstrip("/")
    return current.local_base_url


def external_url(path: str) -> str:
    """``path`` (from ``url_for``) as an absolute URL on :func:`public_base_url`."""
    return public_base_url() + path
