"""Errors in the marketplace's own terms.

They carry no HTTP status codes: ``stubcollector.web.errors`` is the one place that maps
them to responses, so services stay usable from the CLI, workers and tests.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base class for every expected, user-facing failure."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(DomainError):
    """Input is malformed or breaks a rule; ``field`` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.errors: dict[str, str] = {field: message}

    @classmethod
    def many(cls, errors: dict[str, str]) -> ValidationFailed:
        first_field, first_message = next(iter(errors.items()))
        error = cls(first_field, first_message)
        error.errors = dict(errors)
        if len(errors) > 1:
            error.message = "; ".join(f"{f}: {m}" for f, m in errors.items())
        return error


class NotFound(DomainError):
    """The object does not exist, or the caller may not know that it does."""


class AuthenticationRequired(DomainError):
    """The caller must log in first."""


class AuthenticationFailed(DomainError):
    """Credentials did not match. Deliberately vague about which part was wrong."""


class PermissionDenied(DomainError):
    """The caller is known but may not do this."""


class Conflict(DomainError):
    """The request clashes with the current state (already taken, already sold, ...)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidTransition(Conflict):
    """An order or listing cannot move from its current status to the requested one."""


class UnsupportedMedia(DomainError):
    """The uploaded content is not of an accepted type."""


class PayloadTooLarge(DomainError):
    """The upload or body exceeds a configured limit."""


class ServiceUnavailable(DomainError):
    """A dependency (payment provider, queue, database) is down; the caller may retry."""
