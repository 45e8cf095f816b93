"""Where stub images live, in our own terms: opaque keys in, bytes out."""

from __future__ import annotations

from typing import Protocol


class StoredImageMissing(LookupError):
    """No stored image has this key."""


class ImageStorage(Protocol):
    def save(self, data: bytes, *, suffix: str) -> str:
        """Store ``data`` under a new random key ending in ``suffix``; return the key."""

    def load(self, key: str) -> bytes:
        """The bytes stored under ``key``; :class:`StoredImageMissing` if there are none."""

    def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""
