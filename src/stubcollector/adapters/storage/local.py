"""Images as files in a local folder, under random names sharded into subfolders."""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from pathlib import Path

from stubcollector.adapters.storage.base import StoredImageMissing

# Keys are made here and only here; anything else (a path, "..") is refused outright.
_KEY = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}\.(?:jpg|png)$")
_SUFFIXES = (".jpg", ".png")


class LocalImageStorage:
    def __init__(self, root: Path) -> None:
        self._root = root

    def save(self, data: bytes, *, suffix: str) -> str:
        if suffix not in _SUFFIXES:
            raise ValueError(f"unsupported suffix {suffix!r}")
        name = secrets.token_hex(16)
        key = f"{name[:2]}/{name[2:4]}/{name}{suffix}"
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write aside and rename: a reader never sees half a file, a crash leaves no stub.
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.chmod(temporary, 0o640)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return key

    def load(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise StoredImageMissing(key) from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise StoredImageMissing(key)
        return self._root / key
