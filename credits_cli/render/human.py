"""Tables for people, drawn with rich (imported only by commands that draw)."""

from __future__ import annotations

import os
import sys

from rich import box
from rich.console import Console, JustifyMethod
from rich.markup import escape
from rich.table import Table

from ..domain.cycles import when
from ..domain.money import amount, fmt
from .charts import bar, meter


def _plain() -> bool:
    """No colour and plain '#' bars: stdout is not a terminal, or NO_COLOR is set to a non-empty value
    (no-color.org: an empty NO_COLOR asks for nothing)."""
    return not sys.stdout.isatty() or bool(os.environ.get("NO_COLOR"))


def console() -> Console:
    return Console(no_color=_plain(), highlight=False, soft_wrap=False)


def _table_or_blocks(c: Console, table: Table, cells: list[str], blocks) -> None:
    """The table when every word of its cells shows whole at the terminal's width; else (a narrow terminal)
    one record a block, a field a line (wrapped at its spaces if need be): no field is dropped or
    broken mid-word. `cells`: the plain texts that must show whole; `blocks`: the records'
    lines (a generator: only made when needed)."""
    import io

    from rich.measure import Measurement

    natural = Measurement.get(c, c.options.update_width(1 << 20), table).maximum
    if natural > c.width:  # rich would squeeze it: does each cell survive?
        out = io.StringIO()
        Console(width=c.width, file=out, no_color=True, color_system=None, highlight=False).print(table)
        text = out.getvalue()
        if not all(word in text for cell in cells for word in cell.split()):  # wrapped at spaces is fine
            for lines in blocks:
                for i, line in enumerate(lines):
                    c.print(line if i == 0 else "  " + line)
            return
    c.print(table)


