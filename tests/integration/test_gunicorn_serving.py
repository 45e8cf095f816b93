"""The production server as deployed: gunicorn with gunicorn.conf.py, several workers.

Starts the real master (a subprocess) on a free port and checks what the configuration
promises: JSON log lines with request ids, metrics summed over the worker processes, and a
graceful reload (``HUP``) that loads new workers while requests keep being answered.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.servers import free_port, stop_process, wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
METRICS_TOKEN = "metrics-token-for-the-test"
WORKERS = 2


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    pidfile: Path

    def get(
        self, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, str, dict[str, str]]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read().decode(), dict(response.getheaders())
        finally:
            connection.close()

    def log_lines(self) -> list[dict[str, object]]:
        lines = []
        for raw in self.log.read_text().splitlines():
            if raw.startswith("{"):
                lines.append(json.loads(raw))
        return lines

    def worker_pids(self) -> set[int]:
        found = re.findall(r"Booting worker with pid: (\d+)", self.log.read_text())
        return {int(pid) for pid in found if _alive(int(pid))}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _gunicorn() -> str:
    found = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("gunicorn is not installed in this environment")
    return found


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serving.db'}",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "PAYMENTS_BACKEND": "sandbox",
        "REDIS_URL": "",
        "LOG_FORMAT": "json",
        "METRICS_TOKEN": METRICS_TOKEN,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(WORKERS),
        "GUNICORN_THREADS": "2",
        "GUNICORN_GRACEFUL_TIMEOUT": "10",
        "GUNICORN_PIDFILE": str(tmp_path / "gunicorn.pid"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    env.pop("STRIPE_SECRET_KEY", None)
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "stubcollector.wsgi", "db", "upgrade"],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    log = tmp_path / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [_gunicorn(), "-c", str(REPO_ROOT / "gunicorn.conf.py"), "stubcollector.wsgi:app"],
            env=env,
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    running = Server(process, port, log, tmp_path / "gunicorn.pid")
    try:
        wait_until(lambda: _answers(running), timeout=60, what="gunicorn to answer /healthz")
        wait_until(lambda: len(running.worker_pids()) == WORKERS, timeout=60, what="both workers")
        yield running
    finally:
        stop_process(process)


def _answers(server: Server) -> bool:
    if server.process.poll() is not None:
        pytest.fail(f"gunicorn exited during start:\n{server.log.read_text()[-3000:]}")
    try:
        return server.get("/healthz")[0] == 200
    except OSError:
        return False


def test_requests_are_logged_as_json_lines_with_their_request_id(server: Server) -> None:
    # Probes are logged at DEBUG; an API request at INFO.
    status, _body, headers = server.get("/api/users/1", {"X-Request-ID": "req-serving-test-1"})
    assert status == 404
    assert headers["X-Request-ID"] == "req-serving-test-1"

    def logged() -> bool:
        return any(line.get("request_id") == "req-serving-test-1" for line in server.log_lines())

    wait_until(logged, timeout=10, what="the request's log line")
    line = next(
        line for line in server.log_lines() if line.get("request_id") == "req-serving-test-1"
    )
    assert (line["path"], line["status"]) == ("/api/users/1", 404)
    # gunicorn's own lines are JSON too, and no access line repeats the app's.
    assert any(line.get("logger") == "gunicorn.error" for line in server.log_lines())
    assert not any(line.get("logger") == "gunicorn.access" for line in server.log_lines())


def test_metrics_add_up_the_requests_of_every_worker(server: Server) -> None:
    # Fresh connections until both processes have served some (which one accepts a
    # connection is a race); each request's log line names its process.
    sent = 0
    while sent < 20 or len(_pids_that_served(server)) < WORKERS:
        assert server.get("/api/users/1")[0] == 404
        sent += 1
        assert sent < 500, "one worker took every connection"
    assert server.get("/metrics")[0] == 401  # the token is required
    _status, text, _headers = server.get("/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"})
    counted = re.search(
        r'stubcollector_http_requests_total\{endpoint="/api/users/<int:user_id>",'
        r'method="GET",status="404"\} ([0-9.e+]+)',
        text,
    )
    assert counted is not None, text[:2000]
    assert float(counted.group(1)) == sent  # every worker's share, once


def _pids_that_served(server: Server) -> set[object]:
    return {line["pid"] for line in server.log_lines() if line.get("path") == "/api/users/1"}


def test_a_graceful_reload_replaces_the_workers_without_failing_a_request(
    server: Server,
) -> None:
    before = server.worker_pids()
    master = int(server.pidfile.read_text().strip())
    failures: list[str] = []
    answered = 0
    stop = threading.Event()

    def keep_asking() -> None:
        nonlocal answered
        while not stop.is_set():
            try:
                status = server.get("/healthz")[0]
            except OSError as error:
                failures.append(repr(error))
                continue
            if status != 200:
                failures.append(str(status))
            answered += 1

    clients = [threading.Thread(target=keep_asking) for _ in range(3)]
    for client in clients:
        client.start()
    try:
        os.kill(master, signal.SIGHUP)
        wait_until(
            lambda: not (before & server.worker_pids()) and len(server.worker_pids()) == WORKERS,
            timeout=60,
            what="new workers in place of the old ones",
        )
        asked_before = answered
        wait_until(lambda: answered > asked_before + 20, timeout=30, what="the new workers")
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=30)
    assert failures == []
    assert server.process.poll() is None  # the master carried on
