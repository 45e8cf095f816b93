"""SQLAlchemy models, one module per area. Importing this package registers them all."""

from stubcollector.models.audit import AuditLogEntry
from stubcollector.models.base import Base, utcnow
from stubcollector.models.event import ProviderEvent
from stubcollector.models.jobs import PeriodicJobLease
from stubcollector.models.listing import StubListing
from stubcollector.models.order import StubDispute, StubOrder, StubPayment, StubRefund
from stubcollector.models.sandbox import (
    SandboxAccount,
    SandboxBalanceTransaction,
    SandboxEvent,
    SandboxIdempotencyKey,
    SandboxLink,
    SandboxPaymentIntent,
    SandboxRefund,
)
from stubcollector.models.stub import STUB_FIELDS, Stub
from stubcollector.models.user import User

__all__ = [
    "STUB_FIELDS",
    "AuditLogEntry",
    "Base",
    "PeriodicJobLease",
    "ProviderEvent",
    "SandboxAccount",
    "SandboxBalanceTransaction",
    "SandboxEvent",
    "SandboxIdempotencyKey",
    "SandboxLink",
    "SandboxPaymentIntent",
    "SandboxRefund",
    "Stub",
    "StubDispute",
    "StubListing",
    "StubOrder",
    "StubPayment",
    "StubRefund",
    "User",
    "utcnow",
]
