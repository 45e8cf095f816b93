"""Regression tests for what fuzzing and the review of the OpenAPI document found.

Each case names its origin; see docs/SECURITY.md, "Fuzzing findings".
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from stubcollector.web.routing import MAX_PATH_INT
from tests.support.api_schema import openapi_document
from tests.support.clients import AuthActions
from tests.support.factories import UserFactory


class TestDocumentedStatusCodes:
    def test_login_with_wrong_credentials_is_a_documented_401(self, client: FlaskClient) -> None:
        # Schemathesis (status_code_conformance): the login answered 401, undocumented.
        response = client.post("/auth/login", json={"login": "0", "password": "nope"})
        assert response.status_code == 401
        assert "401" in openapi_document(client)["paths"]["/auth/login"]["post"]["responses"]

    def test_health_failure_body_is_documented(self, client: FlaskClient) -> None:
        responses = openapi_document(client)["paths"]["/healthz"]["get"]["responses"]
        ref = responses["503"]["content"]["application/json"]["schema"]["$ref"]
        schema = openapi_document(client)["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert set(schema["required"]) == {"status", "message", "database"}


class TestOutOfRangeIds:
    @pytest.mark.parametrize(
        "user_id", [str(MAX_PATH_INT + 1), "9223372036854775808", "9" * 40, "-1"]
    )
    def test_ids_no_column_can_hold_are_404_not_500(
        self, client: FlaskClient, user_id: str
    ) -> None:
        # Review of the path parameter schema: SQLite raised OverflowError past 2**63 (500).
        response = client.get(f"/api/users/{user_id}")
        assert response.status_code == 404
        assert response.json["status"] == "error"

    def test_the_document_states_the_bounds(self, client: FlaskClient) -> None:
        parameter = openapi_document(client)["paths"]["/api/users/{user_id}"]["get"]["parameters"][
            0
        ]
        assert parameter["schema"] == {"type": "integer", "minimum": 0, "maximum": MAX_PATH_INT}

    def test_the_largest_id_is_routed(self, client: FlaskClient) -> None:
        assert client.get(f"/api/users/{MAX_PATH_INT}").status_code == 404
        user = UserFactory.create()
        assert client.get(f"/api/users/{user.id}").status_code == 200


class TestNulCharacters:
    """PostgreSQL text cannot hold NUL: psycopg raised DataError, a 500, before the check."""

    @pytest.mark.parametrize(
        ("path", "body", "field"),
        [
            ("/auth/login", {"login": "alice\x00", "password": "whatever 123"}, "login"),
            (
                "/auth/register",
                {"username": "ali\x00ce", "email": "a@example.com", "password": "long pass 123"},
                "username",
            ),
        ],
    )
    def test_nul_in_a_body_is_422(
        self, client: FlaskClient, path: str, body: dict[str, str], field: str
    ) -> None:
        response = client.post(path, json=body)
        assert response.status_code == 422
        assert field in response.json["errors"]

    def test_nul_in_a_profile_edit_is_422(self, logged_in_client: FlaskClient) -> None:
        response = logged_in_client.patch("/auth/me", json={"bio": "hello\x00world"})
        assert response.status_code == 422
        assert "bio" in response.json["errors"]


def _open_objects(
    schema: Any, components: dict[str, Any], seen: set[str] | None = None
) -> list[str]:
    """Names of the object schemas reachable from ``schema`` that accept undeclared fields."""
    seen = set() if seen is None else seen
    found: list[str] = []
    if isinstance(schema, dict):
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            if name in seen:
                return []
            seen.add(name)
            target = components[name]
            if target.get("type") == "object" and target.get("additionalProperties") is not False:
                found.append(name)
            return found + _open_objects(target, components, seen)
        if (
            schema.get("type") == "object"
            and "properties" in schema
            and schema.get("additionalProperties") is not False
        ):
            found.append(schema.get("title", "inline object"))
        for value in schema.values():
            found += _open_objects(value, components, seen)
    elif isinstance(schema, list):
        for value in schema:
            found += _open_objects(value, components, seen)
    return found


class TestTheDocumentIsStrict:
    def test_every_response_schema_is_closed(self, client: FlaskClient) -> None:
        # Open schemas let the response-conformance check pass whatever the view returns.
        # Nested objects count too: an open `stub` inside a closed envelope hid extra fields.
        document = openapi_document(client)
        components = document["components"]["schemas"]
        open_schemas = []
        for path, methods in document["paths"].items():
            for method, operation in methods.items():
                for code, response in operation["responses"].items():
                    where = f"{method.upper()} {path} {code}"
                    content = response.get("content", {})
                    if not content:
                        # Only a redirect may come without a body, and it names its target.
                        if not (code.startswith("3") and "Location" in response.get("headers", {})):
                            open_schemas.append(f"{where}: no body and no Location")
                        continue
                    for media_type, body in content.items():
                        if media_type == "application/json":
                            open_schemas += [
                                f"{where}: {name}"
                                for name in _open_objects(body["schema"], components)
                            ]
                        elif not media_type.startswith("image/") or body["schema"] != {
                            "type": "string",
                            "format": "binary",
                        }:
                            open_schemas.append(f"{where}: {media_type} is not a declared file")
        assert not open_schemas

    def test_query_parameters_are_never_null(self, app: Flask, client: FlaskClient) -> None:
        for methods in openapi_document(client)["paths"].values():
            for operation in methods.values():
                for parameter in operation.get("parameters", []):
                    assert "null" not in str(parameter["schema"]), parameter


def test_every_undocumented_method_is_a_json_405_with_allow(client: FlaskClient) -> None:
    # Schemathesis' unsupported-method idea, over every path of the document.
    document = openapi_document(client)
    for template, operations in document["paths"].items():
        path = template
        for parameter in next(iter(operations.values())).get("parameters", []):
            if parameter["in"] == "path":
                path = path.replace("{" + parameter["name"] + "}", "1")
        documented = {method.upper() for method in operations}
        for method in {"GET", "POST", "PUT", "PATCH", "DELETE"} - documented:
            response = client.open(path, method=method, json={})
            assert response.status_code == 405, f"{method} {path}"
            assert response.json["status"] == "error"
            allowed = {m.strip() for m in response.headers["Allow"].split(",")}
            assert allowed - {"HEAD", "OPTIONS"} == documented, f"{method} {path}"


class TestAuthorizationBeforeValidation:
    """Fuzzing as a logged-in user: the admin-only audit log answered 422, not 403, to a
    non-admin sending a malformed filter; the decorator now checks access first."""

    def test_non_admin_with_a_bad_filter_is_403(
        self, client: FlaskClient, auth: AuthActions
    ) -> None:
        user = UserFactory.create()
        auth.login(user.username)
        response = client.get("/api/admin/audit-log", query_string={"per_page": "0"})
        assert response.status_code == 403

    def test_anonymous_with_a_bad_body_is_401(self, client: FlaskClient) -> None:
        response = client.patch("/auth/me", json={"no_such_field": 1})
        assert response.status_code == 401


class TestPhaseTwoFindings:
    """Found by fuzzing the collection, marketplace and payments endpoints (phase 2)."""

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("PATCH", "/api/marketplace/listings/13349721624330134"),
            ("DELETE", "/api/marketplace/listings/13349721624330134"),
            ("PATCH", f"/api/stubs/{MAX_PATH_INT + 1}"),
            ("DELETE", "/api/stubs/99999999999"),
            ("POST", f"/api/payments/orders/{MAX_PATH_INT + 1}/refund"),
        ],
    )
    def test_an_id_past_the_router_bound_is_404_for_every_method(
        self, client: FlaskClient, method: str, path: str
    ) -> None:
        # status_code_conformance: werkzeug counted the GET rule on the same path as "the
        # path exists" and answered 405 to PATCH/DELETE with an id it could not convert.
        response = client.open(path, method=method, json={})
        assert response.status_code == 404
        assert response.json["status"] == "error"

    def test_a_real_405_is_still_a_405(self, client: FlaskClient) -> None:
        response = client.put("/api/stubs/1", json={})
        assert response.status_code == 405
        assert "PATCH" in response.headers["Allow"]

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/api/payments/connect/status"),
            ("GET", "/api/payments/connect/balance"),
            ("GET", "/api/payments/connect/dashboard"),
            ("GET", "/api/payments/onboard/return"),
            ("GET", "/api/payments/onboard/refresh"),
        ],
    )
    def test_no_seller_account_yet_is_a_documented_404(
        self, client: FlaskClient, auth: AuthActions, method: str, path: str
    ) -> None:
        # status_code_conformance: a user who never started onboarding got an undocumented 404.
        auth.login(UserFactory.create().username)
        response = client.open(path, method=method)
        assert response.status_code == 404
        assert "onboarding" in response.json["message"]
        assert "404" in openapi_document(client)["paths"][path]["get"]["responses"]

    def test_checkout_of_a_missing_listing_is_a_documented_404(
        self, client: FlaskClient, auth: AuthActions
    ) -> None:
        auth.login(UserFactory.create().username)
        response = client.post("/api/payments/create-payment-intent", json={"listing_id": 1})
        assert response.status_code == 404
        operation = openapi_document(client)["paths"]["/api/payments/create-payment-intent"]["post"]
        assert "404" in operation["responses"]

    @pytest.mark.parametrize("path", ["/api/payments/webhook", "/api/payments/webhook/connect"])
    def test_an_unsigned_webhook_is_a_documented_400(self, client: FlaskClient, path: str) -> None:
        # status_code_conformance: the missing Stripe-Signature answer (400) was undocumented.
        response = client.post(path, data=b"{}", content_type="application/json")
        assert response.status_code == 400
        assert {"400", "403"} <= set(openapi_document(client)["paths"][path]["post"]["responses"])

    def test_stored_images_are_documented_as_image_files(self, client: FlaskClient) -> None:
        responses = openapi_document(client)["paths"]["/api/stubs/{stub_id}/image"]["get"][
            "responses"
        ]
        assert set(responses["200"]["content"]) == {"image/png", "image/jpeg"}
