"""Idempotency keys: derived from our own ids, in this database's namespace.

Every money-moving or object-creating call to the payment provider carries a key built
here, ``<namespace>:<our ids>`` (``a1b2c3d4e5f6:order:12:refund``), so that a retry — the
SDK's, a user's, reconciliation's — can never do the thing twice. Stripe remembers a key
for 24 hours per account, so two databases that share a Stripe account (staging and
production, a test database that was reset and counts its ids from 1 again) would send
the same key for different orders; the namespace keeps them apart:

* ``IDEMPOTENCY_KEY_PREFIX`` when set (to name it, e.g. ``prod``, ``staging``);
* otherwise the random token this database generated for itself (``app_settings``, made by
  migration ``z001``, or here on first use): every database, including a re-created one,
  gets its own.

A key is used for every retry of its operation, so it is stored where the operation is:
``stub_payments.idempotency_key``, ``stub_refunds.idempotency_key``. Keys stored before the
namespace existed (no prefix) or under another prefix stay as they are, and a retry of
such an operation (a refund whose request got no answer, a buyer repeating a checkout)
reads the stored key rather than building a new one, so changing the namespace never
turns a retry into a second operation. Keys that are not stored belong to calls that are
safe to repeat under a new key (cancelling, setting a payout schedule), or to creating a
seller's account, whose id is stored the moment the provider answers. A dispute's evidence
and its files have keys derived from their content (``services.orders.evidence``): sent
again under a new namespace, the same evidence is the same update and the same file one
more copy of it at the provider, never a second answer to the bank.
"""

from __future__ import annotations

import logging
import secrets

from flask import current_app
from sqlalchemy import select, text

from stubcollector.container import settings
from stubcollector.models.app_setting import IDEMPOTENCY_NAMESPACE, AppSetting
from stubcollector.services.transaction import autocommit, transaction

log = logging.getLogger(__name__)

_CACHE_KEY = "stubcollector.idempotency_namespace"


def namespace() -> str:
    """``IDEMPOTENCY_KEY_PREFIX``, or this database's own namespace (read once per app)."""
    configured = settings().idempotency_key_prefix
    if configured:
        return configured
    cached = current_app.extensions.get(_CACHE_KEY)
    if isinstance(cached, str):
        return cached
    found = _stored_namespace()
    current_app.extensions[_CACHE_KEY] = found
    return found


def key(*parts: str | int) -> str:
    """The idempotency key for ``parts`` (our own ids and the operation) in this namespace."""
    return ":".join((namespace(), *(str(part) for part in parts)))


def _stored_namespace() -> str:
    with transaction() as session:
        value = session.scalar(
            select(AppSetting.value).where(AppSetting.name == IDEMPOTENCY_NAMESPACE)
        )
    if value:
        return value
    # Migration z001 writes it; a database built another way gets one now. Two processes
    # racing here agree: the first insert wins and both read it back.
    with autocommit() as connection:
        connection.execute(
            text(
                "INSERT INTO app_settings (name, value, created_at) "
                "VALUES (:name, :value, CURRENT_TIMESTAMP) ON CONFLICT (name) DO NOTHING"
            ),
            {"name": IDEMPOTENCY_NAMESPACE, "value": secrets.token_hex(6)},
        )
        stored = connection.scalar(
            select(AppSetting.value).where(AppSetting.name == IDEMPOTENCY_NAMESPACE)
        )
    assert stored
    log.info("idempotency key namespace %s created for this database", stored)
    return str(stored)
