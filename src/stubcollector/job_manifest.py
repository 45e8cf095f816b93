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
"""

from __future__ import annotations

from types import ModuleType

from stubcollector.adapters.payments.sandbox import gateway as sandbox_gateway
from stubcollector.services import marketplace, onboarding, reconcile, stubs, webhooks

JOB_MODULES: tuple[ModuleType, ...] = (
    stubs,  # stubs.read
    webhooks,  # payments.dispatch_events, payments.process_event
    reconcile,  # payments.reconcile (periodic)
    onboarding,  # payments.refresh_accounts (periodic)
    marketplace,  # marketplace.release_expired (periodic)
    sandbox_gateway,  # sandbox.deliver_event
)
