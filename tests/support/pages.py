"""Reading HTML pages in the Flask test client as a browser would: asking for HTML, the CSRF
token a page's form carries, and the error a form shows under a field."""

from __future__ import annotations

import html
import re

from flask import g
from flask.testing import FlaskClient

HTML = {"Accept": "text/html"}


def csrf_token(client: FlaskClient, path: str, prefix: str = "") -> str:
    # The `app` fixture keeps one app context open for the whole test, so requests share
    # `g`, where Flask-WTF caches the token of the session it first saw. A browser gets a
    # fresh context per request; drop the cached token to behave like one.
    g.pop("csrf_token", None)
    page = client.get(path, headers=HTML).get_data(as_text=True)
    name = f"{prefix}-csrf_token" if prefix else "csrf_token"
    tag = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', page)
    assert tag, f"no {name} on {path}"
    value = re.search(r'value="([^"]+)"', tag.group(0))
    assert value
    return value.group(1)


def field_error(page: str, name: str) -> str | None:
    found = re.search(rf'<p class="field__error" id="{name}-error">([^<]*)</p>', page)
    return html.unescape(found.group(1)) if found else None
