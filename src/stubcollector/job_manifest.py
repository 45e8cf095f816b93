"""Every module that registers a background job, imported in one place.

A job is registered when the module defining its ``@job`` / ``@periodic`` function is
imported. A worker that has not imported that module cannot run the job (its queue entry
fails with "no job named ..."), and a scheduler that has not imported it never enqueues
it. So the registry must not depend on which modules some other import happens to pull
in: ``create_app`` imports this manifest, and every process that runs jobs — web
processes, ``flask jobs worker``, ``flask jobs scheduler`` — builds its app with
``create_app`` and so sees the same registry.

A module that adds a ``@job`` or ``@periodic`` goes into ``JOB_MODULES`` below, and the
job into the table in docs/JOBS.md; ``tests/unit/test_job_manifest.py`` fails until both
are done.

One name per job and command: a periodic job is named after the command that runs it by
hand, ``flask <group> <command>`` runs the job ``<group>.<command>`` (``flask payments
refresh-accounts`` is ``payments.refresh_accounts``), so a name seen in a log line, a
metric or ``flask jobs failed`` leads to its command. Where they differed the job was
renamed rather than the command, which people type and runbooks quote; the job keeps its
former name for entries still queued under it (docs/JOBS.md, "Renaming a job").
"""

from __future__ import annotations

from types import ModuleType

from stubcollector.adapters.payments.sandbox import events as sandbox_events
from stubcollector.services import checkout, onboarding, reconcile, stubs, webhooks

JOB_MODULES: tuple[ModuleType, ...] = (
    stubs,  # stubs.read
    webhooks,  # payments.dispatch_events, payments.process_event
    reconcile,  # payments.reconcile (periodic)
    onboarding,  # payments.refresh_accounts (periodic)
    checkout,  # marketplace.release_expired (periodic)
    sandbox_events,  # sandbox.deliver_event
)
