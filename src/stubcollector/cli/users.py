"""``flask users ...``: operator commands for user accounts (``make admin``)."""

from __future__ import annotations

import click

from stubcollector.domain.errors import DomainError
from stubcollector.services import accounts

users_cli = click.Group("users", help="Manage user accounts.")


@users_cli.command("create-admin")
@click.option("--username", required=True)
@click.option("--email", required=True)
@click.password_option(help="At least 10 characters; prompted for when omitted.")
def create_admin(username: str, email: str, password: str) -> None:
    """Create an admin account (or promote an existing user to admin)."""
    try:
        user = accounts.create_admin(username, email, password)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"admin ready: {user.username} (id {user.id})")
