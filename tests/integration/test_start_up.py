"""Starting the real commands: production refuses to start without its variables, and says
which ones (PRODUCT.md, "Start-up"); ``make run`` hands its port to the app."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.live_server import ROOT
from tests.support.servers import free_port


def _flask(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
        [sys.executable, "-m", "flask", "--app", "stubcollector.wsgi", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _production_env(tmp_path: Path, **values: str) -> dict[str, str]:
    unset = ("PUBLIC_BASE_URL", "SECRET_KEY", "REDIS_URL", "DATABASE_URL", "STRIPE_SECRET_KEY")
    return {
        **{k: v for k, v in os.environ.items() if k not in unset},
        "APP_ENV": "production",
        "FLASK_SKIP_DOTENV": "1",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        **values,
    }


def test_production_without_its_variables_refuses_to_start_and_names_them(
    tmp_path: Path,
) -> None:
    port = str(free_port())
    started = _flask(["run", "--port", port], _production_env(tmp_path), tmp_path)
    assert started.returncode != 0
    last_line = started.stderr.strip().splitlines()[-1]
    assert "SECRET_KEY, PUBLIC_BASE_URL" in last_line, started.stderr

    with_secret = _production_env(tmp_path, SECRET_KEY="s" * 48)
    refused = _flask(["run", "--port", port], with_secret, tmp_path)
    assert refused.returncode != 0
    assert "needs PUBLIC_BASE_URL" in refused.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("make_args", "environ", "port"),
    [(["PORT=5055"], {}, "5055"), ([], {"PORT": "5066"}, "5066"), ([], {}, "5000")],
)
def test_make_run_gives_the_app_the_port_it_serves_on(
    make_args: list[str], environ: dict[str, str], port: str
) -> None:
    make = shutil.which("make")
    if make is None or (ROOT / ".env").exists():
        pytest.skip("needs make, and no .env (which may set PORT) in the checkout")
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "MAKEFLAGS", "MAKELEVEL")}
    dry_run = subprocess.run(  # noqa: S603 - fixed arguments
        [make, "-n", "run", *make_args],
        cwd=ROOT,
        env={**env, **environ},
        capture_output=True,
        text=True,
        check=True,
    )
    served = [line for line in dry_run.stdout.splitlines() if " run --host " in line]
    assert len(served) == 1, dry_run.stdout
    assert re.fullmatch(
        rf"PORT={port} \S+/flask --app stubcollector\.wsgi run --host 127\.0\.0\.1 "
        rf"--port {port} --with-threads --no-reload",
        served[0],
    ), served[0]
