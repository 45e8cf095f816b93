"""The sandbox payment backend (the default without Stripe keys): a local Stripe look-alike.

The gateway the app uses (``gateway.py``), its books (``store.py``), its events
(``events.py``), what its hosted pages do (``hosted.py``), the Stripe-shaped JSON of its
objects (``objects.py``), the test cards (``cards.py``) and Stripe's signature scheme
(``signing.py``). Its tables are in ``models/sandbox.py``, its pages in ``web/sandbox.py``.

Nothing is imported here; import each name from its module.
"""
