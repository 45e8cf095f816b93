"""``flask marketplace ...``: operator commands for the marketplace."""

from __future__ import annotations

import click

from stubcollector.services import checkout

marketplace_cli = click.Group("marketplace", help="Marketplace maintenance.")


@marketplace_cli.command("release-expired")
def release_expired() -> None:
    """Release reservations whose time ran out and cancel their unpaid orders.

    Safe to run at any time and as often as wanted (the scheduler runs the same job,
    ``marketplace.release_expired``, every minute when one is configured).
    """
    released = checkout.release_expired()
    for item in released:
        holder = "nobody" if item.buyer_id is None else f"user {item.buyer_id}"
        orders = ", ".join(str(order_id) for order_id in item.cancelled_order_ids) or "none"
        click.echo(
            f"released listing {item.listing_id} (held by {holder}); cancelled orders: {orders}"
        )
    click.echo(f"{len(released)} expired reservation(s) released")
