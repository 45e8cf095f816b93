"""The sandbox payment backend (the default without Stripe keys): a local Stripe look-alike.

The gateway the app uses (``gateway.py``), its books (``store.py``), its events
(``events.py``), what its hosted pages do (``hosted.py``), its tables (``models.py``), their
Stripe-shaped JSON (``objects.py``), the test cards (``cards.py``) and Stripe's signature
scheme (``signing.py``). Its pages are in ``web/sandbox.py``.

Nothing is imported here, so that ``stubcollector.models`` can register the sandbox's
tables without loading the gateway; import each name from its module.
"""
