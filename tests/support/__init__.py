"""Helpers that more than one test module uses, one module per concern.

Test modules import shared helpers from here: not from a ``conftest.py`` (which holds
fixtures and what only they use, and imports the rest from here) and not from other test
modules. The one exception is the authorization matrix's table (``ROWS`` in
``tests/e2e/test_authorization_matrix.py``), which the CSRF tests walk too: it is that
test's data, not a helper. A helper that one test module uses stays next to that module.

- ``factories``: factory_boy factories, and ``TEST_PASSWORD``, the password of every user
  they make;
- ``clients``: logging in, and a test client of their own for each user of a test;
- ``database``: a row as the database has it now, row counts, every table's rows, the
  statements a request runs;
- ``pages``: HTML pages in the test client (the accept header, CSRF tokens, field errors);
- ``payments``: the sandbox payment backend from a test: onboarded sellers, listings,
  paying with a test card, our webhook endpoint down;
- ``stripe_events``: Stripe's fixture objects as webhook events, signed;
- ``stripe_fake``: a small stateful Stripe API on 127.0.0.1 for the Stripe adapter;
- ``doubles``: stand-ins for the app's own ports (job queues that defer or record, a
  scripted stub reader);
- ``images``: realistic stub photos; ``crafted_files``: hostile and malformed uploads;
- ``authz``: the authorization matrix's machinery (the world of users, ``Row``, the object
  factories);
- ``api_schema``: the OpenAPI document, and API responses held against it;
- ``servers``: the shared test servers' URLs, and throwaway Redis and PostgreSQL servers;
- ``live_server``: the app behind a real WSGI server (in a thread, or its own process);
- ``browser`` and ``journeys``: what the browser tests share (viewports, screenshots,
  unique names, the steps a person takes through the UI).
"""
