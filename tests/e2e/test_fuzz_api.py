"""Schemathesis fuzzes every operation in ``/openapi.json`` against the live app.

The app runs behind a real WSGI server on 127.0.0.1 (a thread of this process) on its own
SQLite database built by the Alembic migrations, in sandbox payment mode. Operations come
from the document the app serves, so a new endpoint is fuzzed as soon as it is declared
with ``@api_endpoint``. Each operation gets ``FUZZ_MAX_EXAMPLES`` generated requests
(valid and invalid ones) with a fixed seed, as an anonymous caller, as a logged-in user and
as an admin (admin-only views show their success responses to nobody else).

Rate limits are off in this app (``RATELIMIT_ENABLED=false``): the fuzzer sends hundreds of
requests from one address, and 429s would hide the behaviour under test. Limits have their
own tests (tests/e2e/test_rate_limits.py, tests/integration/test_rate_limits_redis.py).

Checks: no 5xx, every status code and content type is documented for the operation, and
every JSON body matches the documented schema (response schemas are closed, so an
undeclared field fails).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from flask_migrate import upgrade
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from stubcollector.app import create_app
from stubcollector.config import Settings
from stubcollector.extensions import db
from stubcollector.services import accounts
from tests.support.live_server import serve_in_thread

FUZZ_MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "40"))
# The logged-in run reaches the views' own work (database writes, image decoding, sandbox
# payments) on every operation, so it gets fewer cases per operation to keep the three runs
# under about three minutes on two cores; the anonymous run is mostly cheap 401s.
FUZZ_MAX_EXAMPLES_LOGGED_IN = int(os.environ.get("FUZZ_MAX_EXAMPLES_LOGGED_IN", "25"))
# What an admin may do that a user may not: the admin views and acting on others' orders.
ADMIN_PATHS = ("/api/admin/", "/api/payments/orders/")
FUZZ_USER = ("fuzz-user", "fuzz@example.com", "fuzzing is fun 42")
FUZZ_ADMIN = ("fuzz-admin", "fuzz-admin@example.com", "admin fuzzing 42")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def live_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    instance: Path = tmp_path_factory.mktemp("fuzz")
    app = create_app(
        Settings.from_env(
            {
                "APP_ENV": "development",
                "DATABASE_URL": f"sqlite:///{instance / 'fuzz.db'}",
                "INSTANCE_PATH": str(instance),
                "PAYMENTS_BACKEND": "sandbox",
                "RATELIMIT_ENABLED": "false",
                "LOG_LEVEL": "WARNING",
            }
        )
    )
    with app.app_context():
        upgrade()
        accounts.register(*FUZZ_USER)
        accounts.create_admin(*FUZZ_ADMIN)
        db.session.remove()
    with serve_in_thread(app) as url:
        yield url
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def api_schema(live_url: str) -> Any:
    return schemathesis.openapi.from_url(f"{live_url}/openapi.json")


class Session:
    """The logged-in user's cookie, renewed when a fuzzed request logged them out."""

    def __init__(self, base_url: str, credentials: tuple[str, str, str]) -> None:
        self.base_url = base_url
        self.credentials = credentials
        self.cookie = self._login()

    def _login(self) -> str:
        response = requests.post(
            f"{self.base_url}/auth/login",
            json={"login": self.credentials[0], "password": self.credentials[2]},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.cookies["session"]

    def after(self, path: str, status: int) -> None:
        if path == "/auth/logout" and status == 200:
            self.cookie = self._login()


@pytest.fixture(scope="module")
def user_session(live_url: str) -> Session:
    return Session(live_url, FUZZ_USER)


@pytest.fixture(scope="module")
def admin_session(live_url: str) -> Session:
    return Session(live_url, FUZZ_ADMIN)


def fuzz(
    schema: Any,
    call: Callable[[schemathesis.Case], None],
    *,
    max_examples: int = FUZZ_MAX_EXAMPLES,
    paths: tuple[str, ...] = ("/",),
) -> None:
    """Run ``call`` on generated cases for every operation; report every failing operation.

    (Schemathesis's own pytest integration does not run on pytest 9 yet, so the cases are
    drawn with Hypothesis directly from each operation's strategy.)
    """
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 35, "the OpenAPI document lost operations"
    operations = [op for op in operations if op.path.startswith(paths)]
    assert operations, f"no operation under {paths}"
    failures: list[str] = []
    for operation in operations:
        strategy = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @given(case=strategy)
        @settings(
            max_examples=max_examples,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
        )
        def run(case: schemathesis.Case) -> None:
            call(case)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)


def test_fuzz_as_anonymous(api_schema: Any) -> None:
    seen: dict[str, set[int]] = defaultdict(set)

    def call(case: schemathesis.Case) -> None:
        response = case.call_and_validate(checks=CHECKS, timeout=30)
        seen[f"{case.method} {case.path}"].add(response.status_code)

    fuzz(api_schema, call)
    assert seen["GET /auth/me"] == {401}


def fuzz_as(
    api_schema: Any, session: Session, *, paths: tuple[str, ...] = ("/",)
) -> dict[str, set[int]]:
    seen: dict[str, set[int]] = defaultdict(set)

    def call(case: schemathesis.Case) -> None:
        response = case.call_and_validate(
            checks=CHECKS, cookies={"session": session.cookie}, timeout=30
        )
        seen[f"{case.method} {case.path}"].add(response.status_code)
        session.after(case.path, response.status_code)

    fuzz(api_schema, call, max_examples=FUZZ_MAX_EXAMPLES_LOGGED_IN, paths=paths)
    return seen


def test_fuzz_as_logged_in_user(api_schema: Any, user_session: Session) -> None:
    seen = fuzz_as(api_schema, user_session)
    # The cookie really made these requests a user's: the fuzzer reached the private views.
    assert 200 in seen["GET /auth/me"]
    assert 200 in seen["PATCH /auth/me"]
    assert seen["GET /api/admin/audit-log"] <= {403}


def test_fuzz_as_admin(api_schema: Any, admin_session: Session) -> None:
    # Admin-only views only show their success responses (and their schemas) to an admin.
    # Everything else answers an admin as it answers the user of the previous run.
    seen = fuzz_as(api_schema, admin_session, paths=ADMIN_PATHS)
    assert 200 in seen["GET /api/admin/audit-log"]
