"""A small, bounded HTTP load generator (standard library only), for 127.0.0.1.

Two modes: *closed loop* (N connections, each sending its next request as soon as the last
one is answered; measures throughput) and *fixed rate* (requests sent on a schedule; measures
latency at a given arrival rate). Every run is bounded by a duration and a request cap.

The fixed-rate client is one thread on asyncio, with every request built before the clock
starts. It times a server that shares the machine's cores, and with a thread per connection
the client's own scheduling went into the times: a thread whose answer had arrived could
wait for the GIL (the 5 ms switch interval, or longer) before it noted the time, while
other threads built requests (JSON, signatures) or parsed responses. In one thread that
only moves bytes, no part of the client waits on another.
"""

from __future__ import annotations

import asyncio
import http.client
import selectors
import socket
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_REQUESTS_PER_RUN = 200_000
REQUEST_TIMEOUT = 30.0  # seconds from the moment a fixed-rate request is due


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
    # Fixed rate: the requests due in the warm-up, kept apart from the measured ones.
    warmup: Outcome | None = None

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

    def including_warmup(self) -> Outcome:
        """Every request of the run, measured or sent in the warm-up."""
        whole = Outcome(elapsed=self.elapsed)
        whole.merge(self)
        if self.warmup is not None:
            whole.merge(self.warmup)
        return whole

    def percentile(self, fraction: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
        return ordered[index]

    def summary(self) -> dict[str, Any]:
        ok = sum(count for status, count in self.statuses.items() if 200 <= status < 300)
        sent = self.count + (self.warmup.count if self.warmup is not None else 0)
        result = {
            "requests": self.count,
            "ok_2xx": ok,
            "statuses": dict(sorted(self.statuses.items())),
            "errors": self.errors,
            "seconds": round(self.elapsed, 2),
            "requests_per_second": round(sent / self.elapsed, 1) if self.elapsed else 0,
            "p50_ms": round(self.percentile(0.50) * 1000, 2),
            "p90_ms": round(self.percentile(0.90) * 1000, 2),
            "p99_ms": round(self.percentile(0.99) * 1000, 2),
            "max_ms": round(max(self.latencies, default=float("nan")) * 1000, 2),
            "mean_ms": round(statistics.fmean(self.latencies) * 1000, 2) if self.latencies else 0,
        }
        if self.warmup is not None:
            result["warmup"] = {
                "requests": self.warmup.count,
                "ok_2xx": sum(n for status, n in self.warmup.statuses.items() if status < 300),
                "errors": self.warmup.errors,
                "p50_ms": round(self.warmup.percentile(0.50) * 1000, 2),
                "p99_ms": round(self.warmup.percentile(0.99) * 1000, 2),
                "max_ms": round(max(self.warmup.latencies, default=float("nan")) * 1000, 2),
                # The same run with the warm-up counted: what a client saw from the start.
                "whole_run_p99_ms": round(self.including_warmup().percentile(0.99) * 1000, 2),
            }
        return result


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
    warmup: float = 0.0,
) -> Outcome:
    """Send request ``n`` at ``start + n / rate``; latency is measured from that moment,
    so a server that falls behind is charged for the wait (no coordinated omission).

    Requests due in the first ``warmup`` seconds are sent like the others and reported
    apart (``Outcome.warmup``): fresh server processes open their connections and fill
    their caches then, which a server in service has long done.

    ``connections`` keep-alive connections are opened before the clock starts and used in
    turn; a request due while all of them are busy waits for one, charged from its due
    time all the same.
    A request not answered within 30 s of its due time counts as an error, which bounds
    the run to ``duration`` plus 30 s."""
    total = min(int(rate * duration), MAX_REQUESTS_PER_RUN)
    # Built before the clock starts, so that during the run the event loop only moves
    # bytes (a webhook's JSON and signature would otherwise delay the sends behind it).
    payloads = [_serialise(make_request(number), host, port) for number in range(total)]
    with asyncio.Runner(loop_factory=_precise_loop(connections)) as runner:
        return runner.run(_FixedRate(host, port, connections, warmup).run(payloads, rate))


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


def _precise_loop(connections: int) -> Callable[[], asyncio.AbstractEventLoop]:
    """An event loop on select(), whose timeout is in microseconds. epoll, the default,
    rounds timeouts up to whole milliseconds, so sends would leave up to 1 ms after their
    due time (0.85 ms median on the 2-core bench machine, 0.3 ms with select()), and
    latency counts from the due time."""
    with socket.socket() as probe:
        highest = probe.fileno() + connections + 16
    if highest >= _SELECT_FD_LIMIT:
        return asyncio.new_event_loop
    return lambda: asyncio.SelectorEventLoop(selectors.SelectSelector())


_SELECT_FD_LIMIT = 1024  # FD_SETSIZE: select() cannot watch descriptors past it
_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


