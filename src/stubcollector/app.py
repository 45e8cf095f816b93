"""The application factory: configuration in, a wired Flask app out."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask
from redis import Redis
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

import stubcollector.job_manifest  # noqa: F401 - registers every job workers and schedulers run
from stubcollector import cli
from stubcollector.adapters import redis_jobs
from stubcollector.adapters.change_counters import LocalChangeCounter, RedisChangeCounter
from stubcollector.adapters.job_leases import DatabasePeriodicLease
from stubcollector.adapters.jobs import InProcessJobQueue, InProcessScheduler, JobQueue
from stubcollector.adapters.ocr.base import StubReader
from stubcollector.adapters.ocr.rapid import RapidOcrReader
from stubcollector.adapters.payments import build_payment_gateway
from stubcollector.adapters.payments.ports import PaymentGateway
from stubcollector.adapters.storage import ImageStorage, LocalImageStorage
from stubcollector.config import Settings
from stubcollector.container import EXTENSION_KEY, Container, container
from stubcollector.database import (
    after_writes_to,
    enable_sqlite_pragmas,
    engine_options,
    ping_idle_connections,
)
from stubcollector.extensions import cors, csrf, db, limiter, login_manager, migrate
from stubcollector.observability import web as observability
from stubcollector.observability.logs import configure_logging
from stubcollector.services import accounts, webhooks
from stubcollector.services.marketplace import browsing
from stubcollector.web import register_blueprints
from stubcollector.web.errors import register_error_handlers
from stubcollector.web.json import AppJSONProvider
from stubcollector.web.public_url import public_base_url
from stubcollector.web.routing import install_converters
from stubcollector.web.security import add_security_headers, require_non_form_content

# One counter for every process sharing the Redis database.
LISTING_CHANGES_KEY = "stubcollector:listing-changes"


def create_app(
    settings: Settings | None = None,
    *,
    jobs: JobQueue | None = None,
    payments: PaymentGateway | None = None,
    storage: ImageStorage | None = None,
    reader: StubReader | None = None,
) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__, instance_path=str(settings.instance_path), instance_relative_config=True)
    configure(app, settings)
    app.json = AppJSONProvider(app)  # keeps "status" first; writes typed results
    register_extensions(app, settings)
    redis = redis_jobs.connect(settings.redis_url) if settings.redis_url else None
    jobs = jobs or build_job_queue(app, settings, redis)
    app.extensions[EXTENSION_KEY] = Container(
        settings=settings,
        jobs=jobs,
        storage=storage or LocalImageStorage(settings.upload_folder),
        reader=reader or build_stub_reader(settings),
        payments=payments
        or build_payment_gateway(
            settings,
            jobs=jobs,
            webhook_receiver=webhooks.receive,
            subscribed_events=webhooks.SUBSCRIBED_EVENT_TYPES,
            base_url=public_base_url,
        ),
        redis=redis,
        listing_changes=(
            RedisChangeCounter(redis, LISTING_CHANGES_KEY) if redis else LocalChangeCounter()
        ),
    )
    with app.app_context():
        # Listing pages are cached under this counter (services.marketplace.browsing).
        after_writes_to(
            db.engine,
            browsing.PAGE_SOURCE_TABLES,
            lambda: container(app).listing_changes.advance(),
        )
    observability.init_app(app)
    install_converters(app)
    register_blueprints(app)
    # After the blueprints: the limiter wraps the views they registered.
    limiter.init_app(
        app,
        storage_uri=settings.ratelimit_storage_url,
        enabled=settings.ratelimit_enabled,
        default_limits=settings.ratelimit_default,
    )
    register_error_handlers(app)
    require_non_form_content(app)
    add_security_headers(app)
    cli.register_commands(app)
    if settings.trusted_proxy_count:
        # Trust X-Forwarded-* only from the configured number of proxies in front of us.
        count = settings.trusted_proxy_count
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=count, x_proto=count, x_host=count
        )
    return app


def build_job_queue(app: Flask, settings: Settings, redis: Redis | None) -> JobQueue:
    """RQ on Redis when REDIS_URL is set; otherwise threads in this process."""
    if redis is not None:
        return redis_jobs.RedisJobQueue(
            redis,
            queue_name=settings.job_queue_name,
            max_retries=settings.job_max_retries,
            retry_base_seconds=settings.job_retry_base_seconds,
            timeout_seconds=settings.job_timeout_seconds,
        )
    queue = InProcessJobQueue(app, eager=settings.is_testing)
    if settings.periodic_jobs_in_process and not settings.is_testing:
        _run_periodic_jobs_in_process(app, queue)
    return queue


def build_in_process_scheduler(app: Flask, queue: JobQueue) -> InProcessScheduler:
    """One per web process; the lease in the database makes one of them run each job."""
    return InProcessScheduler(queue, lease=DatabasePeriodicLease(app))


def _run_periodic_jobs_in_process(app: Flask, queue: InProcessJobQueue) -> None:
    # Started by the first request rather than here, so that CLI commands (db upgrade,
    # the test runner's app) never start sweeping a database that may not be migrated yet.
    scheduler = build_in_process_scheduler(app, queue)

    @app.before_request
    def start_periodic_jobs() -> None:
        scheduler.start()


def build_stub_reader(settings: Settings) -> StubReader:
    """The offline engine, or Gemini with the offline engine as its fallback."""
    offline = RapidOcrReader()
    if settings.ocr_backend != "gemini":
        return offline
    # Imported only when configured: the SDK is large and the default never needs it.
    from stubcollector.adapters.ocr.gemini import GeminiStubReader

    return GeminiStubReader(
        api_key=settings.gemini_api_key,
        model=settings.gemini_model,
        fallback=offline,
        timeout_seconds=settings.gemini_timeout_seconds,
        base_url=settings.gemini_api_base,
    )


def configure(app: Flask, settings: Settings) -> None:
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    configure_logging(settings.log_level, settings.log_format)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        TESTING=settings.is_testing,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings.database_url),
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 64 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.is_production,
        REMEMBER_COOKIE_DURATION=timedelta(days=30),
        PERMANENT_SESSION_LIFETIME=timedelta(days=14),
        # Rate limits (storage, strategy, headers) are configured in stubcollector.ratelimits;
        # without Redis the counts are in memory, per process; see docs/SECURITY.md.
        RATELIMIT_ENABLED=settings.ratelimit_enabled,
        RATELIMIT_HEADERS_ENABLED=True,
        WTF_CSRF_TIME_LIMIT=None,
    )


def register_extensions(app: Flask, settings: Settings) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    login_manager.init_app(app)
    login_manager.user_loader(accounts.load_by_session_token)
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    cors.init_app(
        app,
        resources={r"/api/*": {}, r"/auth/*": {}},
        origins=list(settings.cors_origins),
        supports_credentials=True,
        allow_headers=["Content-Type", "X-Requested-With"],
        methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
    )
    with app.app_context():
        engine: Engine = db.engine
    if settings.database_url.startswith("sqlite"):
        enable_sqlite_pragmas(engine)
    else:
        ping_idle_connections(engine)


def _migrations_dir() -> Path:
    return Path(__file__).resolve().parent / "migrations"
