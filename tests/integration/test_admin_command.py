"""``flask users create-admin`` (``make admin``) as an operator runs it: the real command in
its own process, on a migrated SQLite file.

The password comes from ``ADMIN_PASSWORD``, or once from standard input when that is a pipe
(no prompt, none of getpass's "Password input may be echoed" warning), or is asked twice,
hidden, at a terminal (a pseudo-terminal here).
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

PASSWORD = "an admin password 42"
FLASK = [sys.executable, "-m", "flask", "--app", "stubcollector.wsgi"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environ = {
        **{k: v for k, v in os.environ.items() if k not in ("ADMIN_PASSWORD", "REDIS_URL")},
        "APP_ENV": "development",
        "FLASK_SKIP_DOTENV": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'admin.db'}",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "PERIODIC_JOBS_IN_PROCESS": "false",
    }
    subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
        [*FLASK, "db", "upgrade"], env=environ, cwd=tmp_path, check=True, capture_output=True
    )
    return environ


def _admins(env: dict[str, str]) -> list[str]:
    engine = sa.create_engine(env["DATABASE_URL"])
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT username FROM users WHERE is_admin"))
            return [row[0] for row in rows]
    finally:
        engine.dispose()


def _create_admin(
    env: dict[str, str], username: str, *, stdin: str | None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
        [*FLASK, "users", "create-admin", "--username", username, "--email", f"{username}@x.io"],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_password_comes_once_from_a_pipe_without_a_warning(env: dict[str, str]) -> None:
    done = _create_admin(env, "piped", stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert "admin ready: piped" in done.stdout
    assert "echoed" not in done.stderr + done.stdout
    assert "Warning" not in done.stderr
    assert _admins(env) == ["piped"]


def test_the_password_comes_from_admin_password(env: dict[str, str]) -> None:
    done = _create_admin({**env, "ADMIN_PASSWORD": PASSWORD}, "fromenv", stdin="")
    assert done.returncode == 0, done.stderr
    assert "Password" not in done.stdout + done.stderr
    assert _admins(env) == ["fromenv"]


def test_without_a_password_it_says_where_to_give_one(env: dict[str, str]) -> None:
    done = _create_admin(env, "nopassword", stdin="")
    assert done.returncode == 1
    assert "ADMIN_PASSWORD" in done.stderr
    assert _admins(env) == []


def test_a_short_password_is_refused_with_the_reason(env: dict[str, str]) -> None:
    done = _create_admin(env, "shorty", stdin="short\n")
    assert done.returncode == 1
    assert "10 characters" in done.stderr
    assert _admins(env) == []


def _read_until(fd: int, wanted: str, timeout: float = 60) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while wanted not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"never saw {wanted!r}; got {seen!r}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # the other side closed
                break
            if not chunk:
                break
            seen += chunk.decode(errors="replace")
    return seen


def test_at_a_terminal_it_asks_twice_without_echoing(env: dict[str, str]) -> None:
    controller, terminal = pty.openpty()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
        [*FLASK, "users", "create-admin", "--username", "typed", "--email", "typed@x.io"],
        env=env,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        start_new_session=True,
    )
    os.close(terminal)
    try:
        shown = _read_until(controller, "Password")
        os.write(controller, (PASSWORD + "\n").encode())
        shown += _read_until(controller, "Repeat the password")
        os.write(controller, (PASSWORD + "\n").encode())
        shown += _read_until(controller, "admin ready")
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)
    assert PASSWORD not in shown  # hidden input: never echoed back
    assert "echoed" not in shown
    assert _admins(env) == ["typed"]
