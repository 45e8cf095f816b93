"""Leaving a failed server alone for a while.

When Redis stops answering, every call to it waits for a timeout (up to the client's
connect timeout when its host is unreachable). A web thread per request waiting on a dead
server would stall every page, so after a failure the adapters skip the server for a few
seconds and act as if it were down, then try again.
"""

from __future__ import annotations

import time

# How long an adapter treats Redis as down after a failed call.
REST_AFTER_FAILURE_SECONDS = 5.0


class RestAfterFailure:
    """Remembers the last failure; ``resting()`` is true for ``seconds`` after it.

    Shared by the threads of one process without a lock: two threads failing together
    both record a failure a moment apart, which changes nothing that matters.
    """

    def __init__(self, seconds: float = REST_AFTER_FAILURE_SECONDS) -> None:
        self.seconds = seconds
        self._failed_at: float | None = None

    def resting(self) -> bool:
        failed_at = self._failed_at
        if failed_at is None:
            return False
        if time.monotonic() - failed_at < self.seconds:
            return True
        self._failed_at = None
        return False

    def failed(self) -> bool:
        """Records a failure; true when this one starts a rest (the one worth logging)."""
        starts = self._failed_at is None
        self._failed_at = time.monotonic()
        return starts
