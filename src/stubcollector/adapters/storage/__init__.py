"""Image storage behind :class:`ImageStorage`; the local folder is the default backend."""

from stubcollector.adapters.storage.base import ImageStorage, StoredImageMissing
from stubcollector.adapters.storage.local import LocalImageStorage

__all__ = ["ImageStorage", "LocalImageStorage", "StoredImageMissing"]