def _until(now, t) -> str:
    seconds = int((t - now).total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"in {days}d {hours}h"
    return f"in {hours}h {rest // 60}m"


def balance(b, top_apps=None) -> None:
    """The dashboard: both pools as meters, the figures, the reset countdown, the top apps."""
    c = console()
    plain = _plain()
    c.print(f"[bold]{b.workspace}[/bold] · {b.plan} plan ({b.billing}) · days in {b.timezone}")
    if b.pending is not None:
        c.print(
            f"[yellow]scheduled: {b.pending.plan} plan ({b.pending.billing}) from {when(b.pending.effective_at)}"
            "[/yellow]"
        )
    c.print(f"cycle {when(b.cycle.start)} → {when(b.cycle.end)} · [bold]resets {_until(b.now, b.cycle.end)}[/bold]")
    if b.apps is not None:
        a = b.apps
        if a["refused"]:
            c.print(
                f"[yellow]apps: {a['count']}; the {a['plan']} plan keeps {a['max']}, the oldest"
                f" ({escape(', '.join(a['kept']))}), and refuses events for {escape(', '.join(a['refused']))}"
                "[/yellow]",
                highlight=False,
            )
        else:
            c.print(f"apps: {a['count']} of {a['max']} ({a['plan']} plan)")
    c.print()
    pools = list(b.pools.values())
    for p in pools:
        total = p.used + p.left  # what this cycle held: what it used and what is left (README: balance)
        low = p.available * 10 < p.allowance  # less than a tenth left
        colour = "red" if low else "green"
        today = f" · {fmt(p.available)} today" if p.available < p.left else ""  # the daily cap is tighter
        figures = f"{fmt(p.used)} of {fmt(total)} used · [bold]{fmt(p.left)}[/bold] left{today}"
        room = c.width - 14 - len(figures) + len("[bold][/bold]")  # the meter takes what the figures leave
        gauge = f"[{colour}]{meter(p.used, max(total, 1), min(30, room), plain)}[/{colour}]" if room >= 10 else ""
        c.print(f"{p.pool:<12} {gauge} {figures}" if gauge else f"{p.pool}: {figures}")
    c.print()
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    t.add_column("")
    for name in b.pools:
        t.add_column(f"{name} credits", justify="right")
    t.add_row("allowance", *(fmt(p.allowance) for p in pools))
    t.add_row("  used", *(fmt(p.allowance_used) for p in pools))
    t.add_row("  left", *(fmt(p.allowance_left) for p in pools))
    t.add_row("bonus used", *(fmt(p.bonus_used) for p in pools))
    t.add_row("bonus left", *(fmt(p.bonus) for p in pools))
    t.add_row("used this cycle", *(fmt(p.used) for p in pools))
    t.add_row("[bold]available now[/bold]", *(f"[bold]{fmt(p.available)}[/bold]" for p in pools))
    if any(p.daily for p in pools):
        t.add_row(
            "today (daily cap)", *(f"{fmt(p.daily.used)} of {fmt(p.daily.cap)}" if p.daily else "—" for p in pools)
        )
    c.print(t)
    for p in pools:
        for e in p.expiring or ():
            line = f"{amount(e.credits, p.pool)} from {escape(e.source)} expire on {when(e.at)}"
            c.print(f"[yellow]{line}[/yellow]", soft_wrap=True)  # one line, whatever the width: a script greps it
    daily_cap = next((p.daily for p in pools if p.daily), None)
    if daily_cap is not None:
        local = when(daily_cap.day.end, daily_cap.zone)
        utc = when(daily_cap.day.end)
        c.print(f"The daily cap resets at {local}" + (f" ({utc})." if local != utc else "."))
    if top_apps is not None and top_apps.rows:
        c.print()
        c.print(f"[bold]Top apps[/bold] (integration credits this cycle, {fmt(top_apps.total)} in all)")
        t = Table(box=None, show_header=False, pad_edge=False)
        t.add_column("app", overflow="fold")
        t.add_column("bar", no_wrap=True)
        t.add_column("credits", justify="right")
        t.add_column("share", justify="right")
        top = top_apps.rows[0]["credits"]
        rows = [
            (
                r["app"] if r["app"] is not None else "(no app)",
                f"[cyan]{bar(r['credits'], top, 20, plain)}[/cyan]",
                fmt(r["credits"]),
                f"{r['share']}%",
            )
            for r in top_apps.rows[:3]
        ]
        for row in rows:
            t.add_row(*row)
        _table_or_blocks(
            c,
            t,
            [x for row in rows for x in (row[0], row[2], row[3])],
            ([name, f"{gauge} {credits} · {share}"] for name, gauge, credits, share in rows),
        )


def plans_table(plans, source: str) -> None:
    t = Table(title=f"Plans ({source} catalog)", box=box.SIMPLE_HEAD)
    for col in ("plan", "$/month", "$/month\nbilled yearly", "message\na cycle", "integration\na cycle"):
        t.add_column(col, justify="left" if col == "plan" else "right", no_wrap=True)
    t.add_column("features", ratio=1, min_width=16)
    for p in plans:
        cap = p.daily_message_cap
        message = fmt(p.message) + (f" ({fmt(cap)}/day)" if cap is not None else "")
        apps = [f"up to {p.max_apps} apps"] if p.max_apps is not None else []
        t.add_row(
            p.name,
            fmt(p.price_monthly),
            fmt(p.price_yearly),
            message,
            fmt(p.integration),
            ", ".join(apps + [f.replace("_", " ") for f in sorted(p.features)]) or "—",
        )
    console().print(t)


def prices_table(actions, source: str) -> None:
    t = Table(title=f"Prices ({source} catalog)", box=box.SIMPLE_HEAD)
    just: JustifyMethod
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
        on_domain = a.custom_domain_requires and f"{a.custom_domain_requires} (for --custom-domain)"
        needs = ", ".join(x.replace("_", " ") for x in (a.requires, on_domain) if x)
        t.add_row(a.name, a.pool, cost, needs or "—")
    console().print(t)


# --- reports ------------------------------------------------------------------------


def _span(sc, dates: bool = False) -> str:
    """The scope's range in its zone: days, and times where they are not midnight (`dates`: days only)."""
    start = sc.span.start.astimezone(sc.zone)
    end = sc.span.end.astimezone(sc.zone)

    def short(t):  # a day's midnight is just the day
        return f"{t:%Y-%m-%d}" if dates or (t.hour, t.minute) == (0, 0) else f"{t:%Y-%m-%d %H:%M}"

    return f"{short(start)} → {short(end)} {end.tzname()}"


_LABEL = {"app": "app", "member": "member", "action": "action"}


def _name(by: str, r: dict) -> str:
    if by == "action":
        return r["action"] + (f" ({r['model']})" if r.get("model") else "")
    return r[by] if r[by] is not None else f"(no {by})"


def distribution(d, budgets=None) -> None:
    c = console()
    pool = d.scope.filter.pool
    if not d.rows:
        c.print(f"No {pool} credits used between {_span(d.scope)}.")
        return
    c.print(f"[bold]{pool} credits by {_LABEL[d.by]}[/bold] · {_span(d.scope)} · {fmt(d.total)} in all")
    names = [_name(d.by, r) for r in d.rows]
    width = max(10, min(30, c.width - max(len(n) for n in names) - 30))  # the bar yields to the names
    top = d.rows[0]["credits"]
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    t.add_column("#", justify="right")
    t.add_column(_LABEL[d.by], overflow="fold")
    t.add_column("", no_wrap=True, min_width=width)
    t.add_column("credits", justify="right", no_wrap=True)
    t.add_column("share", justify="right", no_wrap=True)
    rows = []
    for i, (r, name) in enumerate(zip(d.rows, names, strict=True), 1):
        credits = fmt(r["credits"])
        key = r.get(d.by)
        if budgets and key in budgets:
            credits += f" of {fmt(budgets[key])}"
        rows.append(
            (str(i), name, f"[cyan]{bar(r['credits'], top, width, _plain())}[/cyan]", credits, f"{r['share']}%")
        )
        t.add_row(*rows[-1])
    _table_or_blocks(
        c,
        t,
        [x for row in rows for x in (row[1], row[3], row[4])],
        ([f"{i} {name}", f"{gauge} {credits} · {share}"] for i, name, gauge, credits, share in rows),
    )


_EVERY = {"day": "a day", "week": "a week", "month": "a month", "cycle": "a cycle"}


def periods(p) -> None:
    """daily, weekly, monthly, cycles: a bar a period, oldest first, periods without use as zero; a cycle with
    its plan, its credits out of the plan's for the pool, and the current one marked."""
    c = console()
    sc = p.scope
    pool = sc.filter.pool
    total = sum(r["credits"] for r in p.rows)
    span = _span(sc, dates=p.kind == "cycle")  # (a cycle's row shows its days)
    if p.kind == "cycle" and not p.rows:
        c.print(f"No billing cycle between {span}.")
        return
    if not total and p.kind != "cycle":
        c.print(f"No {pool} credits used between {span}.")
        return
    c.print(f"[bold]{pool} credits {_EVERY[p.kind]}[/bold] · {span} · {fmt(total)} in all")
    cells = [_period_cells(p.kind, r, sc.zone) for r in p.rows]  # (the cells before the bar, those after it)
    before, after = [b for b, _ in cells], [a for _, a in cells]
    used = sum(max(map(len, column)) for rows in (before, after) for column in zip(*rows, strict=True))
    # the bar takes the width the other columns leave (two spaces between columns)
    width = max(10, min(50, c.width - used - 2 * (len(before[0]) + len(after[0]))))
    top = max(r["credits"] for r in p.rows)
    t = Table(box=None, show_header=False, pad_edge=False)
    for _ in before[0]:
        t.add_column(no_wrap=True)
    t.add_column("bar", no_wrap=True, min_width=width)
    t.add_column("credits", justify="right", no_wrap=True)
    for _ in after[0][1:]:
        t.add_column(no_wrap=True)
    bars = [bar(r["credits"], top, width, _plain()) for r in p.rows]
    for b, gauge, a in zip(before, bars, after, strict=True):
        t.add_row(*b, f"[green]{gauge}[/green]", *a)

    def block(b, gauge, a):  # a terminal too narrow for a cycle's row: one block a cycle
        return [" · ".join(x for x in b + a[1:] if x), f"[green]{gauge}[/green] {a[0]}" if gauge else a[0]]

    _table_or_blocks(c, t, [x for cells in (*before, *after) for x in cells], map(block, before, bars, after))


def _period_cells(kind: str, r: dict, zone) -> tuple[list[str], list[str]]:
    """A period's cells as text: those before its bar (what the period is), and those after it (its credits,
    and a cycle's marker)."""
    if kind == "cycle":
        span = f"{r['start'].astimezone(zone):%Y-%m-%d} → {r['end'].astimezone(zone):%Y-%m-%d}"
        return [span, r["plan"]], [f"{fmt(r['credits'])} of {fmt(r['allowance'])}", "← current" if r["current"] else ""]
    label = [r["week"], r["start"]] if kind == "week" else [r["month"] if kind == "month" else r["date"]]
    return label, [fmt(r["credits"])]


def _what(e) -> str:
    text = e["action"]
    detail = [x for x in (e.get("model"), e.get("scope")) if x]
    if e.get("seconds"):
        detail.append(f"{e['seconds']} s")
    if e.get("chars"):
        detail.append(f"{e['chars']} chars")
    if e.get("custom_domain"):
        detail.append("custom domain")
    if detail:
        text += f" ({', '.join(detail)})"
    return f"{e['quantity']} × {text}" if e["quantity"] != 1 else text


def events(rows, sc) -> None:
    c = console()
    if not rows:
        c.print("No events match." if sc.filter.since is None else f"No events between {_span(sc)}.")
        return
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    t.add_column("id", justify="right", no_wrap=True)
    t.add_column(f"at ({getattr(sc.zone, 'key', 'UTC')})", no_wrap=True)
    t.add_column("what", overflow="fold")  # the one column that yields: it wraps at its spaces
    t.add_column("credits", justify="right", no_wrap=True)
    records = []
    for e in rows:
        credits = e["credits"]
        pool = "msg" if e["pool"] == "message" else "int"
        records.append(
            (
                str(e["id"]),
                f"{e['at'].astimezone(sc.zone):%Y-%m-%d %H:%M}",
                _what(e),
                f"{fmt(credits)} {pool}",
                e["app"] or "",
                e["member"] or "",
            )
        )
    for name in ("app", "member"):
        t.add_column(name, no_wrap=True)  # a name whole, or (too narrow) the records as blocks
    for r in records:
        t.add_row(*r)
    zone = getattr(sc.zone, "key", "UTC")

    def block(r):
        lines = [f"[bold]event {r[0]}[/bold] · {r[1]} {zone}", r[2], r[3]]
        return lines + [f"{label}: {value}" for label, value in (("app", r[4]), ("member", r[5])) if value]

    _table_or_blocks(c, t, [x for r in records for x in r[2:]], (block(r) for r in records))


def show(shown) -> None:
    e, zone = shown.event, shown.zone
    c = console()
    c.print(f"[bold]event {e['id']}[/bold] · {_what(e)} · {fmt(e['credits'])} {e['pool']} credits")
    t = Table(box=None, show_header=False, pad_edge=False)
    t.add_column("field", style="dim")
    t.add_column("value", overflow="fold")
    for label, value in (
        ("happened", when(e["at"], zone)),
        ("recorded", when(e["recorded_at"], zone)),
        ("app", e["app"]),
        ("member", e["member"]),
        ("key", e["key"]),
        ("note", e["note"]),
    ):
        if value:
            t.add_row(label, str(value))
    c.print(t)
    if not e["paid_by"]:
        c.print("Paid by: nothing (it cost 0).")
        return
    p = Table(title="Credits used", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title_justify="left")
    for col in ("grant", "source", "credits", "expires"):
        p.add_column(col, justify="right" if col in ("grant", "credits") else "left")
    for g in e["paid_by"]:
        p.add_row(
            str(g["grant"]),
            g["reason"] or g["source"],
            fmt(g["credits"]),
            when(g["expires_at"], zone) if g["expires_at"] else "never",
        )
    c.print(p)


def grants(grants) -> None:
    c = console()
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    just: JustifyMethod
    for col, just in (
        ("grant", "right"),
        ("pool", "left"),
        ("source", "left"),
        ("credits", "right"),
        ("left", "right"),
        ("expires (UTC)", "left"),
    ):
        t.add_column(col, justify=just, overflow="fold")
    for g in grants:
        if g.status == "expired":
            left = f"[dim]{fmt(g.lost)} lost[/dim]" if g.lost else "[dim]0[/dim]"
        else:
            left = fmt(g.left)
        expires = f"{g.expires_at:%Y-%m-%d %H:%M}" if g.expires_at else "never"
        if g.status == "expired":
            expires = f"[dim]{expires}[/dim]"
        t.add_row(
            str(g.grant) if g.grant is not None else "—",
            g.pool,
            g.reason or g.source,
            fmt(g.credits),
            left,
            expires,
        )
    c.print(t)


def advice(a) -> None:
    c = console()
    span = f"{when(a.from_)} → {when(a.until)}"
    c.print(f"[bold]Your last {a.cycles} cycle{'s' if a.cycles > 1 else ''} under every plan[/bold] ({span})")
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    just: JustifyMethod
    for col, just in (
        ("plan", "left"),
        ("days blocked", "right"),
        ("refused", "right"),
        ("unused msg", "right"),
        ("unused int", "right"),
        ("packs", "right"),
        ("cost $", "right"),
    ):
        t.add_column(col, justify=just)
    for r in a.plans:
        unused = r.credits_unused or {}
        packs = (
            "—" if r.topup_packs is None else " + ".join(f"{n} {p[:3]}" for p, n in r.topup_packs.items() if n) or "0"
        )
        name = f"[bold green]{r.plan}[/bold green]" if r.plan == a.recommended else r.plan
        t.add_row(
            name,
            str(r.days_blocked),
            str(r.actions_refused),
            fmt(unused["message"]) if unused else "—",
            fmt(unused["integration"]) if unused else "—",
            packs,
            fmt(r.cost),
        )
    c.print(t)
    if a.recommended:
        c.print(f"Cheapest that would have blocked nothing: [bold]{a.recommended}[/bold].")
    else:
        c.print("No plan would have blocked nothing; top-ups or a flat rate (--flat PRICE) would be needed.")
    if a.top_features:
        c.print(
            "Top features: "
            + "; ".join(f"{f.action} on {f.app or '(no app)'} {fmt(f.credits)}" for f in a.top_features)
        )
    for cand in a.cache_candidates:
        c.print(
            f"Cache candidate: {cand.action} on {cand.app or '(no app)'} ran over 100 times a day on"
            f" {cand.days} day(s) (up to {cand.max_per_day:,})"
            + (f", {cand.repeated_inputs:,} with repeated inputs" if cand.repeated_inputs else "")
        )
    g = a.gpt5_to_automatic
    if g.calls:
        c.print(
            f"Moving {g.calls:,} gpt-5 calls to the automatic model would have saved {fmt(g.credits_saved)}"
            " integration credits."
        )