def _serialise(request: Request, host: str, port: int) -> bytes:
    """The request with the headers http.client adds (and an explicit keep-alive), so that
    the server sees the same requests as from the closed-loop client."""
    given = {name.lower() for name in request.headers}
    added = {"Host": f"{host}:{port}", "Accept-Encoding": "identity", "Connection": "keep-alive"}
    if request.body is not None:
        added["Content-Length"] = str(len(request.body))
    elif request.method in _METHODS_WITH_BODY:
        added["Content-Length"] = "0"
    lines = [f"{request.method} {request.path} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in added.items() if name.lower() not in given]
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (request.body or b"")


class _BadResponse(Exception):
    pass


# What goes wrong with one connection, worth one more try on a fresh one. EOFError
# (asyncio.IncompleteReadError) is also how a keep-alive connection that the server
# closed after its idle timeout shows up.
_CONNECTION_FAILURES = (OSError, EOFError, asyncio.LimitOverrunError, _BadResponse)


class _Stream:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> _Stream:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def exchange(self, payload: bytes) -> tuple[int, bool]:
        """Send one request and read its response: the status, and whether the connection
        can carry another request."""
        self.writer.write(payload)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        try:
            version, status, headers = _parse_head(head)
            reusable = _keep_alive(version, headers.get("connection", ""))
            if status in (204, 304):
                return status, reusable
            if "chunked" in headers.get("transfer-encoding", "").lower():
                await self._skip_chunks()
            elif "content-length" in headers:
                await self.reader.readexactly(int(headers["content-length"]))
            else:
                # Without a length, the body ends with the connection.
                await self.reader.read()
                reusable = False
        except ValueError as error:
            raise _BadResponse(str(error)) from error
        return status, reusable

    async def _skip_chunks(self) -> None:
        while True:
            size_line = await self.reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0], 16)
            if size == 0:
                while await self.reader.readuntil(b"\r\n") != b"\r\n":
                    pass  # trailers
                return
            await self.reader.readexactly(size + 2)

    def close(self) -> None:
        self.writer.close()


def _parse_head(head: bytes) -> tuple[str, int, dict[str, str]]:
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ValueError(f"not an HTTP status line: {status_line!r}")
    headers: dict[str, str] = {}
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return parts[0], int(parts[1]), headers


def _keep_alive(version: str, connection: str) -> bool:
    tokens = {token.strip().lower() for token in connection.split(",")}
    if version == "HTTP/1.0":
        return "keep-alive" in tokens
    return "close" not in tokens


class _FixedRate:
    def __init__(self, host: str, port: int, connections: int, warmup: float) -> None:
        self._host, self._port, self._limit = host, port, connections
        self._warmup_seconds = warmup
        self._measured_from = 0.0
        # First in, first out: requests rotate over all the open connections (as they did
        # with one connection per thread), which spreads them over the server's processes
        # rather than piling them onto the one connection most recently freed.
        self._idle: deque[_Stream] = deque()
        self._open = 0  # idle, busy or being opened
        self._waiting: deque[asyncio.Future[_Stream | None]] = deque()
        self._outcome = Outcome(warmup=Outcome() if warmup > 0 else None)

    async def run(self, payloads: list[bytes], rate: float) -> Outcome:
        # The loop's clock throughout: the sleeps and the timeouts are measured on it.
        loop = asyncio.get_running_loop()
        began = loop.time()
        await self._open_all()
        start = loop.time() + 0.2
        self._measured_from = start + self._warmup_seconds
        try:
            async with asyncio.TaskGroup() as group:
                for number, payload in enumerate(payloads):
                    due = start + number / rate
                    pause = due - loop.time()
                    if pause > 0:
                        await asyncio.sleep(pause)
                    group.create_task(self._send(payload, due))
        finally:
            for stream in self._idle:
                stream.close()
        self._outcome.elapsed = loop.time() - began
        return self._outcome

    def _outcome_for(self, due: float) -> Outcome:
        warmup = self._outcome.warmup
        return warmup if warmup is not None and due < self._measured_from else self._outcome

    async def _open_all(self) -> None:
        # All connections open before the first request, as a proxy's upstream pool or a
        # sender's many clients would be: the requests then rotate over every one of them
        # (and so over the server's processes) from the start, at any rate. One that fails
        # to open is opened again when a request needs it.
        opened = await asyncio.gather(
            *(_Stream.open(self._host, self._port) for _ in range(self._limit)),
            return_exceptions=True,
        )
        for stream in opened:
            if isinstance(stream, _Stream):
                self._idle.append(stream)
                self._open += 1

    async def _send(self, payload: bytes, due: float) -> None:
        loop = asyncio.get_running_loop()
        stream: _Stream | None = None
        status, reusable, holding = 0, False, False
        try:
            async with asyncio.timeout_at(due + REQUEST_TIMEOUT):
                stream = await self._take()
                holding = True
                for attempt in (1, 2):
                    try:
                        if stream is not None and stream.reader.at_eof():
                            # Closed by the server while idle: no fault of this request,
                            # so it does not use up the retry.
                            stream.close()
                            stream = None
                        if stream is None:
                            stream = await _Stream.open(self._host, self._port)
                        status, reusable = await stream.exchange(payload)
                        break
                    except _CONNECTION_FAILURES:
                        if stream is not None:
                            stream.close()
                            stream = None
                        if attempt == 2:
                            raise
        except (*_CONNECTION_FAILURES, TimeoutError):
            self._outcome_for(due).errors += 1
        else:
            self._outcome_for(due).add(loop.time() - due, status)
        finally:
            # After a timeout or a cancellation the answer may still come, and would be
            # read as the next request's: the connection goes.
            if stream is not None and not reusable:
                stream.close()
                stream = None
            if holding:
                self._give_back(stream)

    async def _take(self) -> _Stream | None:
        """An idle connection; or None, with the right to open a new one."""
        if self._idle:
            return self._idle.popleft()
        if self._open < self._limit:
            self._open += 1
            return None
        waiter: asyncio.Future[_Stream | None] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            # Timed out just as a connection was handed over: pass it on, or it is lost.
            if waiter.done() and not waiter.cancelled():
                self._give_back(waiter.result())
            raise

    def _give_back(self, stream: _Stream | None) -> None:
        """Return a connection to the pool; None for one that was closed, whose place is
        then free for a new one."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(stream)
                return
        if stream is None:
            self._open -= 1
        else:
            self._idle.append(stream)
