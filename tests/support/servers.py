"""The servers tests talk to: the shared test PostgreSQL and Redis, and throwaway ones.

``TEST_POSTGRES_URL`` and ``TEST_REDIS_URL`` name the shared servers (from the environment);
``require_redis`` skips a test when Redis is not there (fails it in CI). The shared servers
are never stopped: other test runs use them. Tests that stop and start a server get a
private ``redis-server`` (``PrivateRedis``) or PostgreSQL cluster (``PrivatePostgres``) on a
free port in a temporary directory. Also: ``wait_until`` a condition holds,
``stop_process``, and ``RestClock``, the clock the Redis adapters time their rest after a
failure by.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import RedisError

from stubcollector.adapters import outage

TEST_POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

POSTGRES_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition: Callable[[], bool], *, timeout: float = 30, what: str = "") -> None:
    """Poll until ``condition()`` holds; fail the test with ``what`` if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout}s waiting for {what or condition}")


def stop_process(process: subprocess.Popen[bytes], *, timeout: float = 30) -> None:
    """SIGTERM (a graceful stop), then SIGKILL if it is still running after ``timeout``."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class RestClock:
    """The clock the Redis adapters time their rest after a failure by, held still (a slow
    restart of the server must not end the rest) until the test moves it on."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = outage.time.monotonic()
        monkeypatch.setattr(outage, "time", types.SimpleNamespace(monotonic=lambda: self.now))

    def skip_the_rest(self) -> None:
        self.now += outage.REST_AFTER_FAILURE_SECONDS + 1


def require_redis(url: str) -> None:
    try:
        Redis.from_url(url, socket_connect_timeout=2).ping()
    except RedisError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {url} (required in CI)")
        pytest.skip(f"Redis is not reachable at {url}")


def require_binary(name: str, *candidates: Path) -> str:
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed; the outage test needs its own server")
    return found


class PrivateRedis:
    def __init__(self) -> None:
        self.binary = require_binary("redis-server")
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments, our own binary
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, timeout=10, what="private redis-server")

    def _answers(self) -> bool:
        try:
            return bool(Redis(port=self.port, socket_connect_timeout=0.2).ping())
        except RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


class PrivatePostgres:
    """A cluster made with initdb in a temporary directory, run with pg_ctl.

    PostgreSQL refuses to run as root, so under root the commands run as ``postgres``.
    """

    def __init__(self) -> None:
        dirs = [bin_dir / "initdb" for bin_dir in POSTGRES_BIN_DIRS]
        self.initdb = require_binary("initdb", *dirs)
        self.pg_ctl = str(Path(self.initdb).with_name("pg_ctl"))
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="stubcollector-pg-"))
        self.data = self.root / "data"
        self._as_postgres: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                pytest.skip("running as root without runuser: cannot start PostgreSQL")
            shutil.chown(self.root, "postgres", "postgres")
            self._as_postgres = [runuser, "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        subprocess.run(  # noqa: S603 - fixed arguments, our own binaries
            [*self._as_postgres, *command],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )

    def init(self) -> None:
        self._run(self.initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        log_file = str(self.root / "server.log")
        self._run(
            self.pg_ctl,
            "-D",
            str(self.data),
            "-l",
            log_file,
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        self._run(self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
