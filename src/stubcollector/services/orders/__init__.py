"""Orders: from checkout's new order to its sale, receipt, refunds and disputes.

Import the module you need; each owns one part of an order's life:

- ``state``: who changes an order (``Actor``) and :func:`state.move`, the one function
  that changes its status (transition check, compare-and-swap, audit entry); loading and
  locking an order and its payment.
- ``payments``: the provider's payment outcomes (``apply_payment_*``) and the buyer's
  receipt (``complete_order``).
- ``refund_ledger``: each order's refunds as recorded (attempts, what the provider says
  about them) and what they mean for the payment and order; ``settle_refund``.
- ``refunds``: the refund flow's entry points: ``request_refund``, ``recheck_refunds`` and
  the refund events (``apply_refund``, ``apply_refund_update``).
- ``disputes``: charge disputes (``apply_dispute``), recorded whatever their order's fate.
- ``evidence``: answering disputes: the seller's and admins' lists, evidence and files sent
  through the gateway.
- ``costs``: what each order cost, read from the provider's balance transactions (the one
  fee reader for webhooks and reconciliation).
- ``views``: what readers see: ``OrderView`` (``get_order``), ``my_orders``, payout dates,
  ``orders_by_status``.

The ``apply_*`` functions are the only code that turns provider facts (webhooks,
reconciliation) into order changes; they are idempotent and order-independent, so every
delivery order of the same events ends in the same state. Provider calls are never made
inside a database transaction.
"""
