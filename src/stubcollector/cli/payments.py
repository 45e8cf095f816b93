"""``flask payments ...``: operator commands for the payment flow.

The group is also registered as a Flask CLI plugin (``flask.commands`` in pyproject.toml),
so that ``flask payments create-webhook-endpoints`` runs *before* the app can start: in
Stripe mode the app refuses to start without the two webhook signing secrets, and this
command is what creates the endpoints and prints those secrets. It is the one command
declared ``with_appcontext=False``; every other one loads the app as usual.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from stubcollector.adapters.payments.ports import PaymentError, PaymentGateway
from stubcollector.config import ConfigError, Settings
from stubcollector.container import container
from stubcollector.domain.errors import ServiceUnavailable
from stubcollector.services import onboarding, reconcile, webhook_setup

payments_cli = AppGroup(
    "payments", help="Payments: reconciliation, seller accounts, webhook endpoints."
)


@payments_cli.command("reconcile")
def reconcile_command() -> None:
    """Re-read provider state for stuck orders and apply it; retry failed events.

    Safe to run at any time and any number of times.
    """
    report = reconcile.reconcile()
    click.echo(
        f"payments checked: {report.payments_checked}, changed: {report.payments_changed}; "
        f"refunds settled: {report.refunds_settled}, re-read: {report.refunds_checked}, "
        f"changed: {report.refunds_changed}; "
        f"fees read: {report.costs_checked}, recorded: {report.costs_recorded}; "
        f"events recovered: {report.events_recovered}, retried: {report.events_retried}"
    )
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if report.errors:
        raise SystemExit(1)


@payments_cli.command("refresh-accounts")
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=onboarding.ACCOUNT_SWEEP_BATCH,
    show_default=True,
    help="Accounts to re-read from the provider in this run.",
)
def refresh_accounts_command(limit: int) -> None:
    """Re-read connected accounts whose stored state may be stale, oldest-checked first.

    What the periodic job ``payments.refresh_accounts`` does every 10 minutes; it recovers
    sellers whose ``account.updated`` event was lost.
    """
    report = onboarding.refresh_stale_accounts(limit=limit)
    click.echo(
        f"accounts checked: {report.checked}, status changed: {report.status_changed}; "
        f"payout holds set: {report.payout_holds_set}, skipped: {report.payout_holds_skipped}"
    )
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if report.errors:
        raise SystemExit(1)


@payments_cli.command("create-webhook-endpoints", with_appcontext=False)
@click.option(
    "--base-url",
    default=None,
    help="Public address of the app (default: PUBLIC_BASE_URL); the endpoints are "
    "<base>/api/payments/webhook and <base>/api/payments/webhook/connect.",
)
def create_webhook_endpoints_command(base_url: str | None) -> None:
    """Create the account and Connect webhook endpoints at Stripe and print their secrets.

    Each endpoint is pinned to the API version the app is built for and subscribed to
    exactly the events the app handles. Needs only PAYMENTS_BACKEND=stripe and
    STRIPE_SECRET_KEY (the app itself does not start without the secrets this prints).
    Run it again after an upgrade: existing endpoints keep their secret and get the
    current event list.
    """
    try:
        gateway, public_base_url = _setup_gateway()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    base = (base_url or public_base_url).rstrip("/")
    if not base.startswith("https://"):
        click.echo(f"warning: {base} is not HTTPS; Stripe delivers live events only to HTTPS")
    try:
        report = webhook_setup.ensure_webhook_endpoints(gateway, base)
    except (PaymentError, ServiceUnavailable) as exc:
        raise click.ClickException(exc.message) from None
    for result in report.results:
        click.echo(
            f"{result.endpoint} endpoint {result.url}: {result.outcome.value}"
            + (
                f" ({result.endpoint_id}, API version {result.api_version})"
                if result.endpoint_id
                else ""
            )
        )
        if result.events:
            click.echo(f"  events: {', '.join(result.events)}")
        if result.secret:
            click.echo(f"  {result.secret_setting}={result.secret}")
    if any(result.secret for result in report.results):
        click.echo(
            "Stripe shows a signing secret only once, now: put it in the environment of "
            "every web process (and your secret store) before starting the app."
        )
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if report.errors:
        raise SystemExit(1)


def _setup_gateway() -> tuple[PaymentGateway, str]:
    """The running app's gateway when there is one (tests, a started app), else a Stripe
    gateway built from the environment alone."""
    if current_app:
        return container().payments, container().settings.public_base_url
    settings = Settings.from_env(webhook_setup=True)
    if settings.payments_backend != "stripe":
        raise ConfigError(
            "create-webhook-endpoints creates Stripe's endpoints: set PAYMENTS_BACKEND=stripe "
            "and STRIPE_SECRET_KEY (the sandbox delivers its own events)"
        )
    from stubcollector.adapters.payments.stripe_gateway import build_stripe_gateway

    return build_stripe_gateway(settings), settings.public_base_url
