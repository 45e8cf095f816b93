"""The composition root's product: the adapters one app instance uses.

``create_app`` builds a ``Container`` from configuration and stores it on the app; code
that needs an adapter asks :func:`container` for it. Tests can pass their own adapters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask, current_app
from redis import Redis

from stubcollector.adapters.change_counters import ChangeCounter, LocalChangeCounter
from stubcollector.adapters.jobs import JobQueue
from stubcollector.adapters.ocr.base import StubReader
from stubcollector.adapters.payments.ports import PaymentGateway
from stubcollector.adapters.storage import ImageStorage
from stubcollector.config import Settings

EXTENSION_KEY = "stubcollector"


@dataclass
class Container:
    settings: Settings
    jobs: JobQueue
    payments: PaymentGateway
    storage: ImageStorage
    reader: StubReader
    # The Redis client when REDIS_URL is set (readiness checks, queue, metrics).
    redis: Redis | None = None
    # Advanced after every committed write to what listing pages show (page cache key).
    listing_changes: ChangeCounter = field(default_factory=LocalChangeCounter)


def container(app: Flask | None = None) -> Container:
    found = (app or current_app).extensions[EXTENSION_KEY]
    assert isinstance(found, Container)
    return found


def settings() -> Settings:
    return container().settings


def payment_gateway() -> PaymentGateway:
    """The payment provider this app instance talks to (Stripe or the sandbox)."""
    return container().payments
