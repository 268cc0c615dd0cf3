"""Tables for people, drawn with rich (imported only by commands that draw)."""

from __future__ import annotations

import os
import sys

from rich import box
from rich.console import Console
from rich.table import Table

from ..domain.cycles import when
from ..domain.money import fmt


def console() -> Console:
    plain = not sys.stdout.isatty() or "NO_COLOR" in os.environ
    return Console(no_color=plain, highlight=False, soft_wrap=False)


def _until(now, t) -> str:
    seconds = int((t - now).total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"in {days}d {hours}h"
    return f"in {hours}h {rest // 60}m"


def balance(b) -> None:
    c = console()
    c.print(f"[bold]{b.workspace}[/bold] · {b.plan} plan ({b.billing}) · days in {b.timezone}")
    c.print(f"cycle {when(b.cycle.start)} → {when(b.cycle.end)} (resets {_until(b.now, b.cycle.end)})")
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    t.add_column("")
    for name in b.pools:
        t.add_column(f"{name} credits", justify="right")
    pools = list(b.pools.values())
    t.add_row("allowance", *(fmt(p.allowance) for p in pools))
    t.add_row("used this cycle", *(fmt(p.used) for p in pools))
    t.add_row("bonus", *(fmt(p.bonus) for p in pools))
    t.add_row("[bold]available now[/bold]", *(f"[bold]{fmt(p.available)}[/bold]" for p in pools))
    if any(p.daily for p in pools):
        t.add_row("today (daily cap)", *(f"{fmt(p.daily.used)} of {fmt(p.daily.cap)}" if p.daily else "—" for p in pools))
    t.add_row("next reset", *(_until(b.now, p.cycle.end) for p in pools))
    c.print(t)
    daily = next((p.daily for p in pools if p.daily), None)
    if daily is not None:
        local = when(daily.day.end, daily.zone)
        utc = when(daily.day.end)
        c.print(f"The daily cap resets at {local}" + (f" ({utc})." if local != utc else "."))


def plans_table(rows, source: str) -> None:
    t = Table(title=f"Plans ({source} catalog)", box=box.SIMPLE_HEAD)
    for col in ("plan", "$/month", "$/month\nbilled yearly", "message\na cycle", "integration\na cycle"):
        t.add_column(col, justify="left" if col == "plan" else "right", no_wrap=True)
    t.add_column("features", ratio=1, min_width=16)
    for r in rows:
        cap = r["daily_message_cap"]
        message = fmt(r["message"].milli) + (f" ({fmt(cap.milli)}/day)" if cap is not None else "")
        t.add_row(
            r["plan"], fmt(r["price_monthly"].milli), fmt(r["price_yearly"].milli), message,
            fmt(r["integration"].milli), ", ".join(f.replace("_", " ") for f in r["features"]) or "—",
        )
    console().print(t)


def prices_table(actions, source: str) -> None:
    t = Table(title=f"Prices ({source} catalog)", box=box.SIMPLE_HEAD)
    for col, just in (("action", "left"), ("pool", "left"), ("cost", "left"), ("needs", "left")):
        t.add_column(col, justify=just, overflow="fold")
    for a in actions:
        if a.models:
            cost = " · ".join(f"{m} {fmt(v)}" for m, v in a.models.items()) + f" per {a.unit}"
        elif a.scopes:
            cost = "--credits X, or typical: " + " · ".join(f"{s} {fmt(v)}" for s, v in a.scopes.items())
        elif a.per == "second":
            cost = f"{fmt(a.price)} per second"
        elif a.per == "block":
            cost = f"{fmt(a.price)} per started {a.block_chars} characters"
            if a.max_per_call is not None:
                cost += f", at most {fmt(a.max_per_call)} per call"
        else:
            cost = f"{fmt(a.price)} per {a.unit}"
        if a.custom_domain_price is not None:
            cost += f" ({fmt(a.custom_domain_price)} from a custom domain)"
        needs = ", ".join(x.replace("_", " ") for x in (a.requires, a.custom_domain_requires and f"{a.custom_domain_requires} (for --custom-domain)") if x)
        t.add_row(a.name, a.pool, cost, needs or "—")
    console().print(t)
