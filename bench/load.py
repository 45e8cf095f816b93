"""A small, bounded HTTP load generator (standard library only), for 127.0.0.1.

Two modes: *closed loop* (N connections, each sending its next request as soon as the last
one is answered; measures throughput) and *fixed rate* (requests sent on a schedule; measures
latency at a given arrival rate). Every run is bounded by a duration and a request cap.
"""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_REQUESTS_PER_RUN = 200_000


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    elapsed: float = 0.0

    def add(self, latency: float, status: int) -> None:
        self.latencies.append(latency)
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def merge(self, other: Outcome) -> None:
        self.latencies.extend(other.latencies)
        for status, count in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count
        self.errors += other.errors

    @property
    def count(self) -> int:
        return len(self.latencies)

    def percentile(self, fraction: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
        return ordered[index]

    def summary(self) -> dict[str, Any]:
        ok = sum(count for status, count in self.statuses.items() if 200 <= status < 300)
        return {
            "requests": self.count,
            "ok_2xx": ok,
            "statuses": dict(sorted(self.statuses.items())),
            "errors": self.errors,
            "seconds": round(self.elapsed, 2),
            "requests_per_second": round(self.count / self.elapsed, 1) if self.elapsed else 0,
            "p50_ms": round(self.percentile(0.50) * 1000, 2),
            "p90_ms": round(self.percentile(0.90) * 1000, 2),
            "p99_ms": round(self.percentile(0.99) * 1000, 2),
            "max_ms": round(max(self.latencies, default=float("nan")) * 1000, 2),
            "mean_ms": round(statistics.fmean(self.latencies) * 1000, 2) if self.latencies else 0,
        }


class _Connection:
    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._conn: http.client.HTTPConnection | None = None

    def send(self, request: Request) -> int:
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=30)
            try:
                self._conn.request(
                    request.method, request.path, body=request.body, headers=request.headers
                )
                response = self._conn.getresponse()
                response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.close()
                return response.status
            except (ConnectionError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def closed_loop(
    host: str,
    port: int,
    make_request: Callable[[int], Request],
    *,
    concurrency: int,
    duration: float,
    max_requests: int = MAX_REQUESTS_PER_RUN,
) -> Outcome:
    """``concurrency`` connections send back-to-back requests for ``duration`` seconds."""
    counter = iter(range(max_requests))
    lock = threading.Lock()
    outcomes = [Outcome() for _ in range(concurrency)]
    deadline = time.perf_counter() + duration

    def run(outcome: Outcome) -> None:
        connection = _Connection(host, port)
        while time.perf_counter() < deadline:
            with lock:
                number = next(counter, None)
            if number is None:
                break
            request = make_request(number)
            started = time.perf_counter()
            try:
                status = connection.send(request)
            except OSError:
                outcome.errors += 1
                continue
            outcome.add(time.perf_counter() - started, status)
        connection.close()

    return _run_threads(run, outcomes)


def fixed_rate(
    host: str,
    port: int,
    make_request: Callable[[int], Request],
    *,
    rate: float,
    duration: float,
    connections: int = 32,
) -> Outcome:
    """Send request ``n`` at ``start + n / rate``; latency is measured from that moment,
    so a server that falls behind is charged for the wait (no coordinated omission)."""
    total = min(int(rate * duration), MAX_REQUESTS_PER_RUN)
    counter = iter(range(total))
    lock = threading.Lock()
    outcomes = [Outcome() for _ in range(connections)]
    start = time.perf_counter() + 0.2

    def run(outcome: Outcome) -> None:
        connection = _Connection(host, port)
        while True:
            with lock:
                number = next(counter, None)
            if number is None:
                break
            due = start + number / rate
            request = make_request(number)
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            try:
                status = connection.send(request)
            except OSError:
                outcome.errors += 1
                continue
            outcome.add(time.perf_counter() - due, status)
        connection.close()

    return _run_threads(run, outcomes)


def _run_threads(run: Callable[[Outcome], None], outcomes: list[Outcome]) -> Outcome:
    threads = [threading.Thread(target=run, args=(outcome,)) for outcome in outcomes]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = Outcome(elapsed=time.perf_counter() - began)
    for outcome in outcomes:
        total.merge(outcome)
    return total
