"""Stripe's webhook signature scheme, without the Stripe SDK.

``Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>``; several
``v1`` entries appear while a rolled secret overlaps. Only the Stripe adapter may import
``stripe``, so the sandbox signs and verifies with this module, which follows
``stripe/_webhook.py``: constant-time comparison, any matching ``v1`` accepted, timestamps
older than the tolerance refused (future timestamps are not, as in stripe-python).
"""

from __future__ import annotations

import hashlib
import hmac
import time

from stubcollector.adapters.payments.ports import InvalidWebhookSignature

DEFAULT_TOLERANCE_SECONDS = 300


def compute_signature(payload: bytes, secret: str, timestamp: int) -> str:
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    ts = int(time.time()) if timestamp is None else timestamp
    return f"t={ts},v1={compute_signature(payload, secret, ts)}"


def verify_signature(
    payload: bytes,
    header: str | None,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Raise :class:`InvalidWebhookSignature` unless ``header`` signs ``payload``; returns t."""
    if not secret:
        # An empty secret verifies against an empty key, which anyone can forge.
        raise InvalidWebhookSignature("webhook secret is not configured")
    if not header:
        raise InvalidWebhookSignature("missing Stripe-Signature header")
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise InvalidWebhookSignature("malformed timestamp in signature") from None
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise InvalidWebhookSignature("no timestamp or v1 signature in Stripe-Signature")
    expected = compute_signature(payload, secret, timestamp)
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise InvalidWebhookSignature("no signature matches the payload")
    current = time.time() if now is None else now
    if tolerance > 0 and timestamp < current - tolerance:
        raise InvalidWebhookSignature("timestamp outside the tolerance (replayed event?)")
    return timestamp
