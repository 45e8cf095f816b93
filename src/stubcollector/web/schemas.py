"""Schemas shared by every JSON endpoint (request models live beside their blueprint)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator


def check_plain_text(value: Any) -> Any:
    """Refuse NUL characters in text.

    SQLite stores them, but PostgreSQL text cannot hold them: psycopg raises before the
    query runs, which surfaced as a 500. (Lone surrogates are already refused by pydantic.)
    """
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


class RequestModel(BaseModel):
    """Base for request bodies: unknown fields are refused, strings are trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _plain_text(cls, value: Any) -> Any:
        return check_plain_text(value)


class QueryModel(BaseModel):
    """Base for query strings: unknown parameters are ignored (caches and trackers add some)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _plain_text(cls, value: Any) -> Any:
        return check_plain_text(value)


class ResponseModel(BaseModel):
    """Base for response schemas: closed (``additionalProperties: false``) in the OpenAPI
    document, so the fuzzer's response-conformance check catches any undeclared field."""

    model_config = ConfigDict(extra="forbid")


class ErrorEnvelope(ResponseModel):
    status: Literal["error"]
    message: str
    errors: dict[str, str] | None = None


class SuccessEnvelope(ResponseModel):
    status: Literal["success"]
    message: str | None = None


@dataclass(frozen=True)
class FileResponse:
    """A response whose body is a file, not JSON: documented with its media types, so the
    fuzzer's content-type check holds the view to them."""

    media_types: tuple[str, ...]


@dataclass(frozen=True)
class RedirectResponse:
    """A redirect without a body: documented with its ``Location`` header."""

    description: str = "Redirect to the Location header"


ResponseSpec = type[BaseModel] | FileResponse | RedirectResponse | None
