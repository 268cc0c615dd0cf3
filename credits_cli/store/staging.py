"""An import's staging: the file's rows wait in temporary tables until all are valid."""

from __future__ import annotations

from .base import Store


class Staging(Store):
    """An import's staging: the file's rows wait in temporary tables until all are valid."""
