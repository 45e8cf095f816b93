"""SQLAlchemy models, one module per area. Importing this package registers them all."""

# The sandbox payment backend keeps its tables with its adapter; importing them here puts
# them on the same ``Base.metadata`` as ours, which Alembic and the tests' table emptying read.
import stubcollector.adapters.payments.sandbox.models  # noqa: F401
from stubcollector.models.app_setting import AppSetting
from stubcollector.models.audit import AuditLogEntry
from stubcollector.models.base import Base, utcnow
from stubcollector.models.event import ProviderEvent
from stubcollector.models.jobs import PeriodicJobLease
from stubcollector.models.listing import StubListing
from stubcollector.models.order import (
    StubDispute,
    StubDisputeFile,
    StubOrder,
    StubOrderCost,
    StubPayment,
    StubRefund,
)
from stubcollector.models.payout import SellerPayout
from stubcollector.models.stub import STUB_FIELDS, Stub
from stubcollector.models.user import User

__all__ = [
    "STUB_FIELDS",
    "AppSetting",
    "AuditLogEntry",
    "Base",
    "PeriodicJobLease",
    "ProviderEvent",
    "SellerPayout",
    "Stub",
    "StubDispute",
    "StubDisputeFile",
    "StubListing",
    "StubOrder",
    "StubOrderCost",
    "StubPayment",
    "StubRefund",
    "User",
    "utcnow",
]
