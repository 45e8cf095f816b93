"""``flask stubs ...``: operator commands for the collection."""

from __future__ import annotations

import click

from stubcollector.services import stubs

stubs_cli = click.Group("stubs", help="Collection maintenance.")


@stubs_cli.command("refresh-search")
@click.option(
    "--all",
    "every_row",
    is_flag=True,
    help="Check every stub's search text, not only stubs without one.",
)
def refresh_search(every_row: bool) -> None:
    """Write the folded search text of stubs that have none.

    Migration w001 fills it for every stub stored when it runs; a stub the previous
    release wrote while the new one was being deployed has none until this runs (or it is
    saved again). With --all, every stub is checked and rewritten where its text differs
    (after a change to the folding in domain/search_text.py). Batches of 1,000 stubs, each
    committed on its own: safe while the app serves, and safe to run again.
    """
    done = stubs.refresh_search_text(every_row=every_row)
    click.echo(f"{done.read} stub(s) read, search text written for {done.written}")
