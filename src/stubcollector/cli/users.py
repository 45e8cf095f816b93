"""``flask users ...``: operator commands for user accounts (``make admin``)."""

from __future__ import annotations

import os
import sys

import click

from stubcollector.domain.errors import DomainError
from stubcollector.services import accounts

users_cli = click.Group("users", help="Manage user accounts.")

# The password without a prompt: for scripts, CI and `ADMIN_PASSWORD=... make admin ...`.
PASSWORD_VARIABLE = "ADMIN_PASSWORD"  # noqa: S105 - the name of a variable, not a password


def _admin_password(from_stdin: bool) -> str:
    """``ADMIN_PASSWORD``; else the first line of standard input when it is not a terminal
    (a pipe or a file: read once, with no prompt and none of getpass's "may be echoed"
    warning); else asked at the terminal, hidden, twice so that a typo cannot slip in."""
    password = os.environ.get(PASSWORD_VARIABLE, "")
    if password:
        return password
    if from_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.ClickException(
                f"no password: set {PASSWORD_VARIABLE} or send it on standard input"
            )
        return password
    return str(
        click.prompt(
            "Password (at least 10 characters)",
            hide_input=True,
            confirmation_prompt="Repeat the password",
        )
    )


@users_cli.command("create-admin")
@click.option("--username", required=True)
@click.option("--email", required=True)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (the default whenever "
    "standard input is not a terminal).",
)
def create_admin(username: str, email: str, password_stdin: bool) -> None:
    """Create an admin account (or promote an existing user to admin).

    The password: ADMIN_PASSWORD if set, else the first line of standard input when it is
    not a terminal, else asked twice at the terminal (hidden).
    """
    password = _admin_password(password_stdin)
    try:
        user = accounts.create_admin(username, email, password)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"admin ready: {user.username} (id {user.id})")
