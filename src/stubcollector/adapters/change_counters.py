"""Change counters: a number that goes up after every committed change to some data.

A cache keyed by the counter's value is never served after a change its process can see
the counter for. :class:`LocalChangeCounter` is seen by one process only (the embedded
default runs one); :class:`RedisChangeCounter` by every process sharing the Redis
database (the production set-up, several web processes on several machines).

A Redis counter that cannot be read answers ``None`` ("unknown"), and the caller does
without its cache: a Redis outage must slow pages down, never show stale ones (once Redis
answers again, the counter has moved on from every value it had before the failure, since
writes made meanwhile went uncounted). After a failure Redis is left alone for a few
seconds, so that every request does not wait on a dead connection.
"""

from __future__ import annotations

import itertools
import logging
import threading
from typing import Protocol

from redis import Redis
from redis.exceptions import RedisError

from stubcollector.adapters.outage import RestAfterFailure

log = logging.getLogger(__name__)


class ChangeCounter(Protocol):
    def current(self) -> tuple[int, ...] | None:
        """The counter now; ``None`` when it cannot be known (do not trust caches)."""

    def advance(self) -> None:
        """Called after a change committed. Must not raise."""


# Tells counters apart: two apps in one process (tests build many) must never read each
# other's cache entries, even when their counts agree.
_instances = itertools.count(1)


class LocalChangeCounter:
    """Counts the changes this process commits."""

    def __init__(self) -> None:
        self._instance = next(_instances)
        self._count = itertools.count(1)
        self._value = 0
        self._lock = threading.Lock()

    def current(self) -> tuple[int, ...]:
        return (self._instance, self._value)

    def advance(self) -> None:
        with self._lock:
            self._value = next(self._count)


class RedisChangeCounter:
    """A counter in Redis (``INCR``), combined with this process's own.

    The local part makes a process see its own changes even when the ``INCR`` failed.
    """

    def __init__(self, redis: Redis, key: str) -> None:
        self._redis = redis
        self._key = key
        self._local = LocalChangeCounter()
        self._rest = RestAfterFailure()

    def current(self) -> tuple[int, ...] | None:
        if self._rest.resting():
            return None
        try:
            raw = self._redis.get(self._key)
        except RedisError as error:
            self._failed("read", error)
            return None
        shared = int(raw) if isinstance(raw, bytes | str | int) else 0
        return (shared, *self._local.current())

    def advance(self) -> None:
        self._local.advance()
        try:
            self._redis.incr(self._key)
        except RedisError as error:
            # Other processes may now serve what they cached for up to their TTL.
            self._failed("advance", error)

    def _failed(self, action: str, error: RedisError) -> None:
        # Changes made elsewhere while Redis was out of reach were not counted: nothing
        # cached before the failure may be used after it.
        self._local.advance()
        if self._rest.failed():
            log.warning(
                "could not %s change counter %s in Redis (%s); caches keyed by it are "
                "bypassed for %.0f s",
                action,
                self._key,
                error,
                self._rest.seconds,
            )
