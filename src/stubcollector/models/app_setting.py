"""Values that belong to one database rather than to a deployment's environment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from stubcollector.models.base import Base, utcnow

IDEMPOTENCY_NAMESPACE = "idempotency_namespace"


class AppSetting(Base):
    """A named value generated once for this database and never changed.

    ``idempotency_namespace``: a random token that starts every idempotency key this
    database sends to the payment provider (``services/idempotency.py``), so that two
    databases sharing one Stripe account (staging and production, a test database that is
    reset and starts its ids at 1 again) never send the same key for different things.
    """

    __tablename__ = "app_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
