"""The Content-Security-Policy of HTML pages, built in one place.

Pages load only our own scripts, styles and images: there are no inline scripts or style
attributes, so the policy needs neither ``'unsafe-inline'`` nor nonces. In Stripe mode the
checkout page loads Stripe.js, which runs in Stripe's iframes and talks to Stripe's API;
those origins (https://docs.stripe.com/security/guide#content-security-policy) are added
then and only then.
"""

from __future__ import annotations

from stubcollector.config import Settings

STRIPE_JS = "https://js.stripe.com"
STRIPE_HOOKS = "https://hooks.stripe.com"
STRIPE_API = "https://api.stripe.com"
# Onboarding and Express-dashboard links: the seller-account page POSTs, then redirects
# there, and browsers hold redirects after a form submission to form-action.
STRIPE_CONNECT = "https://connect.stripe.com"

# JSON never needs to load anything, and must never be framed.
API_POLICY = "default-src 'none'; frame-ancestors 'none'"


def page_policy(settings: Settings) -> str:
    """The policy for a page served with these settings."""
    stripe = settings.payments_backend == "stripe"
    directives: dict[str, list[str]] = {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "script-src": ["'self'", *([STRIPE_JS] if stripe else [])],
        # 'none' when there is nothing to frame: no page of ours embeds another.
        "frame-src": [STRIPE_JS, STRIPE_HOOKS] if stripe else ["'none'"],
        "connect-src": ["'self'", *([STRIPE_API] if stripe else [])],
        "style-src": ["'self'"],
        "font-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'", *([STRIPE_CONNECT] if stripe else [])],
        "object-src": ["'none'"],
    }
    if settings.is_production:
        # Behind TLS every subresource must be https; no mixed content slips through.
        directives["upgrade-insecure-requests"] = []
    return "; ".join(" ".join([name, *values]) for name, values in directives.items())
