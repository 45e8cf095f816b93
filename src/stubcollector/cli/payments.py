"""``flask payments ...``: operator commands for the payment flow."""

from __future__ import annotations

import click

from stubcollector.services import onboarding, reconcile

payments_cli = click.Group("payments", help="Payments: reconciliation and reservation expiry.")


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
    click.echo(f"accounts checked: {report.checked}, status changed: {report.status_changed}")
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if report.errors:
        raise SystemExit(1)
