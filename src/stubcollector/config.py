"""Configuration read from environment variables (and a ``.env`` file).

Every variable is documented in ``.env.example``. The embedded defaults run the whole product
on one machine with no keys: SQLite under the instance folder, local image storage, an
in-memory rate limiter and the sandbox payment backend.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from limits import parse_many

from stubcollector.domain.money import (
    DEFAULT_LISTING_MIN_PRICE_CENTS,
    DEFAULT_PLATFORM_FEE_MINIMUM_CENTS,
    MAX_PRICE_CENTS,
    MIN_PRICE_CENTS,
    FeeRate,
)

DEFAULT_SECRET_KEY = "dev-insecure-change-me"  # noqa: S105 - the value production refuses to run with

ENVIRONMENTS = ("development", "testing", "production")
PAYMENT_BACKENDS = ("sandbox", "stripe")
OCR_BACKENDS = ("offline", "gemini")
LOG_FORMATS = ("json", "text")
# Seller payout hold (Stripe ``settings.payouts.schedule.delay_days``) in days. Stripe refuses a
# delay below the account's country minimum ("can't be less than ... the default payout
# schedule for the account", docs.stripe.com/connect/manage-payout-schedule); our sellers
# are US accounts, where that minimum is 2 business days (third-party sources; unconfirmed
# by Stripe). Stripe's maximum for v1 ``delay_days`` is not documented; 31 is the maximum
# of its Balance Settings ``delay_days_override``, the documented successor.
PAYOUT_HOLD_MIN_DAYS = 2
PAYOUT_HOLD_MAX_DAYS = 31
# What an idempotency key namespace may contain: it starts every key we send to Stripe,
# whose keys are at most 255 characters.
IDEMPOTENCY_PREFIX_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the app refuses to start."""


def normalize_database_url(url: str, instance_path: Path) -> str:
    """Map the URL forms people write to the drivers we install.

    ``postgres://`` and ``postgresql://`` (as Heroku-style hosts hand them out) select
    psycopg 3; a relative SQLite path is placed in the instance folder.
    """
    url = url.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        relative = url[len("sqlite:///") :]
        if relative and relative != ":memory:" and not Path(relative).is_absolute():
            return f"sqlite:///{instance_path / relative}"
    return url


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _parse_int(name: str, raw: str, minimum: int, maximum: int) -> int:
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


_PAYOUT_HOLD_RULE = (
    f"STRIPE_PAYOUT_HOLD_DAYS must be between {PAYOUT_HOLD_MIN_DAYS} and "
    f"{PAYOUT_HOLD_MAX_DAYS} days, got {{}}: Stripe refuses a payout delay below the "
    f"account's minimum (2 days in the US) and documents at most {PAYOUT_HOLD_MAX_DAYS}"
)


def _parse_payout_hold(raw: str) -> int:
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"STRIPE_PAYOUT_HOLD_DAYS must be a whole number, got {raw!r}") from exc


def _parse_list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _parse_limits(name: str, raw: str) -> tuple[str, ...]:
    """Semicolon-separated rate limit strings ("300 per minute; 5000 per day"), checked now."""
    items = tuple(item.strip() for item in raw.split(";") if item.strip())
    try:
        for item in items:
            parse_many(item)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    return items


def _check_base_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            f"PUBLIC_BASE_URL must be the site's address, like https://stubs.example.com; "
            f"got {url!r}"
        )


