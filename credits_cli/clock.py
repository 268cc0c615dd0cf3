"""The one place that reads the real time.

Every command takes a single "now": `--now` / `CREDITS_NOW` when given (the
simulation and test clock), else the real UTC time read once.
"""

from __future__ import annotations

from datetime import datetime

from .domain.cycles import UTC, parse_instant


class Clock:
    def __init__(self, override: str | None = None):
        self.override = override or None
        self._real: datetime | None = None

    @property
    def is_set(self) -> bool:
        return self.override is not None

    def now(self, zone=UTC) -> datetime:
        """Now, as an aware UTC datetime. A `--now` without an offset is read in `zone`."""
        if self.override is not None:
            return parse_instant(self.override, "now", zone)
        if self._real is None:
            self._real = datetime.now(UTC)
        return self._real
