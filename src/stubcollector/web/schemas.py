"""Schemas shared by every JSON endpoint (request models live beside their blueprint)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class RequestModel(BaseModel):
    """Base for request bodies: unknown fields are refused, strings are trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class QueryModel(BaseModel):
    """Base for query strings: unknown parameters are ignored (caches and trackers add some)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class ErrorEnvelope(BaseModel):
    status: Literal["error"]
    message: str
    errors: dict[str, str] | None = None


class SuccessEnvelope(BaseModel):
    status: Literal["success"]
    message: str | None = None
