"""The ``flask`` commands for operators: one module per command group.

==============  ==============================  =========================================
group           module                          commands
==============  ==============================  =========================================
``users``       ``cli/users.py``                ``create-admin``
``demo``        ``cli/demo.py``                 ``seed``
``jobs``        ``cli/jobs.py``                 ``worker``, ``scheduler``, ``status``,
                                                ``failed``, ``replay``
``payments``    ``cli/payments.py``             ``reconcile``, ``refresh-accounts``
``marketplace`` ``cli/marketplace.py``          ``release-expired``
``stubs``       ``cli/stubs.py``                ``refresh-search``
==============  ==============================  =========================================

Commands are thin: they parse options, call one service function and print its report.
A command that does by hand what a periodic job does has the job's name: ``flask payments
refresh-accounts`` runs what the job ``payments.refresh_accounts`` runs (docs/JOBS.md).
"""

from __future__ import annotations

from flask import Flask

from stubcollector.cli.demo import demo_cli
from stubcollector.cli.jobs import jobs_cli
from stubcollector.cli.marketplace import marketplace_cli
from stubcollector.cli.payments import payments_cli
from stubcollector.cli.stubs import stubs_cli
from stubcollector.cli.users import users_cli


def register_commands(app: Flask) -> None:
    """Add every command group to ``app.cli`` (``create_app`` calls this)."""
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(payments_cli)
    app.cli.add_command(marketplace_cli)
    app.cli.add_command(stubs_cli)
