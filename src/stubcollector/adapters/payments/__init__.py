"""Payment providers behind one interface (see ``ports.py``), chosen from configuration."""

from __future__ import annotations

from collections.abc import Callable, Collection

from stubcollector.adapters.jobs import JobQueue
from stubcollector.adapters.payments.ports import PaymentGateway, WebhookEndpoint
from stubcollector.config import ConfigError, Settings

__all__ = ["WebhookReceiver", "build_payment_gateway"]

# ``receiver(endpoint, raw_body, stripe_signature_header)``: the webhook ingestion.
WebhookReceiver = Callable[[WebhookEndpoint, bytes, str], object]


def build_payment_gateway(
    settings: Settings,
    *,
    jobs: JobQueue,
    webhook_receiver: WebhookReceiver | None = None,
    subscribed_events: Collection[str] | None = None,
    base_url: Callable[[], str] | None = None,
) -> PaymentGateway:
    """The one place that picks the payment backend (``PAYMENTS_BACKEND``).

    The sandbox delivers its signed events to ``webhook_receiver``: the same ingestion
    function the webhook endpoints call, so verification and handlers are shared. Like a
    Stripe endpoint, it sends only the ``subscribed_events`` types (all when None); its
    links (onboarding, checkout, dashboard) start with ``base_url()``.
    """
    if settings.payments_backend == "sandbox":
        from stubcollector.adapters.payments.sandbox.gateway import SandboxGateway

        return SandboxGateway(
            settings,
            jobs=jobs,
            receiver=webhook_receiver,
            subscribed_events=subscribed_events,
            base_url=base_url,
        )
    if settings.payments_backend == "stripe":
        from stubcollector.adapters.payments.stripe_gateway import build_stripe_gateway

        return build_stripe_gateway(settings)
    raise ConfigError(f"unknown PAYMENTS_BACKEND {settings.payments_backend!r}")
