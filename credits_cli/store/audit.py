"""What `check` and `doctor` read: recomputations of derived data, seals, guards, the file's health."""

from __future__ import annotations

from .base import Store


class Audit(Store):
    """What `check` and `doctor` read: recomputations of derived data, seals, guards, the file's health."""
