"""``flask payments ...``: operator commands for the payment flow."""

from __future__ import annotations

import click

from stubcollector.services import reconcile

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
        f"events recovered: {report.events_recovered}, retried: {report.events_retried}"
    )
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if report.errors:
        raise SystemExit(1)
