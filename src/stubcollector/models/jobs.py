from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from stubcollector.models.base import Base


class PeriodicJobLease(Base):
    """Who may enqueue a periodic job until when (the in-process scheduler's coordination).

    A scheduler enqueues the job only after moving ``locked_until`` from the past to one
    period ahead with a conditional ``UPDATE`` (``adapters/job_leases.py``); of several
    processes sharing the database exactly one such update matches per period.
    """

    __tablename__ = "periodic_job_leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    locked_until: Mapped[datetime]
    # host:pid:random of the process that holds the lease, for operators reading the table.
    owner: Mapped[str] = mapped_column(String(255))
    claimed_at: Mapped[datetime]
