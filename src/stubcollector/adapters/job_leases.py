"""Periodic-job leases in the database, for the in-process scheduler (no Redis).

Every web process runs a scheduler thread. Before enqueuing a periodic job, a scheduler
claims the job's row in ``periodic_job_leases`` for one period with a conditional
``UPDATE ... SET locked_until = now + period WHERE name = :name AND locked_until <= now``.
The database lets exactly one such update match per period: PostgreSQL re-evaluates the
condition after waiting for the row lock a competing update holds, SQLite serialises
writers. The first claim of a job inserts its row; of two racing inserts the primary key
refuses the second. The others learn when the period ends and ask again only then, so a
scheduler writes about once per job and period, not once per tick.

Why a row rather than a PostgreSQL advisory lock: it works the same on SQLite and
PostgreSQL (one code path, tested on both), it survives the process that took it (a lock
held for a whole period would need a dedicated connection per process; a lock taken only
while enqueuing does not stop another process from enqueuing again a second later), and
operators can read who ran what when (``owner``, ``claimed_at``).
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from stubcollector.adapters.jobs import LeaseClaim
from stubcollector.extensions import db
from stubcollector.models.base import utcnow
from stubcollector.models.jobs import PeriodicJobLease


def process_owner() -> str:
    """``host:pid:random``: which process holds a lease, for people reading the table."""
    return f"{socket.gethostname()[:200]}:{os.getpid()}:{secrets.token_hex(4)}"


class DatabasePeriodicLease:
    """:class:`~stubcollector.adapters.jobs.PeriodicLease` on the app's database.

    Periods are measured with each process's clock (``clock``); clocks that disagree by a
    few seconds move a period's start by as much, never double it.
    """

    def __init__(
        self,
        app: Flask,
        *,
        owner: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._app = app
        self.owner = owner or process_owner()
        self._clock = clock

    def claim(self, name: str, period_seconds: int) -> LeaseClaim:
        now = self._clock()
        until = now + timedelta(seconds=period_seconds)
        won = LeaseClaim(won=True, wait_seconds=period_seconds)
        with self._app.app_context():
            engine = db.engine
        with engine.begin() as connection:
            taken = connection.execute(
                update(PeriodicJobLease)
                .where(PeriodicJobLease.name == name, PeriodicJobLease.locked_until <= now)
                .values(locked_until=until, owner=self.owner, claimed_at=now)
            )
            if taken.rowcount == 1:
                return won
            held_until = connection.execute(
                select(PeriodicJobLease.locked_until).where(PeriodicJobLease.name == name)
            ).scalar_one_or_none()
        if held_until is None:
            try:
                with engine.begin() as connection:
                    connection.execute(
                        insert(PeriodicJobLease).values(
                            name=name, locked_until=until, owner=self.owner, claimed_at=now
                        )
                    )
            except IntegrityError:  # another process inserted it first: theirs this period
                return LeaseClaim(won=False, wait_seconds=period_seconds)
            return won
        return LeaseClaim(won=False, wait_seconds=max(0.0, (held_until - now).total_seconds()))