@dataclass(frozen=True)
class Settings:
    """Typed settings. Build with :meth:`from_env`; tests change values with ``with_overrides``."""

    environment: str = "development"
    secret_key: str = DEFAULT_SECRET_KEY
    database_url: str = ""
    instance_path: Path = field(default_factory=lambda: Path.cwd() / "instance")
    upload_folder: Path = field(default_factory=lambda: Path.cwd() / "instance" / "uploads")
    max_upload_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    # PUBLIC_BASE_URL as configured; empty: links follow the address in use (the request's
    # host, else 127.0.0.1 and PORT). Production refuses to start without it.
    public_base_url: str = ""
    # PORT: where `make run` serves the app (the base of links made outside a request).
    port: int = 5000
    cors_origins: tuple[str, ...] = ()
    trusted_proxy_count: int = 0
    redis_url: str = ""
    ratelimit_storage_url: str = "memory://"
    ratelimit_enabled: bool = True
    # Applied per client IP to every route that declares no limit of its own.
    ratelimit_default: tuple[str, ...] = ("300 per minute",)
    payments_backend: str = "sandbox"
    stripe_secret_key: str = ""
    stripe_public_key: str = ""
    stripe_webhook_secret: str = "whsec_sandbox_platform"  # noqa: S105 - sandbox default, not a real secret
    stripe_connect_webhook_secret: str = "whsec_sandbox_connect"  # noqa: S105 - sandbox default
    stripe_api_base: str = ""
    stripe_payout_hold_days: int = 7
    # The rate (STRIPE_PLATFORM_FEE_PERCENTAGE) with its floor (PLATFORM_FEE_MINIMUM_CENTS).
    stripe_platform_fee: FeeRate = field(
        default_factory=lambda: FeeRate.parse(
            "0.10", minimum_cents=DEFAULT_PLATFORM_FEE_MINIMUM_CENTS
        )
    )
    listing_min_price_cents: int = DEFAULT_LISTING_MIN_PRICE_CENTS
    stripe_account_liability: str = "application"
    # Starts every idempotency key we send (services/idempotency.py); empty: the namespace
    # this database generated for itself (app_settings).
    idempotency_key_prefix: str = ""
    webhook_ip_allowlist: tuple[str, ...] = ()
    reservation_minutes: int = 15
    marketplace_total_cache_seconds: int = 10
    marketplace_page_cache_seconds: int = 5
    ocr_backend: str = "offline"
    gemini_api_key: str = ""
    gemini_model: str = "gemini-2.5-flash"
    gemini_api_base: str = ""
    gemini_timeout_seconds: int = 30
    log_level: str = "INFO"
    log_format: str = "text"
    job_queue_name: str = "stubcollector"
    job_max_retries: int = 4
    job_retry_base_seconds: int = 15
    job_timeout_seconds: int = 300
    metrics_token: str = ""
    periodic_jobs_in_process: bool = True

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def is_testing(self) -> bool:
        return self.environment == "testing"

    @property
    def queue_enabled(self) -> bool:
        return bool(self.redis_url)

    @property
    def local_base_url(self) -> str:
        """Where ``make run`` serves the app on this machine: the base of links made outside
        a request when ``PUBLIC_BASE_URL`` is not set (never in production)."""
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        base_dir: Path | None = None,
        webhook_setup: bool = False,
    ) -> Settings:
        """Read settings from ``environ`` (default: ``os.environ``), validating every value.

        ``webhook_setup``: for ``flask payments create-webhook-endpoints`` only, which runs
        before the webhook signing secrets exist (it is what prints them).
        """
        env = dict(os.environ if environ is None else environ)
        base = base_dir or Path.cwd()
        instance = Path(env.get("INSTANCE_PATH") or base / "instance").resolve()

        def get(name: str, default: str = "") -> str:
            return env.get(name, default).strip()

        environment = get("APP_ENV", "development").lower()
        if environment not in ENVIRONMENTS:
            raise ConfigError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}")

        stripe_secret = get("STRIPE_SECRET_KEY")
        backend = get("PAYMENTS_BACKEND", "stripe" if stripe_secret else "sandbox").lower()
        if backend not in PAYMENT_BACKENDS:
            raise ConfigError(f"PAYMENTS_BACKEND must be one of {', '.join(PAYMENT_BACKENDS)}")

        fee_minimum = _parse_int(
            "PLATFORM_FEE_MINIMUM_CENTS",
            get("PLATFORM_FEE_MINIMUM_CENTS", str(DEFAULT_PLATFORM_FEE_MINIMUM_CENTS)),
            0,
            MAX_PRICE_CENTS,
        )
        try:
            fee = FeeRate.parse(
                get("STRIPE_PLATFORM_FEE_PERCENTAGE", "0.10"), minimum_cents=fee_minimum
            )
        except (ValueError, InvalidOperation) as exc:
            raise ConfigError(f"STRIPE_PLATFORM_FEE_PERCENTAGE: {exc}") from exc

        gemini_key = get("GEMINI_API_KEY")
        ocr_backend = get("OCR_BACKEND", "gemini" if gemini_key else "offline").lower()
        if ocr_backend not in OCR_BACKENDS:
            raise ConfigError(f"OCR_BACKEND must be one of {', '.join(OCR_BACKENDS)}")

        redis_url = get("REDIS_URL")
        # Machines read JSON logs in production; people read text on their own machine.
        log_format = get("LOG_FORMAT", "json" if environment == "production" else "text").lower()
        if log_format not in LOG_FORMATS:
            raise ConfigError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")
        liability = get("STRIPE_ACCOUNT_LIABILITY", "application").lower()
        if liability not in ("application", "stripe"):
            raise ConfigError("STRIPE_ACCOUNT_LIABILITY must be application or stripe")

        settings = cls(
            environment=environment,
            secret_key=get("SECRET_KEY", DEFAULT_SECRET_KEY),
            database_url=normalize_database_url(
                get("DATABASE_URL") or f"sqlite:///{instance / 'stubcollector.db'}", instance
            ),
            instance_path=instance,
            upload_folder=Path(get("UPLOAD_FOLDER") or instance / "uploads").resolve(),
            max_upload_bytes=_parse_int(
                "MAX_UPLOAD_BYTES", get("MAX_UPLOAD_BYTES", str(10 * 1024 * 1024)), 1024, 1 << 30
            ),
            max_image_pixels=_parse_int(
                "MAX_IMAGE_PIXELS", get("MAX_IMAGE_PIXELS", "40000000"), 10_000, 500_000_000
            ),
            public_base_url=get("PUBLIC_BASE_URL").rstrip("/"),
            port=_parse_int("PORT", get("PORT") or "5000", 1, 65535),
            cors_origins=_parse_list(get("CORS_ORIGINS")),
            trusted_proxy_count=_parse_int(
                "TRUSTED_PROXY_COUNT", get("TRUSTED_PROXY_COUNT", "0"), 0, 5
            ),
            redis_url=redis_url,
            ratelimit_storage_url=get("RATELIMIT_STORAGE_URL") or redis_url or "memory://",
            ratelimit_enabled=_parse_bool("RATELIMIT_ENABLED", get("RATELIMIT_ENABLED", "true")),
            ratelimit_default=_parse_limits(
                "RATELIMIT_DEFAULT", get("RATELIMIT_DEFAULT", "300 per minute")
            ),
            payments_backend=backend,
            stripe_secret_key=stripe_secret,
            stripe_public_key=get("STRIPE_PUBLIC_KEY"),
            # The sandbox signs its own events and has defaults; Stripe's secrets have none.
            stripe_webhook_secret=get(
                "STRIPE_WEBHOOK_SECRET", cls.stripe_webhook_secret if backend == "sandbox" else ""
            ),
            stripe_connect_webhook_secret=get(
                "STRIPE_CONNECT_WEBHOOK_SECRET",
                cls.stripe_connect_webhook_secret if backend == "sandbox" else "",
            ),
            stripe_api_base=get("STRIPE_API_BASE").rstrip("/"),
            stripe_payout_hold_days=_parse_payout_hold(get("STRIPE_PAYOUT_HOLD_DAYS", "7")),
            stripe_platform_fee=fee,
            listing_min_price_cents=_parse_int(
                "LISTING_MIN_PRICE_CENTS",
                get("LISTING_MIN_PRICE_CENTS", str(DEFAULT_LISTING_MIN_PRICE_CENTS)),
                MIN_PRICE_CENTS,
                MAX_PRICE_CENTS,
            ),
            stripe_account_liability=liability,
            idempotency_key_prefix=get("IDEMPOTENCY_KEY_PREFIX"),
            webhook_ip_allowlist=_parse_list(get("WEBHOOK_IP_ALLOWLIST")),
            reservation_minutes=_parse_int(
                "RESERVATION_MINUTES", get("RESERVATION_MINUTES", "15"), 1, 24 * 60
            ),
            marketplace_total_cache_seconds=_parse_int(
                "MARKETPLACE_TOTAL_CACHE_SECONDS",
                get("MARKETPLACE_TOTAL_CACHE_SECONDS", "10"),
                0,
                3600,
            ),
            marketplace_page_cache_seconds=_parse_int(
                "MARKETPLACE_PAGE_CACHE_SECONDS",
                get("MARKETPLACE_PAGE_CACHE_SECONDS", "5"),
                0,
                300,
            ),
            ocr_backend=ocr_backend,
            gemini_api_key=gemini_key,
            gemini_model=get("GEMINI_MODEL", "gemini-2.5-flash"),
            gemini_api_base=get("GEMINI_API_BASE").rstrip("/"),
            gemini_timeout_seconds=_parse_int(
                "GEMINI_TIMEOUT_SECONDS", get("GEMINI_TIMEOUT_SECONDS", "30"), 1, 600
            ),
            log_level=get("LOG_LEVEL", "INFO").upper(),
            log_format=log_format,
            job_queue_name=get("JOB_QUEUE_NAME", "stubcollector"),
            job_max_retries=_parse_int("JOB_MAX_RETRIES", get("JOB_MAX_RETRIES", "4"), 0, 20),
            job_retry_base_seconds=_parse_int(
                "JOB_RETRY_BASE_SECONDS", get("JOB_RETRY_BASE_SECONDS", "15"), 0, 3600
            ),
            job_timeout_seconds=_parse_int(
                "JOB_TIMEOUT_SECONDS", get("JOB_TIMEOUT_SECONDS", "300"), 1, 24 * 3600
            ),
            metrics_token=get("METRICS_TOKEN"),
            periodic_jobs_in_process=_parse_bool(
                "PERIODIC_JOBS_IN_PROCESS", get("PERIODIC_JOBS_IN_PROCESS", "true")
            ),
        )
        settings.validate(webhook_secrets=not webhook_setup)
        return settings

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with some values changed (tests use this), validated again."""
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
        updated = replace(self, **overrides)
        updated.validate()
        return updated

    def missing_variables(self, *, webhook_secrets: bool = True) -> list[str]:
        """The variables this configuration needs and does not have (or has at a
        development default), in the order ``.env.example`` lists them.

        ``webhook_secrets=False`` leaves out the two webhook signing secrets (see
        :meth:`from_env`'s ``webhook_setup``).
        """
        missing: list[str] = []
        if self.is_production:
            if not self.secret_key or self.secret_key == DEFAULT_SECRET_KEY:
                missing.append("SECRET_KEY")
            if not self.public_base_url:
                missing.append("PUBLIC_BASE_URL")
        if self.payments_backend == "stripe" and not self.stripe_secret_key:
            missing.append("STRIPE_SECRET_KEY")
        if self.payments_backend == "stripe" and webhook_secrets:
            # In every APP_ENV: without its secret an endpoint refuses every delivery, and
            # payments, refunds and disputes would be learnt only by reconciliation.
            for name, secret in (
                ("STRIPE_WEBHOOK_SECRET", self.stripe_webhook_secret),
                ("STRIPE_CONNECT_WEBHOOK_SECRET", self.stripe_connect_webhook_secret),
            ):
                if not secret or secret.startswith("whsec_sandbox"):
                    missing.append(name)
        return missing

    def validate(self, *, webhook_secrets: bool = True) -> None:
        """Refuse configurations that would be unsafe or cannot work."""
        missing = self.missing_variables(webhook_secrets=webhook_secrets)
        if missing:
            where = (
                "APP_ENV=production"
                if self.is_production
                else f"PAYMENTS_BACKEND={self.payments_backend}"
            )
            how = ""
            if any(name.endswith("_WEBHOOK_SECRET") for name in missing):
                how = (
                    " The webhook secrets are the signing secrets of the account and Connect "
                    "webhook endpoints: create the endpoints and print their secrets with "
                    "`flask --app stubcollector.wsgi payments create-webhook-endpoints` "
                    "(docs/DEPLOYMENT.md)."
                )
            raise ConfigError(
                f"{where} needs {', '.join(missing)} (missing, or still a development "
                f"default); see .env.example.{how}"
            )
        if self.is_production and len(self.secret_key) < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters in production")
        if self.public_base_url:
            _check_base_url(self.public_base_url)
        if self.idempotency_key_prefix and not IDEMPOTENCY_PREFIX_PATTERN.fullmatch(
            self.idempotency_key_prefix
        ):
            raise ConfigError(
                "IDEMPOTENCY_KEY_PREFIX must be 1 to 40 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        if not PAYOUT_HOLD_MIN_DAYS <= self.stripe_payout_hold_days <= PAYOUT_HOLD_MAX_DAYS:
            raise ConfigError(_PAYOUT_HOLD_RULE.format(self.stripe_payout_hold_days))
        if not MIN_PRICE_CENTS <= self.listing_min_price_cents <= MAX_PRICE_CENTS:
            raise ConfigError(
                f"LISTING_MIN_PRICE_CENTS must be at least {MIN_PRICE_CENTS} "
                "(Stripe's minimum charge for USD)"
            )
        if self.stripe_platform_fee.minimum_cents >= self.listing_min_price_cents:
            # Stripe refuses an application fee that is not below the charge, and a seller
            # must keep something of a sale.
            raise ConfigError(
                "PLATFORM_FEE_MINIMUM_CENTS must be below LISTING_MIN_PRICE_CENTS "
                f"({self.stripe_platform_fee.minimum_cents} >= {self.listing_min_price_cents})"
            )
        if self.ocr_backend == "gemini" and not self.gemini_api_key:
            raise ConfigError("OCR_BACKEND=gemini needs GEMINI_API_KEY")
        if not self.database_url:
            raise ConfigError("DATABASE_URL is empty")
        if self.log_format not in LOG_FORMATS:
            raise ConfigError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")
        if self.metrics_token and len(self.metrics_token) < 16:
            raise ConfigError("METRICS_TOKEN must be at least 16 characters")
