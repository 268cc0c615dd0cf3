"""The ledger as a plain-text accounting journal for hledger: `credits export --format journal`.

One transaction per event, in the ledger's order, dated by the event's day in the workspace's
time zone; the exact instant (UTC) and the event's id are kept as tags:

    2026-11-01 (15) 3 × SendEmail (custom domain)  ; id:15, at:2026-11-01T09:00:00.500000Z
        spent:integration:crm  6.000 credits  ; app:crm, member:ana, action:SendEmail
        credits:integration  -6.000 credits

- `spent:POOL:APP` is what an app spent from a pool, `spent:POOL:(no app)` what events without an
  app spent (`credits apps` calls them "(no app)" too); `credits:POOL` is the pool that paid. So
  `hledger balance ^spent` gives the per-app totals of `credits apps` (one pool per subtree),
  `hledger balance ^spent --depth 2` the per-pool totals, and `hledger balance ^spent --pivot member`
  (or `app`, `action`: tags of the spending posting) the totals by member, app or action across pools.
- Amounts are exact: milli-credits written with three decimals in a commodity `credits` declared
  with three decimals (hledger sums decimals exactly).
- A void (a correcting entry: negative credits, tag `corrects:ID`) is a transaction of its own,
  dated like the event it cancels, whose postings are the reverse of that event's: the two net
  out exactly as they do in the reports.
- Grants (allowances, coupons, top-ups ...) are left out: the journal records what was spent, not
  what was available. Exact grant postings would need the allowances credits writes only when a
  cycle first draws on them and a posting for what each grant loses unused at its expiry; rather
  than approximate `credits balance`, `credits:POOL` is simply minus what was spent
  (`credits grants` lists the grants).
- Names from the ledger (apps, members, notes, keys) are free text; in account names and tag values
  a `%`, `:` or `,`, a `(` starting a name, a control character and any whitespace but a single
  inner space are written %XX (UTF-8 percent-encoding, which urllib.parse.unquote reverses), so
  hledger reads every name back as it is. Descriptions escape only what would end them (`;`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import IO

COMMODITY = "credits"
NO_APP = "(no app)"
_HOUR = timedelta(hours=1) - timedelta(microseconds=1)
_PLAIN = re.compile(r"[^%:,(\s][^%:,\s]*(?: [^%:,\s]+)*")  # a name written as it is (if printable)


def _percent(c: str) -> str:
    return "".join(f"%{b:02X}" for b in c.encode())


def name(text) -> str:
    """A ledger name (an app, a member, a note ...) as an hledger account component or tag value."""
    text = str(text)
    if _PLAIN.fullmatch(text) and text.isprintable():
        return text
    out = []
    last = len(text) - 1
    for i, c in enumerate(text):
        if (
            c in "%:,"
            or (c == "(" and i == 0)
            or not c.isprintable()
            or (c.isspace() and (c != " " or i == 0 or i == last or text[i - 1].isspace() or text[i + 1].isspace()))
        ):
            out.append(_percent(c))
        else:
            out.append(c)
    return "".join(out)


def description(text: str) -> str:
    """Free text as a transaction's description: what would end it (`;`, a line break) escaped."""
    return "".join(_percent(c) if c in "%;" or not c.isprintable() else c for c in text)


def amount(milli: int) -> str:
    """Milli-credits with exactly three decimals: -1300 -> '-1.300 credits'."""
    whole, frac = divmod(abs(milli), 1000)
    return f"{'-' if milli < 0 else ''}{whole}.{frac:03d} {COMMODITY}"


def what(action, model, scope, quantity, seconds, chars, custom_domain) -> str:
    """'3 × SendEmail (custom domain)', 'invokeLLM (gpt-5)': an event as `credits events` names it."""
    detail = [str(x) for x in (model, scope) if x]
    if seconds:
        detail.append(f"{seconds} s")
    if chars:
        detail.append(f"{chars} chars")
    if custom_domain:
        detail.append("custom domain")
    text = str(action) + (f" ({', '.join(detail)})" if detail else "")
    return f"{quantity} × {text}" if quantity != 1 else text


