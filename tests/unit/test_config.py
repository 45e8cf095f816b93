from pathlib import Path

import pytest

from stubcollector.config import DEFAULT_SECRET_KEY, ConfigError, Settings, normalize_database_url


def test_defaults_need_no_keys(tmp_path: Path) -> None:
    settings = Settings.from_env({}, base_dir=tmp_path)
    assert settings.payments_backend == "sandbox"
    assert settings.ocr_backend == "offline"
    assert settings.ratelimit_storage_url == "memory://"
    assert settings.database_url == f"sqlite:///{tmp_path / 'instance' / 'stubcollector.db'}"
    assert settings.upload_folder == tmp_path / "instance" / "uploads"
    assert settings.stripe_platform_fee.basis_points == 1000
    assert settings.stripe_platform_fee.minimum_cents == 50
    assert settings.listing_min_price_cents == 100
    assert settings.stripe_payout_hold_days == 7
    assert settings.reservation_minutes == 15


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////abs/x.db", "sqlite:////abs/x.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
    ],
)
def test_database_url_forms(raw: str, expected: str) -> None:
    assert normalize_database_url(raw, Path("/inst")) == expected


def test_relative_sqlite_path_goes_to_the_instance_folder() -> None:
    assert normalize_database_url("sqlite:///app.db", Path("/inst")) == "sqlite:////inst/app.db"


@pytest.mark.parametrize("secret", ["", DEFAULT_SECRET_KEY, "short"])
def test_production_refuses_a_default_or_weak_secret(secret: str) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Settings.from_env({"APP_ENV": "production", "SECRET_KEY": secret})


def test_production_starts_with_a_real_secret() -> None:
    settings = Settings.from_env({"APP_ENV": "production", "SECRET_KEY": "x" * 40})
    assert settings.is_production


def test_stripe_keys_select_the_stripe_backend() -> None:
    settings = Settings.from_env({"STRIPE_SECRET_KEY": "sk_test_123"})
    assert settings.payments_backend == "stripe"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PAYMENTS_BACKEND": "paypal"}, "PAYMENTS_BACKEND"),
        ({"PAYMENTS_BACKEND": "stripe"}, "STRIPE_SECRET_KEY"),
        ({"STRIPE_PLATFORM_FEE_PERCENTAGE": "ten"}, "STRIPE_PLATFORM_FEE_PERCENTAGE"),
        ({"STRIPE_PAYOUT_HOLD_DAYS": "40"}, "STRIPE_PAYOUT_HOLD_DAYS"),
        ({"RESERVATION_MINUTES": "soon"}, "RESERVATION_MINUTES"),
        ({"APP_ENV": "staging"}, "APP_ENV"),
        ({"OCR_BACKEND": "gemini"}, "GEMINI_API_KEY"),
        ({"RATELIMIT_ENABLED": "maybe"}, "RATELIMIT_ENABLED"),
    ],
)
def test_bad_values_are_refused_with_the_variable_name(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_redis_url_moves_the_limiter_to_redis() -> None:
    settings = Settings.from_env({"REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert settings.ratelimit_storage_url == "redis://127.0.0.1:6379/0"
    assert settings.queue_enabled


def test_logs_are_json_in_production_and_text_elsewhere(tmp_path: Path) -> None:
    assert Settings.from_env({}, base_dir=tmp_path).log_format == "text"
    production = Settings.from_env(
        {"APP_ENV": "production", "SECRET_KEY": "s" * 40}, base_dir=tmp_path
    )
    assert production.log_format == "json"
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        Settings.from_env({"LOG_FORMAT": "xml"}, base_dir=tmp_path)


def test_job_and_metrics_settings_are_validated(tmp_path: Path) -> None:
    settings = Settings.from_env({}, base_dir=tmp_path)
    assert (settings.job_max_retries, settings.job_retry_base_seconds) == (4, 15)
    with pytest.raises(ConfigError, match="JOB_MAX_RETRIES"):
        Settings.from_env({"JOB_MAX_RETRIES": "-1"}, base_dir=tmp_path)
    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        Settings.from_env({"METRICS_TOKEN": "short"}, base_dir=tmp_path)


def test_fee_floor_and_listing_minimum_are_read_and_checked_together(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"PLATFORM_FEE_MINIMUM_CENTS": "75", "LISTING_MIN_PRICE_CENTS": "200"}, base_dir=tmp_path
    )
    assert (settings.stripe_platform_fee.minimum_cents, settings.listing_min_price_cents) == (
        75,
        200,
    )
    # A fee floor at or above the lowest price would leave a seller nothing (and Stripe
    # refuses an application fee that is not below the charge).
    with pytest.raises(ConfigError, match="PLATFORM_FEE_MINIMUM_CENTS must be below"):
        Settings.from_env(
            {"PLATFORM_FEE_MINIMUM_CENTS": "100", "LISTING_MIN_PRICE_CENTS": "100"},
            base_dir=tmp_path,
        )
    # Stripe's minimum charge for USD is $0.50.
    with pytest.raises(ConfigError, match="LISTING_MIN_PRICE_CENTS"):
        Settings.from_env({"LISTING_MIN_PRICE_CENTS": "49"}, base_dir=tmp_path)
    with pytest.raises(ConfigError, match="PLATFORM_FEE_MINIMUM_CENTS"):
        Settings.from_env({"PLATFORM_FEE_MINIMUM_CENTS": "-1"}, base_dir=tmp_path)
