"""The app behind a real WSGI server on 127.0.0.1: in a thread, or in its own process.

``python -m tests.support.live_server`` builds the app from the environment
(``Settings.from_env``), listens on a free port and prints ``LISTENING <port>`` once it
accepts connections. ``LiveServer`` is the browser tests' handle on their served app.
``serve_like_make_run`` starts the app the way ``make run`` does (``flask db upgrade``,
then ``flask run`` with ``PORT``), configured only by the environment it is given.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from stubcollector.extensions import db

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


@dataclass(frozen=True)
class LiveServer:
    """A served app: its base URL, and the app itself, to prepare data for a test."""

    url: str
    app: Flask

    def run(self, work: Callable[[], T]) -> T:
        """Call services directly (inside an app context) to set up data for a test."""
        with self.app.app_context():
            try:
                return work()
            finally:
                db.session.remove()


@contextmanager
def serve_in_thread(app: WSGIApplication) -> Iterator[str]:
    """Serve ``app`` (a Flask app, or any WSGI callable) from a thread (threaded server) and
    yield its base URL; the server is shut down when the block ends."""
    # One access-log line per fuzzed request would drown the test output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def serve_in_processes(environ: Mapping[str, str], count: int = 1) -> Iterator[list[str]]:
    """Start ``count`` app processes configured by ``environ`` (in parallel; imports are slow)."""
    env = {**os.environ, **environ}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.live_server"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    try:
        urls = []
        for process in processes:
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line.startswith("LISTENING "):
                raise RuntimeError(f"live server did not start (got {line!r})")
            urls.append(f"http://127.0.0.1:{int(line.split()[1])}")
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)
            if process.stdout is not None:
                process.stdout.close()


@contextmanager
def serve_like_make_run(
    workdir: Path, port: int, environ: Mapping[str, str] | None = None
) -> Iterator[str]:
    """``make run`` on ``port`` in ``workdir``: the schema migrated by ``flask db upgrade``,
    then ``flask run`` with ``PORT`` set as the Makefile sets it. Nothing else is configured
    (no ``PUBLIC_BASE_URL``, no Redis; ``environ`` adds or overrides). Yields the base URL
    once ``/healthz`` answers; the server is stopped when the block ends."""
    unset = ("REDIS_URL", "DATABASE_URL", "PUBLIC_BASE_URL")
    env = {
        **{k: v for k, v in os.environ.items() if k not in unset},
        "APP_ENV": "development",
        "PAYMENTS_BACKEND": "sandbox",
        "STRIPE_SECRET_KEY": "",
        # The app's own load_dotenv still reads the checkout's .env, if there is one.
        "FLASK_SKIP_DOTENV": "1",
        "INSTANCE_PATH": str(workdir / "instance"),
        "PORT": str(port),
        **(environ or {}),
    }
    flask = [sys.executable, "-m", "flask", "--app", "stubcollector.wsgi"]
    subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
        [*flask, "db", "upgrade"], cwd=workdir, env=env, check=True, capture_output=True
    )
    log = (workdir / "server.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
        [
            *flask,
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--with-threads",
            "--no-reload",
        ],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"flask run exited: {(workdir / 'server.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("flask run did not answer /healthz within 60 s")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def main() -> None:
    from stubcollector.app import create_app

    server = make_server("127.0.0.1", 0, create_app(), threaded=True)
    print(f"LISTENING {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
