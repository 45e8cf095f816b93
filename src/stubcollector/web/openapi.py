"""``/openapi.json``: built at run time from the routes and their ``@api_endpoint`` specs."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from werkzeug.routing import IntegerConverter, Rule

from stubcollector.web.api_endpoint import SPEC_ATTRIBUTE, EndpointSpec
from stubcollector.web.schemas import ErrorEnvelope, FileResponse, RedirectResponse

bp = Blueprint("openapi", __name__)

_CONVERTER = re.compile(r"<(?:(?P<conv>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_ERROR_TEXT = {
    400: "Malformed request",
    401: "Login required",
    403: "Not allowed",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "Too large",
    415: "Unsupported media type",
    422: "Validation failed; `errors` names each field",
    429: "Too many requests",
    503: "A dependency is unavailable; retry later",
}
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def api_paths(app: Flask) -> list[tuple[Rule, str, Any]]:
    """(rule, method, view) for every route of the app (the spec keeps the declared ones)."""
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule, method, view))
    return found


def is_api_rule(rule: str) -> bool:
    return rule.startswith(("/api/", "/auth/")) or rule in ("/healthz", "/readyz")


def build_spec(app: Flask) -> dict[str, Any]:
    components: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}

    def ref(model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            components[name] = definition
        components[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    error_ref = ref(ErrorEnvelope)
    for rule, method, view in api_paths(app):
        spec: EndpointSpec | None = getattr(view, SPEC_ATTRIBUTE, None)
        if spec is None:
            continue
        path, parameters = _openapi_path(rule)
        operation: dict[str, Any] = {
            "summary": spec.summary,
            "operationId": f"{method.lower()}_{view.__name__}_{len(paths)}",
            "tags": list(spec.tags),
            "responses": {},
        }
        if spec.description:
            operation["description"] = spec.description
        if spec.query is not None:
            parameters += _query_parameters(spec.query)
        if parameters:
            operation["parameters"] = parameters
        if spec.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(spec.body)}},
            }
        elif spec.multipart is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"multipart/form-data": {"schema": spec.multipart}},
            }
        for code, model in sorted(spec.responses.items()):
            response: dict[str, Any] = {
                "description": "Success" if code < 400 else _ERROR_TEXT.get(code, "Error")
            }
            if isinstance(model, FileResponse):
                response["content"] = {
                    media_type: {"schema": {"type": "string", "format": "binary"}}
                    for media_type in model.media_types
                }
            elif isinstance(model, RedirectResponse):
                response["description"] = model.description
                response["headers"] = {"Location": {"required": True, "schema": {"type": "string"}}}
            elif model is not None:
                response["content"] = {"application/json": {"schema": ref(model)}}
            operation["responses"][str(code)] = response
        for code in _implied_errors(spec, method, bool(parameters)) + list(spec.errors):
            operation["responses"].setdefault(
                str(code),
                {
                    "description": _ERROR_TEXT[code],
                    "content": {"application/json": {"schema": error_ref}},
                },
            )
        if spec.auth:
            operation["security"] = [{"sessionCookie": []}]
        paths.setdefault(path, {})[method.lower()] = operation

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Stub Collector API",
            "version": "1",
            "description": "Catalogue ticket stubs and sell them to other collectors.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "session"}
            },
        },
    }


def _implied_errors(spec: EndpointSpec, method: str, has_parameters: bool) -> list[int]:
    codes = [429, 503]
    if spec.auth:
        codes += [401, 403]
    if spec.body is not None or spec.query is not None or spec.multipart is not None:
        codes += [400, 422]
    if spec.body is not None or method in _UNSAFE:
        codes += [415]
    if spec.multipart is not None:
        codes += [413]
    if has_parameters:
        codes += [404, 422]
    if method in _UNSAFE:
        codes += [409]
    return sorted(set(codes))


def _openapi_path(rule: Rule) -> tuple[str, list[dict[str, Any]]]:
    parameters: list[dict[str, Any]] = []
    converters: dict[str, Any] = rule._converters

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        parameters.append(
            {"name": name, "in": "path", "required": True, "schema": _path_schema(converters[name])}
        )
        return "{" + name + "}"

    return _CONVERTER.sub(replace, rule.rule), parameters


def _path_schema(converter: Any) -> dict[str, Any]:
    """The values the router accepts; anything else is a 404 before the view runs."""
    if isinstance(converter, IntegerConverter):
        schema: dict[str, Any] = {"type": "integer"}
        if converter.min is not None:
            schema["minimum"] = converter.min
        elif not converter.signed:
            schema["minimum"] = 0
        if converter.max is not None:
            schema["maximum"] = converter.max
        return schema
    # werkzeug's default converter: one non-empty segment without "/".
    return {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": _absent_not_null(prop),
        }
        for name, prop in schema.get("properties", {}).items()
    ]


def _absent_not_null(prop: dict[str, Any]) -> dict[str, Any]:
    """A query string cannot carry null: an optional parameter is simply left out."""
    variants = prop.get("anyOf")
    if not variants:
        return prop
    kept = [variant for variant in variants if variant.get("type") != "null"]
    rest = {key: value for key, value in prop.items() if key not in ("anyOf", "default")}
    if len(kept) == 1:
        return {**rest, **kept[0]}
    return {**rest, "anyOf": kept}


@bp.get("/openapi.json")
def openapi_document() -> ResponseReturnValue:
    return jsonify(build_spec(current_app))
