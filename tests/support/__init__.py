"""Helpers that more than one test module uses, one module per concern.

Test modules import shared helpers from here and from nowhere else: not from
``conftest.py`` (which only holds fixtures, and imports what it needs from here) and not
from other test modules. A helper that one test module uses stays next to that module.

- ``factories``: factory_boy factories and ``TEST_PASSWORD``, the password of every user
  they make;
- ``clients``: logging in and one test client per user;
- ``database``: looking at the database from a test (a row reloaded, every table's rows,
  the statements a request runs);
- ``pages``: reading HTML pages in the test client (CSRF tokens, field errors);
- ``payments``: the sandbox payment backend from a test: onboarded sellers, listings,
  paying with a test card;
- ``stripe_events``: Stripe's fixture objects as webhook events, signed;
- ``stripe_fake``: a small stateful Stripe API on 127.0.0.1 for the Stripe adapter;
- ``doubles``: stand-ins for the app's own ports (a job queue the test runs, a scripted
  stub reader);
- ``images``: realistic stub photos; ``crafted_files``: hostile and malformed uploads;
- ``authz``: the authorization matrix's machinery (the world of users, ``Row``, the
  object factories);
- ``api_schema``: API responses held against ``/openapi.json``;
- ``servers``: the shared test servers' URLs and throwaway Redis/PostgreSQL servers;
- ``live_server``: the app behind a real WSGI server (a thread, or its own process);
- ``browser`` and ``journeys``: what the browser tests share (viewports, screenshots, the
  steps a person takes through the UI).
"""
