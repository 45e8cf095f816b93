"""The sandbox payment backend (the default without Stripe keys): a local Stripe look-alike.

Everything of it lives in this package: the gateway the app uses (``gateway.py``), its
books (``store.py``), its events (``events.py``), the pages Stripe would host
(``hosted.py``, and ``pages.py`` with the package's ``templates/``), its tables
(``models.py``), their Stripe-shaped JSON (``objects.py``), the test cards (``cards.py``)
and Stripe's signature scheme (``signing.py``). Only ``pages.py`` imports Flask.

Nothing is imported here, so that ``stubcollector.models`` can register the sandbox's
tables without loading the gateway; import each name from its module.
"""
