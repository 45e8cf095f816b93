"""Declaring JSON endpoints: request validation and the OpenAPI document from one source.

``@api_endpoint(body=RegisterRequest, responses={201: UserEnvelope})`` validates the JSON
body against the pydantic model and passes the parsed object to the view as ``body``; the
same model (and the declared responses) feed ``/openapi.json``. A view cannot take input
that its spec does not describe, so the two cannot drift apart.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from stubcollector.domain.errors import ValidationFailed
from stubcollector.web.current import require_admin, require_user
from stubcollector.web.schemas import ResponseSpec

P = ParamSpec("P")
R = TypeVar("R")
M = TypeVar("M", bound=BaseModel)

SPEC_ATTRIBUTE = "__api_spec__"


@dataclass(frozen=True)
class EndpointSpec:
    summary: str
    tags: tuple[str, ...]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    multipart: dict[str, Any] | None = None
    responses: dict[int, ResponseSpec] = field(default_factory=dict)
    auth: bool = False
    admin: bool = False
    description: str | None = None
    # Error codes the view itself answers beyond those implied by its inputs (e.g. 401 from
    # a login with wrong credentials); documented with the error envelope.
    errors: tuple[int, ...] = ()


def api_endpoint(
    *,
    summary: str,
    tags: tuple[str, ...] | list[str] = (),
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    multipart: dict[str, Any] | None = None,
    responses: dict[int, ResponseSpec] | None = None,
    auth: bool = False,
    admin: bool = False,
    description: str | None = None,
    errors: tuple[int, ...] = (),
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Attach a spec to a view and validate its body/query before the view runs.

    ``auth=True`` (login required) and ``admin=True`` (admins only) are checked *before*
    the input is validated: a caller who may not use the endpoint gets 401/403 whatever
    they send, and learns nothing about which inputs it would refuse.
    """
    spec = EndpointSpec(
        summary=summary,
        tags=tuple(tags),
        body=body,
        query=query,
        multipart=multipart,
        responses=dict(responses or {}),
        auth=auth or admin,
        admin=admin,
        description=description,
        errors=tuple(errors),
    )

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if spec.admin:
                require_admin()
            elif spec.auth:
                require_user()
            if spec.body is not None:
                kwargs["body"] = parse_json_body(spec.body)
            if spec.query is not None:
                kwargs["query"] = parse_query(spec.query)
            return view(*args, **kwargs)

        setattr(wrapper, SPEC_ATTRIBUTE, spec)
        return wrapper

    return decorate


def read_json_object() -> dict[str, Any]:
    """The request body as a JSON object, or a clear 415/400."""
    if not request.is_json:
        raise UnsupportedMediaType("Content-Type must be application/json")
    data = request.get_json(silent=True)
    if data is None:
        raise BadRequest("request body is not valid JSON")
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object")
    return data


def parse_json_body(model: type[M]) -> M:
    return validate(model, read_json_object())


def parse_query(model: type[M]) -> M:
    # Repeated parameters keep their first value; models declare lists explicitly if needed.
    raw = {key: request.args.get(key) for key in request.args}
    return validate(model, raw)


def validate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed.many(_field_errors(exc)) from None


def _field_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        name = ".".join(str(part) for part in error["loc"]) or "body"
        message = str(error["msg"])
        if error["type"] == "extra_forbidden":
            message = "is not a known field"
        elif error["type"] == "missing":
            message = "is required"
        errors.setdefault(name, message)
    return errors