class _Days:
    """The local date of an instant in ISO form, worked out once per UTC hour; exactly, for an hour
    in which the local date changes (a zone half an hour off UTC) is worked out instant by instant."""

    def __init__(self, zone):
        self.zone = zone
        self.hours: dict[str, str | None] = {}

    def __call__(self, at: str) -> str:
        hour = at[:13]
        day = self.hours.get(hour, "")
        if day == "" and len(at) > 13 and at[10] == "T" and at[13] == ":":
            if len(self.hours) >= 4096:
                self.hours.clear()
            utc = datetime.fromisoformat(hour + ":00:00+00:00")
            first, last = utc.astimezone(self.zone).date(), (utc + _HOUR).astimezone(self.zone).date()
            day = self.hours[hour] = first.isoformat() if first == last else None
        return day or datetime.fromisoformat(at).astimezone(self.zone).date().isoformat()


def header(workspace: str, zone_name: str, selection: str) -> str:
    return (
        f"; credits export --format journal: workspace {workspace!r}, {selection}\n"
        f"; One transaction per event, dated by its day in {zone_name}; (N) and id: are the event's id,\n"
        f"; at: its instant in UTC. spent:POOL:APP is what an app spent from a pool ({NO_APP}: events\n"
        f"; without an app), credits:POOL the pool that paid; a void (corrects:ID) reverses its event.\n"
        f"; Grants are not included. In names, % : , a leading ( and spaces at an edge or beside another\n"
        f"; space are written %XX (UTF-8).\n"
        f"decimal-mark .\n"
        f"commodity 1000.000 {COMMODITY}\n"
        f"account spent  ; type: X\n"
        f"account credits  ; type: A\n"
    )


def write_journal(
    batches: Iterable[list[tuple]], out: IO[str], shape_fields, *, workspace: str, zone, selection: str
) -> int:
    """Write the export's rows (store.queries.export_batches) as an hledger journal; returns the count.

    A row is (id, at, shape, key, note, corrects), `at` in ISO form; `shape_fields(shape)` gives
    (pool, action, model, scope, quantity, seconds, chars, custom_domain, credits_milli, app, member).
    """
    out.write(header(workspace, str(getattr(zone, "key", zone)), selection))
    day = _Days(zone)
    shapes: dict = {}
    n = 0
    for batch in batches:
        text = []
        for id_, at, shape, key, note, corrects in batch:
            parts = shapes.get(shape)
            if parts is None:
                if len(shapes) > 4096:
                    shapes.clear()
                parts = shapes[shape] = _shape(shape_fields(shape))
            what_, spent, paid = parts
            void = f"void of event {corrects}: " if corrects is not None else ""
            tags = f"id:{id_}, at:{at}" + "".join(
                f", {k}:{v if k == 'corrects' else name(v)}"
                for k, v in (("corrects", corrects), ("key", key), ("note", note))
                if v is not None
            )
            text.append(f"\n{day(at)} ({id_}) {void}{what_}  ; {tags}\n{spent}{paid}")
        out.write("".join(text))
        n += len(batch)
    return n


def _shape(fields) -> tuple[str, str, str]:
    """(description, spending posting, paying posting) of an event's shape, written."""
    pool, action, model, scope, quantity, seconds, chars, custom_domain, milli, app, member = fields
    pool_name = name(pool)
    account = f"spent:{pool_name}:{NO_APP if app is None else name(app)}"
    tags = f"app:{NO_APP if app is None else name(app)}" + "".join(
        f", {k}:{name(v)}" for k, v in (("member", member), ("action", action), ("model", model)) if v is not None
    )
    return (
        description(what(action, model, scope, quantity, seconds, chars, custom_domain)),
        f"    {account}  {amount(milli)}  ; {tags}\n",
        f"    credits:{pool_name}  {amount(-milli)}\n",
    )
