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


PUBLIC = {"PUBLIC_BASE_URL": "https://stubs.example.com"}


@pytest.mark.parametrize("secret", ["", DEFAULT_SECRET_KEY, "short"])
def test_production_refuses_a_default_or_weak_secret(secret: str) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Settings.from_env({"APP_ENV": "production", "SECRET_KEY": secret, **PUBLIC})


def test_production_starts_with_a_real_secret_and_its_public_address() -> None:
    settings = Settings.from_env(
        {"APP_ENV": "production", "SECRET_KEY": "x" * 40, "PUBLIC_BASE_URL": "https://s.example/"}
    )
    assert settings.is_production
    assert settings.public_base_url == "https://s.example"


def test_production_refusal_names_every_missing_variable() -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"APP_ENV": "production"})
    assert "SECRET_KEY, PUBLIC_BASE_URL" in str(refused.value)
    with pytest.raises(ConfigError, match=r"needs PUBLIC_BASE_URL \("):
        Settings.from_env({"APP_ENV": "production", "SECRET_KEY": "x" * 40})
    with pytest.raises(ConfigError) as stripe_refused:
        Settings.from_env(
            {"APP_ENV": "production", "PAYMENTS_BACKEND": "stripe", "SECRET_KEY": "x" * 40}
        )
    assert (
        "PUBLIC_BASE_URL, STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, STRIPE_CONNECT_WEBHOOK_SECRET"
        in str(stripe_refused.value)
    )


def test_without_public_base_url_development_links_follow_the_port() -> None:
    settings = Settings.from_env({"PORT": "5055"})
    assert settings.public_base_url == ""
    assert settings.local_base_url == "http://127.0.0.1:5055"
    assert Settings.from_env({}).local_base_url == "http://127.0.0.1:5000"


@pytest.mark.parametrize(
    "url", ["stubs.example.com", "ftp://stubs.example.com", "https://", "https://s.example/?a=1"]
)
def test_a_public_base_url_that_is_not_an_address_is_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        Settings.from_env({"PUBLIC_BASE_URL": url})


STRIPE_SECRETS = {
    "STRIPE_WEBHOOK_SECRET": "whsec_platform",
    "STRIPE_CONNECT_WEBHOOK_SECRET": "whsec_connect",
}


def test_stripe_keys_select_the_stripe_backend() -> None:
    settings = Settings.from_env({"STRIPE_SECRET_KEY": "sk_test_123", **STRIPE_SECRETS})
    assert settings.payments_backend == "stripe"


@pytest.mark.parametrize("app_env", ["development", "testing", "production"])
@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({}, ["STRIPE_WEBHOOK_SECRET", "STRIPE_CONNECT_WEBHOOK_SECRET"]),
        ({"STRIPE_WEBHOOK_SECRET": "whsec_platform"}, ["STRIPE_CONNECT_WEBHOOK_SECRET"]),
        ({"STRIPE_CONNECT_WEBHOOK_SECRET": "whsec_connect"}, ["STRIPE_WEBHOOK_SECRET"]),
        # The sandbox's own defaults are not Stripe's secrets.
        (
            {
                "STRIPE_WEBHOOK_SECRET": "whsec_sandbox_platform",
                "STRIPE_CONNECT_WEBHOOK_SECRET": "whsec_connect",
            },
            ["STRIPE_WEBHOOK_SECRET"],
        ),
    ],
)
def test_stripe_mode_refuses_to_start_without_both_webhook_secrets_in_any_environment(
    app_env: str, given: dict[str, str], missing: list[str]
) -> None:
    env = {"APP_ENV": app_env, "SECRET_KEY": "s" * 40, "STRIPE_SECRET_KEY": "sk_test_1", **given}
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(env)
    message = str(refused.value)
    for name in missing:
        assert name in message
    for name in set(STRIPE_SECRETS) - set(missing):
        assert name not in message
    assert "create-webhook-endpoints" in message  # how to get them


def test_the_webhook_setup_reads_stripe_settings_without_the_secrets() -> None:
    settings = Settings.from_env({"STRIPE_SECRET_KEY": "sk_test_1"}, webhook_setup=True)
    assert settings.payments_backend == "stripe"
    assert settings.stripe_webhook_secret == settings.stripe_connect_webhook_secret == ""


def test_the_sandbox_needs_no_webhook_secrets(tmp_path: Path) -> None:
    settings = Settings.from_env({"PAYMENTS_BACKEND": "sandbox"}, base_dir=tmp_path)
    assert settings.stripe_webhook_secret.startswith("whsec_sandbox")


@pytest.mark.parametrize("days", ["0", "1", "32", "-3"])
def test_payout_hold_days_outside_what_stripe_allows_are_refused(days: str) -> None:
    with pytest.raises(ConfigError, match="STRIPE_PAYOUT_HOLD_DAYS must be between 2 and 31"):
        Settings.from_env({"STRIPE_PAYOUT_HOLD_DAYS": days})


@pytest.mark.parametrize("days", ["2", "7", "31"])
def test_payout_hold_days_stripe_allows(days: str, tmp_path: Path) -> None:
    settings = Settings.from_env({"STRIPE_PAYOUT_HOLD_DAYS": days}, base_dir=tmp_path)
    assert settings.stripe_payout_hold_days == int(days)


def test_idempotency_key_prefix_is_checked(tmp_path: Path) -> None:
    assert Settings.from_env({}, base_dir=tmp_path).idempotency_key_prefix == ""
    named = Settings.from_env({"IDEMPOTENCY_KEY_PREFIX": "prod-eu.1"}, base_dir=tmp_path)
    assert named.idempotency_key_prefix == "prod-eu.1"
    for bad in ("has space", "a:b", "-lead", "x" * 41):
        with pytest.raises(ConfigError, match="IDEMPOTENCY_KEY_PREFIX"):
            Settings.from_env({"IDEMPOTENCY_KEY_PREFIX": bad}, base_dir=tmp_path)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PAYMENTS_BACKEND": "paypal"}, "PAYMENTS_BACKEND"),
        ({"PAYMENTS_BACKEND": "stripe"}, "STRIPE_SECRET_KEY"),
        ({"STRIPE_PLATFORM_FEE_PERCENTAGE": "ten"}, "STRIPE_PLATFORM_FEE_PERCENTAGE"),
        ({"STRIPE_PAYOUT_HOLD_DAYS": "40"}, "STRIPE_PAYOUT_HOLD_DAYS"),
        ({"STRIPE_PAYOUT_HOLD_DAYS": "soon"}, "STRIPE_PAYOUT_HOLD_DAYS"),
        ({"RESERVATION_MINUTES": "soon"}, "RESERVATION_MINUTES"),
        ({"APP_ENV": "staging"}, "APP_ENV"),
        ({"OCR_BACKEND": "gemini"}, "GEMINI_API_KEY"),
        ({"RATELIMIT_ENABLED": "maybe"}, "RATELIMIT_ENABLED"),
        ({"PORT": "http"}, "PORT"),
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
        {"APP_ENV": "production", "SECRET_KEY": "s" * 40, **PUBLIC}, base_dir=tmp_path
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
