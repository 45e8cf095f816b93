"""Hold real API responses against the schemas ``/openapi.json`` declares for them.

The fuzzer checks responses against their schemas too, but it only sees what random input
reaches (mostly 4xx and empty lists): a paid, refunded or disputed order never. These
helpers compare a response that a test built on purpose, field by field: every key it
returns must be declared, every required property must be returned, at every depth.
``openapi_document`` reads the document itself, as any client would.
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs
from flask.testing import FlaskClient


def openapi_document(client: FlaskClient) -> dict[str, Any]:
    return dict(client.get("/openapi.json").json)


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = spec["components"]["schemas"][name]
    return schema


def response_schema(spec: dict[str, Any], method: str, path: str, status: int) -> dict[str, Any]:
    """The declared JSON schema of one operation's response (``path`` as in the document)."""
    operation = spec["paths"][path][method.lower()]
    declared = operation["responses"].get(str(status))
    assert declared is not None, f"{method} {path} does not document status {status}"
    schema: dict[str, Any] = declared["content"]["application/json"]["schema"]
    return schema


def field_drift(spec: dict[str, Any], schema: dict[str, Any], value: Any, at: str) -> list[str]:
    """Where ``value`` and ``schema`` disagree on which fields exist, one line per place."""
    schema = resolve(spec, schema)
    if "anyOf" in schema:
        if value is None:
            return []
        variants = [v for v in schema["anyOf"] if resolve(spec, v).get("type") != "null"]
        if len(variants) != 1:
            return []  # a scalar union (string or number): nothing to compare field-wise
        return field_drift(spec, variants[0], value, at)
    if schema.get("type") == "array" and isinstance(value, list):
        problems: list[str] = []
        for index, item in enumerate(value):
            problems += field_drift(spec, schema.get("items", {}), item, f"{at}[{index}]")
        return problems
    if schema.get("type") != "object" or not isinstance(value, dict):
        return []
    properties: dict[str, Any] = schema.get("properties", {})
    if not properties:
        # A map (dict[str, float]): its keys are data, not fields.
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            return [
                problem
                for key, item in value.items()
                for problem in field_drift(spec, extra, item, f"{at}.{key}")
            ]
        return []
    problems = []
    undeclared = sorted(set(value) - set(properties))
    if undeclared:
        problems.append(f"{at or '<body>'} returns undeclared {undeclared}")
    missing = sorted(set(schema.get("required", [])) - set(value))
    if missing:
        problems.append(f"{at or '<body>'} declares as required but does not return {missing}")
    for name, item in value.items():
        if name in properties:
            problems += field_drift(spec, properties[name], item, f"{at}.{name}")
    return problems


def assert_documented(spec: dict[str, Any], method: str, path: str, response: Any) -> Any:
    """Assert that ``response`` (a Flask test response) is exactly what the document says:
    the same fields at every depth, and values of the declared types. Returns its JSON."""
    body = response.json
    schema = response_schema(spec, method, path, response.status_code)
    drift = field_drift(spec, schema, body, "")
    assert not drift, f"{method} {path} drifted from /openapi.json:\n" + "\n".join(drift)
    # Types and enums too: the document's own $refs resolve inside this root.
    validator = jsonschema_rs.Draft202012Validator({**schema, "components": spec["components"]})
    errors = [f"{error.instance_path}: {error.message}" for error in validator.iter_errors(body)]
    assert not errors, f"{method} {path} does not match its schema:\n" + "\n".join(errors)
    return body
