"""The app factory, health check, OpenAPI document and security headers."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from stubcollector.web.api_endpoint import SPEC_ATTRIBUTE
from stubcollector.web.openapi import is_api_rule


def test_healthz_answers_with_the_database_up(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "success", "database": "up"}


def test_readyz_reports_the_database_up_and_redis_not_configured(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "success", "database": "up", "redis": "not_configured"}


def test_every_api_route_is_in_the_openapi_document(app: Flask, client: FlaskClient) -> None:
    spec = client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.")
    missing = []
    for rule in app.url_map.iter_rules():
        if not is_api_rule(rule.rule):
            continue
        view = app.view_functions[rule.endpoint]
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            documented = spec["paths"].get(path, {}).get(method.lower())
            if documented is None or not hasattr(view, SPEC_ATTRIBUTE):
                missing.append(f"{method} {rule.rule}")
    assert not missing, f"undocumented API routes: {missing}"


def test_openapi_describes_request_bodies(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").json
    register = spec["paths"]["/auth/register"]["post"]
    ref = register["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(schema["required"]) == {"username", "email", "password"}
    assert "422" in register["responses"]
    assert "409" in register["responses"]


def test_security_headers_on_every_response(client: FlaskClient) -> None:
    for path in ("/", "/healthz"):
        response = client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_html_pages_get_an_html_error_page(client: FlaskClient) -> None:
    response = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert b"Traceback" not in response.data


def test_cors_only_for_configured_origins(make_app: object) -> None:
    app = make_app(cors_origins=("https://front.example",))  # type: ignore[operator]
    client = app.test_client()
    allowed = client.options(
        "/auth/me",
        headers={"Origin": "https://front.example", "Access-Control-Request-Method": "GET"},
    )
    assert allowed.headers.get("Access-Control-Allow-Origin") == "https://front.example"
    assert allowed.headers.get("Access-Control-Allow-Credentials") == "true"
    denied = client.options(
        "/auth/me",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "Access-Control-Allow-Origin" not in denied.headers
