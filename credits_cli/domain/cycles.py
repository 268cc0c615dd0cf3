"""Instants, billing cycles and days. Every function takes its instants as
arguments; none reads the clock.

All instants are aware datetimes in UTC. Every interval is half-open: it holds
its start instant and not its end instant.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache

from dateutil.relativedelta import relativedelta

from ..errors import BadInput
from ..records import record
from .money import shown

TYPE_CHECKING = False  # (typing is not imported for this: `credits log` would pay for it)
if TYPE_CHECKING:
    from zoneinfo import ZoneInfo


@record
class Interval:
    start: datetime
    end: datetime

    def __contains__(self, t: datetime) -> bool:
        return self.start <= t < self.end


# --- instants -----------------------------------------------------------------


def parse_zone(name: str, field: str = "timezone", *, strict: bool = False) -> ZoneInfo | timezone:
    """An IANA zone by name, matched ignoring case.

    `strict` (when a zone is being chosen) also refuses names that are files of
    the zone database but not zones of the world ("localtime", "posixrules",
    "Factory"): they would tie the ledger to one machine's settings.
    """
    text = str(name).strip()
    if not text or not text.isprintable() or len(text) > 64:
        raise BadInput(field, f"{shown(name)} is not an IANA time zone such as Europe/Paris")
    if text == "UTC" and not strict:
        return UTC  # the common case, without loading the zone database
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        zone = None
    if zone is not None and not strict:
        return zone
    from zoneinfo import available_timezones  # walks the zone database: only when choosing or guessing

    matches = [z for z in available_timezones() if z.lower() == text.lower()]
    if len(matches) == 1 and matches[0] not in ("Factory", "localtime", "posixrules"):
        return ZoneInfo(matches[0])
    raise BadInput(field, f"unknown time zone {shown(name)}; use an IANA name such as Europe/Paris or UTC")


def parse_instant(text: str, field: str, zone: ZoneInfo | timezone = UTC) -> datetime:
    """Parse an ISO 8601 instant into an aware UTC datetime.

    An instant with an offset (or Z) is exact. A local date-time without one is
    read in `zone` and refused when that local time does not exist or happens
    twice (a DST change); a bare date means its local midnight.
    """
    s = str(text).strip()
    if not s or len(s) > 64 or not s.isascii() or not s.isprintable() or not s[:4].isdigit():
        raise BadInput(field, f"{shown(text)} is not an ISO 8601 instant such as 2026-01-31T09:30:00Z")
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        raise BadInput(field, f"{shown(text)} is not an ISO 8601 instant such as 2026-01-31T09:30:00Z") from None
    if not 1970 <= dt.year <= 9000:
        raise BadInput(field, f"{shown(text)} is out of range (years 1970 to 9000)")
    if dt.tzinfo is not None:
        return _in_range(dt.astimezone(UTC), text, field)
    if zone is UTC or zone == UTC:
        return dt.replace(tzinfo=UTC)
    first = dt.replace(tzinfo=zone, fold=0)
    second = dt.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        back = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
        if back != dt:  # (a ZoneInfo shows as its key)
            raise BadInput(
                field, f"{shown(text)} does not exist in {zone} (clocks jump over it); give an offset such as +01:00"
            )
        raise BadInput(field, f"{shown(text)} happens twice in {zone} (clocks go back); give an offset such as +01:00")
    return _in_range(first.astimezone(UTC), text, field)


def _in_range(t: datetime, text: str, field: str) -> datetime:
    if not 1970 <= t.year <= 9000:
        raise BadInput(field, f"{shown(text)} is out of range (years 1970 to 9000, UTC)")
    return t


def iso(t: datetime) -> str:
    """ISO 8601 in UTC with a Z: 2026-01-31T09:30:00Z (microseconds only when present)."""
    t = t.astimezone(UTC)
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        text += f".{t.microsecond:06d}"
    return text + "Z"


def when(t: datetime, zone=UTC) -> str:
    """Short human form: 2026-12-21 09:30 UTC (seconds shown only when not zero)."""
    local = t.astimezone(zone)
    text = local.strftime("%Y-%m-%d %H:%M:%S" if local.second else "%Y-%m-%d %H:%M")
    return f"{text} {local.tzname()}"


def storage(t: datetime) -> str:
    """Fixed-width UTC text that sorts in time order: 2026-01-31T09:30:00.000000Z."""
    return t.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"  # isoformat: 2x strftime's speed


def from_storage(text: str) -> datetime:
    return datetime.fromisoformat(text)


def local_time(at_iso: str, zone) -> datetime:
    """An ISO UTC instant as the naive date-time it is in `zone` (a spreadsheet cell has no zone)."""
    t = datetime.fromisoformat(at_iso.replace("Z", "+00:00")).astimezone(UTC)
    return t.astimezone(zone).replace(tzinfo=None)


# --- cycles -------------------------------------------------------------------


@lru_cache(maxsize=1024)
def boundary(anchor: datetime, n: int) -> datetime:
    """The n-th reset after `anchor` (n=0 is the anchor itself).

    Always counted from the anchor, never from the previous boundary, so a
    Jan 31 anchor gives Feb 28 (29), Mar 31, Apr 30 ...; relativedelta clamps
    to the last day of a shorter month.
    """
    return anchor + relativedelta(months=n)


def cycle_index(anchor: datetime, t: datetime) -> int:
    n = (t.year - anchor.year) * 12 + (t.month - anchor.month)
    while boundary(anchor, n) > t:
        n -= 1
    while boundary(anchor, n + 1) <= t:
        n += 1
    return n


def cycle_at(anchor: datetime, t: datetime) -> Interval:
    """The billing cycle holding instant `t` (at the exact reset instant the new one has begun)."""
    n = cycle_index(anchor, t)
    return Interval(boundary(anchor, n), boundary(anchor, n + 1))


# --- days ---------------------------------------------------------------------


def local_midnight(d: date, zone) -> datetime:
    """The UTC instant a local day begins. When midnight itself is skipped by a
    DST change, the day begins at the change (fold=0 reads the gap with the
    offset before it, which lands exactly on the transition)."""
    return datetime.combine(d, time(0), tzinfo=zone).astimezone(UTC)


def day_at(t: datetime, zone) -> Interval:
    """The local calendar day (midnight to midnight in `zone`) holding `t`, in UTC."""
    d = t.astimezone(zone).date()
    return Interval(local_midnight(d, zone), local_midnight(d + timedelta(days=1), zone))


# --- weeks and months -----------------------------------------------------------

MONDAY, SUNDAY = 0, 6  # date.weekday()


def week_start(d: date, first: int = MONDAY) -> date:
    """The first day of the week holding `d`, weeks starting on weekday `first` (MONDAY or SUNDAY)."""
    return d - timedelta(days=(d.weekday() - first) % 7)


def week_label(start: date) -> str:
    """The ISO week (2026-W47) a week starting on `start` is named by: the ISO week of its Monday (a week
    from Sunday is named by the ISO week of the Monday that follows its first day)."""
    year, week, _ = (start + timedelta(days=(MONDAY - start.weekday()) % 7)).isocalendar()
    return f"{year}-W{week:02d}"


def month_start(d: date) -> date:
    return d.replace(day=1)


def add_months(d: date, n: int) -> date:
    """The first day of the month `n` months after the one holding `d` (n may be negative)."""
    months = d.year * 12 + d.month - 1 + n
    return date(months // 12, months % 12 + 1, 1)
