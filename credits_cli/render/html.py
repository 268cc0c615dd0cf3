"""`credits report`: an Overview (credits_cli/overview.py) as one self-contained HTML page.

The page asks nothing of any network: its styles are inline, its charts are inline SVG drawn by pygal
(imported here only, so that no other command pays for it), it has no script and no web font (the system's
fonts), and its Content-Security-Policy forbids anything else, so it opens the same from a mail attachment
offline. It reads in light and dark mode (prefers-color-scheme), on a phone (a viewport and a grid that
folds to one column; wide tables scroll inside their own box) and on A4 paper (@media print).

Every figure it shows is a value of the JSON of the command that prints it: the element showing it names
that command and the value's key in its JSON (`data-cmd="apps --pool message" data-key="0.credits"`) and holds
the value as that JSON writes it (`data-value`), so a test (or a curious reader) checks it against
`credits apps --pool message --json`. Each chart is an image (role="img") named and described by its own title
and description, and its data follows it as a table.
"""

from __future__ import annotations

import math
import shlex
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING

from ..domain.cycles import iso, when
from ..domain.money import Credits, fmt, to_decimal
from .jsonout import _number

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..overview import Overview, PoolView

SVG = "http://www.w3.org/2000/svg"
# Okabe and Ito's palette: told apart with any colour vision, on a light or a dark page; grey for the rest
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
REST = "#8C8C8C"
POOL_TITLE = {"message": "Message credits", "integration": "Integration credits"}
BY_TITLE = {"app": "By app", "member": "By member", "action": "By action (the features)"}
BY_COMMAND = {"app": "apps", "member": "members", "action": "actions"}


# --- figures: a value shown, and where its JSON has it ----------------------------------------------


def _value(v) -> str:
    """A value as the command's JSON writes it (a string's quotes aside)."""
    if isinstance(v, datetime):
        return iso(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Credits):
        return _number(v)
    return str(v)


def _shown(v) -> str:
    """A value as a person reads it: an amount as `credits balance` prints it (8,858 or 0.3), a count with its
    thousands marked."""
    if isinstance(v, Credits):
        return fmt(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def _fig(cmd: str, key: str, v, text: str | None = None, tag: str = "span", cls: str = "") -> str:
    """`v` shown (as `text`, else as a person reads it), marked with its command and its key in that JSON."""
    if text is None:
        text = _shown(v)
    klass = f' class="{cls}"' if cls else ""
    return (
        f'<{tag}{klass} data-cmd="{escape(cmd)}" data-key="{escape(key)}" data-value="{escape(_value(v))}">'
        f"{escape(text)}</{tag}>"
    )


class _Page:
    """What every part of the page needs: the overview, the zone times are shown in, the options of the
    period views (--since, --until, --timezone) as the matching commands take them."""

    def __init__(self, o: Overview):
        self.o = o
        self.zone = o.zone
        given = [(k, v) for k, v in o.options.items() if v is not None]
        self.period_options = "".join(f" --{k} {shlex.quote(v)}" for k, v in given)

    def when(self, t: datetime | None) -> str:
        return "never" if t is None else when(t, self.zone)

    def at(self, cmd: str, key: str, t: datetime | None, tag: str = "span", cls: str = "nowrap") -> str:
        """An instant shown in the report's zone, marked with its command and key (never: null)."""
        if t is None:
            return f'<{tag} data-cmd="{escape(cmd)}" data-key="{escape(key)}" data-value="null">never</{tag}>'
        return _fig(cmd, key, t, self.when(t), tag, cls)

    def period(self, cmd: str) -> str:
        return cmd + self.period_options


# --- charts ----------------------------------------------------------------------------------------

# Each chart is drawn twice: wide for a screen or paper, narrow (and taller) for a phone, where the wide one's
# text would shrink below reading size; the page's CSS shows one (width, height, x labels at most). Its
# legend is the page's own text under it, which wraps as the screen asks and never cuts a name.
SIZES = {"wide": (800, 320, 8), "narrow": (420, 340, 4)}
DAY_MINUTES = 24 * 60


def _style(colors, stroke_width: int = 1):
    from pygal.style import Style

    return Style(
        background="transparent",
        plot_background="transparent",
        foreground="var(--fg)",
        foreground_strong="var(--fg)",
        foreground_subtle="var(--muted)",
        colors=tuple(colors),
        font_family="var(--font)",
        label_font_size=15,
        major_label_font_size=15,
        value_font_size=14,
        guide_stroke_color="var(--grid)",
        major_guide_stroke_color="var(--grid)",
        guide_stroke_dasharray="none",
        major_guide_stroke_dasharray="none",
        opacity="1",
        opacity_hover="1",
        stroke_opacity="1",
        stroke_opacity_hover="1",
        stroke_width=str(stroke_width),
        stroke_width_hover=str(stroke_width),
        transition="0s",
    )


def _common(width: int, height: int, labels: int, count: int) -> dict:
    """The settings every chart shares at a size (`count`: how many x labels there are, `labels` shown)."""
    return {
        "js": [],
        "width": width,
        "height": height,
        "show_legend": False,
        "truncate_label": -1,
        "show_minor_x_labels": False,
        "x_labels_major_every": max(1, math.ceil(count / labels)),
        "show_x_guides": False,
        "margin": 6,
        "value_formatter": _tick,
    }


def _tick(v) -> str:
    """A value on the chart's axis as the page writes amounts: 3,600 or 0.5."""
    return format(Decimal(str(v)).normalize(), ",f")


# A line's look, as the chart's SVG dashes it and as its key in the legend is drawn (a CSS border style).
DASHES = {"solid": None, "dashed": "9,6", "dotted": "3,5"}


def _charts(name: str, title: str, description: str, series: Sequence[tuple[str, str, str | None]], build) -> str:
    """The chart `build(width, height, labels)` makes, at each size, as inline SVG, and its legend: `series`,
    each a label, a colour and, for a line, its look (DASHES; None: an area)."""
    svgs = "".join(_svg(build(*size), f"{name}-{kind}", kind, title, description) for kind, size in SIZES.items())
    keys = "".join(
        f'<li><span class="key{"" if look is None else f" line {look}"}" style="--c:{color}"></span>'
        f"{escape(label)}</li>"
        for label, color, look in series
    )
    return f'{svgs}<ul class="legend" aria-hidden="true">{keys}</ul>'  # the description names them already


def _svg(chart, name: str, kind: str, title: str, description: str) -> str:
    """A pygal chart as inline SVG: an image named by its title and described, with no script (the page
    runs none), no comment (pygal dates them: the page would change from day to day) and none of the
    tooltips' scaffolding (a script's)."""
    chart.uuid = name  # its CSS is scoped to #chart-NAME: a stable id, not a random one
    root = ET.fromstring(chart.render(is_unicode=True))
    ET.register_namespace("", SVG)
    for parent in list(root.iter()):
        for child in list(parent):
            tag = child.tag if isinstance(child.tag, str) else ""
            classes = (child.get("class") or "").split()
            if (
                not tag
                or tag.endswith(("}script", "}desc", "}title"))
                or "tooltip-overlay" in classes
                or ("overlay" in classes and not len(child))
            ):
                parent.remove(child)
    head = ET.Element(f"{{{SVG}}}title", id=f"{name}-title")
    head.text = title
    desc = ET.Element(f"{{{SVG}}}desc", id=f"{name}-desc")
    desc.text = description
    root.insert(0, desc)
    root.insert(0, head)
    root.set("role", "img")
    root.set("aria-labelledby", f"{name}-title {name}-desc")
    root.set("class", f"chart {kind}")
    return ET.tostring(root, encoding="unicode")


def _labels(dates: list[str]) -> list[str]:
    """Day labels: MM-DD within one year, else the whole date."""
    return dates if len({d[:4] for d in dates}) > 1 else [d[5:] for d in dates]


def daily_chart(view: PoolView, name: str) -> str:
    """The pool's use a day, stacked by app: the largest apps in their own colours, the rest grey."""
    import pygal

    dates = [d["date"] for d in view.daily.rows]
    layers = view.layers
    colors = [PALETTE[i] if layer.app is not None else REST for i, layer in enumerate(layers)]

    def build(width, height, labels):
        chart = pygal.StackedBar(style=_style(colors), **_common(width, height, labels, len(dates)), spacing=6)
        chart.x_labels = _labels(dates)
        for layer in layers:
            chart.add(layer.name, [to_decimal(c) for c in layer.days])
        return chart

    total = sum(d["credits"] for d in view.daily.rows)
    top = max(view.daily.rows, key=lambda d: d["credits"])
    description = (
        f"{fmt(total)} {view.pool} credits over {len(dates)} days, {dates[0]} to {dates[-1]};"
        f" the most on {top['date']}: {fmt(top['credits'])}. By app: "
        + "; ".join(f"{layer.name} {fmt(sum(layer.days))}" for layer in layers)
        + ". The table below gives each day."
    )
    series = [(layer.name, color, None) for layer, color in zip(layers, colors, strict=True)]
    return _charts(name, f"{POOL_TITLE[view.pool]} used a day, by app", description, series, build)


def forecast_chart(p: _Page, view: PoolView, name: str) -> str | None:
    """Credits left from now to the reset at the recent pace and at the P50 and P90 paces (each pace straight),
    or None when nothing was used lately (nothing to draw)."""
    import pygal

    f = view.forecast
    now = p.o.now
    if f.runs_out_at is None:
        return None
    # x: minutes from now (whole numbers: the chart's own arithmetic is not decimal), each day and the reset
    span = int((f.next_reset - now).total_seconds()) // 60
    xs = [*range(0, span, DAY_MINUTES), span]
    left = to_decimal(f.available)

    def line(burn: int) -> list[tuple[int, Decimal]]:
        rate = to_decimal(burn)
        return [(x, max(Decimal(0), left - rate * x / DAY_MINUTES).quantize(Decimal("0.1"))) for x in xs]

    def shown(x) -> str:
        return (now + timedelta(minutes=int(x))).astimezone(p.zone).strftime("%m-%d")

    series = [
        (f"recent pace, {fmt(f.burn_per_day)} a day", PALETTE[0], "solid"),
        (f"P50, {fmt(f.p50.burn_per_day)} a day", PALETTE[2], "dashed"),
        (f"P90, {fmt(f.p90.burn_per_day)} a day", PALETTE[5], "dotted"),
    ]
    burns = (f.burn_per_day, f.p50.burn_per_day, f.p90.burn_per_day)

    def build(width, height, labels):
        chart = pygal.XY(
            style=_style([color for _, color, _ in series], stroke_width=3),
            **{**_common(width, height, labels, len(xs)), "show_minor_x_labels": True},
            show_dots=False,
            include_x_axis=True,
            x_value_formatter=shown,
            xrange=(0, span),
        )
        chart.x_labels = xs[:: max(1, math.ceil(len(xs) / labels))]
        for (label, _, look), burn in zip(series, burns, strict=True):
            dashes = DASHES[look or "solid"]
            chart.add(label, line(burn), stroke_style={"width": 3, "dasharray": dashes} if dashes else None)
        return chart

    description = (
        f"{fmt(f.available)} left now; at the recent pace of {fmt(f.burn_per_day)} a day "
        + (f"they run out {p.when(f.runs_out_at)}" if f.before_reset else "they last until the reset")
        + f", {p.when(f.next_reset)}. At the P50 pace ({fmt(f.p50.burn_per_day)} a day)"
        + f" and the P90 pace ({fmt(f.p90.burn_per_day)} a day) "
        + (
            "the pool runs out before the reset at P90."
            if _out_before(f.p90.runs_out_at, f.next_reset)
            else "they last until the reset."
        )
    )
    return _charts(name, f"{POOL_TITLE[view.pool]} left until the reset", description, series, build)


def _out_before(t: datetime | None, reset: datetime) -> bool:
    return t is not None and t < reset


# --- the page ----------------------------------------------------------------------------------------


def page(o: Overview, version: str) -> str:
    """The whole report as one HTML document."""
    p = _Page(o)
    b = o.balance
    body = [
        _header(p),
        "<main>",
        _balance(p),
        *(_pool(p, view) for view in o.pools.values()),
        _grants(p),
        _advice(p),
        "</main>",
        _footer(p, version),
    ]
    title = f"Credits report · {o.workspace} · {o.now.astimezone(o.zone):%Y-%m-%d}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="color-scheme" content="light dark">\n'
        f'<meta name="generator" content="credits {escape(version)}">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n"
        f'<body data-workspace="{escape(b.workspace)}">\n' + "\n".join(body) + "\n</body>\n</html>\n"
    )


# Nothing but the page itself: no request leaves it, whatever it holds.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def _header(p: _Page) -> str:
    o, b = p.o, p.o.balance
    scheduled = ""
    if b.pending is not None:
        scheduled = (
            f'<p class="notice">Scheduled: the {_fig("balance", "scheduled.plan", b.pending.plan)} plan'
            f" ({_fig('balance', 'scheduled.billing', b.pending.billing)}) from"
            f" {p.at('balance', 'scheduled.at', b.pending.effective_at)}.</p>"
        )
    apps = ""
    if b.apps is not None:
        a = b.apps
        refused = f"; it refuses events for {escape(', '.join(a['refused']))}" if a["refused"] else ""
        apps = (
            f"<p>Apps: {_fig('balance', 'apps.count', a['count'])}, of the"
            f" {_fig('balance', 'apps.plan', a['plan'])} plan's {_fig('balance', 'apps.max', a['max'])}{refused}.</p>"
        )
    return (
        "<header>\n"
        f'<h1>Credits report <span class="ws">{escape(o.workspace)}</span></h1>\n'
        f'<p class="sub">{_fig("balance", "plan", b.plan)} plan ({_fig("balance", "billing", b.billing)})'
        f" · as of {p.at('balance', 'now', b.now, 'time')}"
        f" · this cycle {p.at('balance', 'cycle.start', b.cycle.start)} → {p.at('balance', 'cycle.end', b.cycle.end)}"
        f" · times in {escape(str(p.zone))}</p>\n{scheduled}{apps}</header>"
    )


def _balance(p: _Page) -> str:
    cards = []
    for name, pb in p.o.balance.pools.items():
        total = pb.used + pb.left
        width = Decimal(100) if not total else (Decimal(pb.used) * 100 / total).quantize(Decimal("0.1"))
        low = pb.available * 10 < pb.allowance

        def row(label: str, key: str, value, *, name=name) -> str:
            return f"<div><dt>{label}</dt><dd>{_fig('balance', f'{name}.{key}', value)}</dd></div>"

        rows = [
            row("Allowance", "allowance", pb.allowance),
            row("Used this cycle", "used", pb.used),
            row("of it from the allowance", "allowance_used", pb.allowance_used),
            row("of it from bonus credits", "bonus_used", pb.bonus_used),
            row("Allowance left", "allowance_left", pb.allowance_left),
            row("Bonus left", "bonus", pb.bonus),
            f"<div><dt>Next reset</dt><dd>{p.at('balance', f'{name}.next_reset', pb.cycle.end)}</dd></div>",
        ]
        if pb.daily is not None:
            d = pb.daily
            rows.append(
                "<div><dt>Today (the free plan's daily cap)</dt><dd>"
                f"{_fig('balance', f'{name}.daily.used', d.used)} of {_fig('balance', f'{name}.daily.cap', d.cap)}"
                f" used, {_fig('balance', f'{name}.daily.left', d.left)} left; the day ends"
                f" {p.at('balance', f'{name}.daily.resets_at', d.day.end)}</dd></div>"
            )
        cards.append(
            f'<article class="card pool-card{" low" if low else ""}" id="balance-{name}">\n'
            f"<h3>{POOL_TITLE[name]}</h3>\n"
            f'<p class="big">{_fig("balance", f"{name}.available", pb.available)}'
            ' <span class="unit">available now</span></p>\n'
            f'<div class="gauge" role="img" aria-label="{fmt(pb.used)} used, {fmt(pb.available)} available">'
            f'<span style="width:{width}%"></span></div>\n'
            f'<dl class="figures">{"".join(rows)}</dl>\n</article>'
        )
    return (
        '<section id="balance" aria-labelledby="balance-h">\n<h2 id="balance-h">Balance</h2>\n'
        f'<div class="grid">{"".join(cards)}</div>\n</section>'
    )


def _span(p: _Page, view: PoolView) -> str:
    sc = view.daily.scope
    start, end = sc.span.start.astimezone(p.zone), sc.span.end.astimezone(p.zone)

    def short(t):
        return f"{t:%Y-%m-%d}" if (t.hour, t.minute, t.second) == (0, 0, 0) else f"{t:%Y-%m-%d %H:%M}"

    return f"{short(start)} → {short(end)} {end.tzname()}"


def _table(head: list[str], rows: list[str], cls: str = "", caption: str = "") -> str:
    """A table in a box of its own that scrolls sideways on a narrow screen (the page never does). A heading
    that starts with # heads a column of numbers (the # is not shown); headings are HTML."""
    cells = "".join(
        f'<th scope="col" class=num>{h[1:]}</th>' if h.startswith("#") else f'<th scope="col">{h}</th>' for h in head
    )
    cap = f"<caption>{caption}</caption>" if caption else ""
    return (
        f'<div class="scroll"><table class="{cls}">{cap}<thead><tr>{cells}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _pool(p: _Page, view: PoolView) -> str:
    name = view.pool
    parts = [
        f'<section class="pool" id="pool-{name}" aria-labelledby="pool-{name}-h">',
        f'<h2 id="pool-{name}-h">{POOL_TITLE[name]}</h2>',
        f'<h3>Day by day <span class="span">{escape(_span(p, view))}</span></h3>',
        _daily(p, view),
        _forecast(p, view),
        f'<h3>Where they went <span class="span">{escape(_span(p, view))}</span></h3>',
        '<div class="grid three">' + "".join(_distribution(p, view, by) for by in view.distributions) + "</div>",
        _cycles(p, view),
        "</section>",
    ]
    return "\n".join(parts)


def _daily(p: _Page, view: PoolView) -> str:
    """The pool's days as a chart stacked by app, and its data as a table (each day in all and by app)."""
    name = view.pool
    if not any(d["credits"] for d in view.daily.rows):
        return f'<p class="none">No {name} credits used in this span.</p>'
    cmd = p.period(f"daily --pool {name}")
    head = ["Day", "#Credits", "#Events"] + ["#" + escape(layer.name) for layer in view.layers]
    rows = []
    for i, d in enumerate(view.daily.rows):
        cells = [
            f"<th scope=row>{d['date']}</th>",
            _fig(cmd, f"{i}.credits", d["credits"], tag="td", cls="num"),
            _fig(cmd, f"{i}.events", d["events"], tag="td", cls="num"),
        ]
        for layer in view.layers:
            if layer.app is None:  # the rest: what the day holds besides the apps shown
                cells.append(f'<td class="num">{fmt(layer.days[i])}</td>')
            else:
                app_cmd = p.period(f"daily --pool {name} --app {shlex.quote(layer.app)}")
                cells.append(_fig(app_cmd, f"{i}.credits", layer.days[i], tag="td", cls="num"))
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<figure class="chart-box">{daily_chart(view, f"daily-{name}")}\n'
        f"<details><summary>The chart's data: each day's credits, in all and by app</summary>"
        f"{_table(head, rows, 'days')}</details></figure>"
    )


def _forecast(p: _Page, view: PoolView) -> str:
    f = view.forecast
    name = view.pool
    if f.runs_out_at is None:
        verdict = (
            f"No use lately: {_fig('forecast', f'{name}.available', f.available)} last until the reset,"
            f" {p.at('forecast', f'{name}.next_reset', f.next_reset)}."
        )
    elif f.before_reset:
        verdict = (
            f"At the recent pace, {_fig('forecast', f'{name}.burn_per_day', f.burn_per_day)} a day, the"
            f" {_fig('forecast', f'{name}.available', f.available)} left run out"
            f" <strong>{p.at('forecast', f'{name}.runs_out_at', f.runs_out_at)}</strong>,"
            f" {_fig('forecast', f'{name}.days_before_reset', f.days_before_reset)} days before the reset"
            f" ({p.at('forecast', f'{name}.next_reset', f.next_reset)})."
        )
    else:
        verdict = (
            f"At the recent pace, {_fig('forecast', f'{name}.burn_per_day', f.burn_per_day)} a day, the"
            f" {_fig('forecast', f'{name}.available', f.available)} left <strong>last until the reset</strong>,"
            f" {p.at('forecast', f'{name}.next_reset', f.next_reset)}"
            f" (they would run out {p.at('forecast', f'{name}.runs_out_at', f.runs_out_at)})."
        )
    rows = [
        (
            "Recent pace",
            _fig("forecast", f"{name}.burn_per_day", f.burn_per_day, tag="td", cls="num"),
            p.at("forecast", f"{name}.runs_out_at", f.runs_out_at, "td", ""),
        ),
        (
            "P50",
            _fig("forecast", f"{name}.p50.burn_per_day", f.p50.burn_per_day, tag="td", cls="num"),
            p.at("forecast", f"{name}.p50.runs_out_at", f.p50.runs_out_at, "td", ""),
        ),
        (
            "P90",
            _fig("forecast", f"{name}.p90.burn_per_day", f.p90.burn_per_day, tag="td", cls="num"),
            p.at("forecast", f"{name}.p90.runs_out_at", f.p90.runs_out_at, "td", ""),
        ),
    ]
    table = _table(
        ["Pace", "#Credits a day", "Runs out"],
        [f"<tr><th scope=row>{label}</th>{burn}{out}</tr>" for label, burn, out in rows],
        "forecast",
    )
    chart = forecast_chart(p, view, f"forecast-{name}")
    figure = f'<figure class="chart-box">{chart}</figure>' if chart else ""
    note = (
        '<p class="note">The recent pace weighs the last 7 days, the latest most. P50 and P90 come from the last'
        " 28 days' use drawn at random many times over: half of the likely paces are below P50, nine in ten"
        " below P90.</p>"
    )
    return f'<h3>Forecast to the reset</h3>\n<p class="verdict">{verdict}</p>\n{table}\n{note}\n{figure}'


def _name_of(by: str, r: dict) -> str:
    if by == "action":
        return r["action"] + (f" ({r['model']})" if r.get("model") else "")
    return r[by] if r[by] is not None else f"(no {by})"


def _distribution(p: _Page, view: PoolView, by: str) -> str:
    d = view.distributions[by]
    cmd = p.period(f"{BY_COMMAND[by]} --pool {view.pool}")
    if not d.rows:
        return f'<article class="card"><h4>{BY_TITLE[by]}</h4><p class="none">No use in this span.</p></article>'
    top = d.rows[0]["credits"] or 1
    rows = []
    for i, r in enumerate(d.rows):
        width = (Decimal(r["credits"]) * 100 / top).quantize(Decimal("0.1"))
        rows.append(
            f"<tr><th scope=row>{escape(_name_of(by, r))}"
            f'<span class="bar" aria-hidden="true"><span style="width:{width}%"></span></span></th>'
            + _fig(cmd, f"{i}.credits", r["credits"], tag="td", cls="num")
            + _fig(cmd, f"{i}.share", r["share"], f"{r['share']}%", tag="td", cls="num")
            + "</tr>"
        )
    return (
        f'<article class="card"><h4>{BY_TITLE[by]}</h4>'
        + _table([by.capitalize(), "#Credits", "#Share"], rows, "ranked")
        + "</article>"
    )


def _cycles(p: _Page, view: PoolView) -> str:
    name = view.pool
    cmd = f"cycles --pool {name}"
    rows = []
    for i, c in enumerate(reversed(view.cycles)):
        k = len(view.cycles) - 1 - i  # newest first on the page; the key is the row's place in the JSON
        now = " " + _fig(cmd, f"{k}.current", True, "now, so far", cls="tag") if c["current"] else ""
        rows.append(
            f"<tr><th scope=row>{p.at(cmd, f'{k}.start', c['start'])} → {p.at(cmd, f'{k}.end', c['end'])}"
            f'<br><span class="small">{_fig(cmd, f"{k}.plan", c["plan"])} plan</span>{now}</th>'
            + _fig(cmd, f"{k}.allowance", c["allowance"], tag="td", cls="num")
            + f'<td class="num">{_fig(cmd, f"{k}.credits", c["credits"])}<br>'
            + f'<span class="small">{_fig(cmd, f"{k}.events", c["events"])} events</span></td></tr>'
        )
    return "<h3>Billing cycles so far</h3>\n" + _table(["Cycle", "#Allowance", "#Used"], rows, "cycles")


def _grants(p: _Page) -> str:
    live: list[str] = []
    expired: list[str] = []
    for i, g in enumerate(p.o.grants):
        left = (
            _fig("grants", f"{i}.lost", g.lost, f"{fmt(g.lost)} lost", tag="td", cls="num")
            if g.status == "expired"
            else _fig("grants", f"{i}.left", g.left, tag="td", cls="num")
        )
        row = (
            f"<tr><th scope=row>{escape(g.reason or g.source)}<br><span class=small>"
            f"{_fig('grants', f'{i}.pool', g.pool)} · {_fig('grants', f'{i}.source', g.source)}"
            f" · {_fig('grants', f'{i}.status', g.status)}</span></th>"
            + _fig("grants", f"{i}.credits", g.credits, tag="td", cls="num")
            + _fig("grants", f"{i}.used", g.used, tag="td", cls="num")
            + left
            + p.at("grants", f"{i}.starts_at", g.starts_at, "td")
            + p.at("grants", f"{i}.expires_at", g.expires_at, "td")
            + "</tr>"
        )
        (expired if g.status == "expired" else live).append(row)
    head = ["Grant", "#Credits", "#Used", "#Left", "Starts", "Expires"]
    parts = [
        '<section id="grants" aria-labelledby="grants-h">',
        '<h2 id="grants-h">Grants and their expiry</h2>',
        "<p>The credits each pool holds: the plan's allowance of each cycle, coupons, share and referral"
        " bonuses, promotions and top-ups. The one that expires soonest pays first; top-ups last.</p>",
        _table(head, live, "grants", "Live and future grants") if live else "<p>No live grant.</p>",
    ]
    if expired:
        parts.append(
            f"<details><summary>{len(expired)} expired grant{'s' if len(expired) != 1 else ''}"
            " (what they had left was lost)</summary>" + _table(head, expired, "grants") + "</details>"
        )
    parts.append("</section>")
    return "\n".join(parts)


def _advice(p: _Page) -> str:
    a = p.o.advice
    span = f"{p.at('advise', 'from', a.from_)} → {p.at('advise', 'until', a.until)}"
    whole = "whole cycle" if a.complete_cycles else "cycle so far"
    parts = [
        '<section id="advice" aria-labelledby="advice-h">',
        '<h2 id="advice-h">Savings and the plan that fits</h2>',
        f"<p>The last {_fig('advise', 'cycles', a.cycles)} {whole}{'s' if a.cycles != 1 else ''} ({span})"
        " replayed under every plan.</p>",
    ]
    if a.recommended:
        parts.append(
            f'<p class="verdict">The cheapest plan that would have blocked nothing:'
            f" <strong>{_fig('advise', 'recommended', a.recommended)}</strong>.</p>"
        )
    else:
        parts.append(
            '<p class="verdict">No plan would have blocked nothing: top-ups or a flat rate would be needed.</p>'
        )
    g = a.gpt5_to_automatic
    savings = []
    if g.calls:
        savings.append(
            f"<li>Moving {_fig('advise', 'gpt5_to_automatic.calls', g.calls)} gpt-5 calls to the"
            f" automatic model would have saved"
            f" <strong>{_fig('advise', 'gpt5_to_automatic.credits_saved', g.credits_saved)}</strong>"
            " integration credits.</li>"
        )
    for i, c in enumerate(a.cache_candidates):
        repeated = (
            f", {_fig('advise', f'cache_candidates.{i}.repeated_inputs', c.repeated_inputs)}"
            " of them with an input seen earlier that day"
            if c.repeated_inputs
            else ""
        )
        savings.append(
            f"<li>Cache the results of {_fig('advise', f'cache_candidates.{i}.action', c.action)} on"
            f" {escape(c.app or '(no app)')}: it ran over 100 times a day on"
            f" {_fig('advise', f'cache_candidates.{i}.days', c.days)} day(s), up to"
            f" {_fig('advise', f'cache_candidates.{i}.max_per_day', c.max_per_day)} a day"
            f"{repeated}.</li>"
        )
    parts.append(
        "<h3>Savings</h3>"
        + (
            f"<ul>{''.join(savings)}</ul>"
            if savings
            else "<p>No saving found: no gpt-5 call to move, no call repeated over 100 times a day.</p>"
        )
    )
    if a.top_features:
        rows = [
            f"<tr><th scope=row>{_fig('advise', f'top_features.{i}.action', t.action)}</th>"
            f"<td>{escape(t.app or '(no app)')}</td>"
            + _fig("advise", f"top_features.{i}.credits", t.credits, tag="td", cls="num")
            + "</tr>"
            for i, t in enumerate(a.top_features)
        ]
        parts.append("<h3>Top features</h3>" + _table(["Action", "App", "#Credits"], rows, "features"))
    rows = []
    for i, r in enumerate(a.plans):
        unused = r.credits_unused
        packs = (
            "—" if r.topup_packs is None else " + ".join(f"{n} {pool}" for pool, n in r.topup_packs.items() if n) or "0"
        )
        best = ' class="best"' if r.plan == a.recommended else ""
        rows.append(
            f"<tr{best}><th scope=row>{_fig('advise', f'plans.{i}.plan', r.plan)}</th>"
            + _fig("advise", f"plans.{i}.days_blocked", r.days_blocked, tag="td", cls="num")
            + _fig("advise", f"plans.{i}.actions_refused", r.actions_refused, tag="td", cls="num")
            + "".join(
                _fig("advise", f"plans.{i}.credits_unused.{pool}", unused[pool], tag="td", cls="num")
                if unused
                else '<td class="num">—</td>'
                for pool in ("message", "integration")
            )
            + f'<td class="num">{packs}</td>'
            + _fig("advise", f"plans.{i}.cost", r.cost, f"${fmt(r.cost)}", tag="td", cls="num")
            + "</tr>"
        )
    parts.append(
        "<h3>Every plan over those cycles</h3>"
        + _table(
            [
                "Plan",
                "#Days blocked",
                "#Uses refused",
                "#Message unused",
                "#Integration unused",
                "#Top-up packs",
                "#Cost",
            ],
            rows,
            "plans",
        )
    )
    parts.append("</section>")
    return "\n".join(parts)


def _footer(p: _Page, version: str) -> str:
    return (
        "<footer><p>Made by credits "
        f"{escape(version)} for workspace {escape(p.o.workspace)}, as of {p.when(p.o.now)}. Each figure is the one"
        " <code>credits COMMAND --json</code> prints with the same clock: the element showing it names the command"
        " (<code>data-cmd</code>) and its key in that JSON (<code>data-key</code>).</p></footer>"
    )


CSS = """
:root {
  --font: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif;
  --bg: #ffffff; --fg: #1b1f24; --muted: #57606a; --card: #f6f8fa; --line: #d0d7de; --grid: #d8dee4;
  --accent: #0072B2; --low: #c2410c; --best: #e6f4ea;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --card: #161b22; --line: #30363d; --grid: #30363d;
    --accent: #56B4E9; --low: #fb923c; --best: #12361f;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0 auto; max-width: 72rem; padding: 1rem clamp(0.75rem, 3vw, 2rem) 2rem;
  font: 16px/1.5 var(--font); color: var(--fg); background: var(--bg);
  overflow-wrap: break-word;
}
h1 { font-size: 1.6rem; margin: 0.5rem 0 0.25rem; line-height: 1.2; }
h1 .ws { color: var(--muted); font-weight: 500; }
h2 { font-size: 1.3rem; margin: 2rem 0 0.75rem; padding-bottom: 0.25rem; border-bottom: 2px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.5rem 0 0.5rem; }
h4 { font-size: 1rem; margin: 0 0 0.5rem; }
h3 .span { font-weight: 400; color: var(--muted); font-size: 0.9rem; margin-left: 0.25rem; }
.sub, footer, .none, .note { color: var(--muted); }
.note { font-size: 0.9rem; }
.notice { border-left: 4px solid var(--low); padding-left: 0.5rem; }
.grid { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(min(100%, 20rem), 1fr)); }
.grid.three { grid-template-columns: repeat(auto-fit, minmax(min(100%, 18rem), 1fr)); }
.card {
  background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 0.75rem 1rem; min-width: 0;
}
.big { font-size: 2rem; font-weight: 700; margin: 0.25rem 0; line-height: 1.1; }
.big .unit { font-size: 1rem; font-weight: 400; color: var(--muted); }
.low .big { color: var(--low); }
.gauge { height: 0.6rem; background: var(--grid); border-radius: 4px; overflow: hidden; margin: 0.5rem 0 0.75rem; }
.gauge span { display: block; height: 100%; background: var(--accent); }
.low .gauge span { background: var(--low); }
dl.figures { margin: 0; display: grid; gap: 0.15rem; }
dl.figures div { display: flex; justify-content: space-between; gap: 1rem; border-bottom: 1px dotted var(--line); }
dl.figures dt { color: var(--muted); }
dl.figures dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 0.5rem 0 1rem; }
svg.chart { display: block; width: 100%; height: auto; }
svg.chart.narrow { display: none; }
@media screen and (max-width: 40rem) {
  svg.chart.wide { display: none; }
  svg.chart.narrow { display: block; }
}
ul.legend {
  list-style: none; display: flex; flex-wrap: wrap; gap: 0.2rem 1.2rem; padding: 0; margin: 0.25rem 0 0.5rem;
}
.legend .key {
  display: inline-block; width: 0.85rem; height: 0.85rem; margin-right: 0.4rem; vertical-align: -0.1rem;
  background: var(--c); border-radius: 2px;
}
.legend .key.line {
  width: 1.8rem; height: 0; vertical-align: 0.3rem; background: none; border-radius: 0; border-top: 3px solid var(--c);
}
.legend .key.dashed { border-top-style: dashed; }
.legend .key.dotted { border-top-style: dotted; }
details { margin: 0.5rem 0; }
summary { cursor: pointer; color: var(--accent); }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
caption { text-align: left; color: var(--muted); padding: 0.25rem 0; }
th, td { padding: 0.3rem 0.5rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { font-weight: 600; border-bottom: 2px solid var(--line); white-space: nowrap; }
tbody th { font-weight: 400; }
.num, th.num { text-align: right; white-space: nowrap; }
table.ranked th { width: 100%; overflow-wrap: anywhere; }
table.grants tbody th { min-width: 11rem; }  /* a narrow screen scrolls the table rather than squeeze the names */
.bar { display: block; height: 0.35rem; margin-top: 0.2rem; background: var(--grid); border-radius: 2px; }
.bar span { display: block; height: 100%; background: var(--accent); border-radius: 2px; }
tr.best { background: var(--best); }
.tag {
  font-size: 0.8rem; border: 1px solid var(--line); border-radius: 999px; padding: 0 0.4rem; color: var(--muted);
  white-space: nowrap;
}
.small { font-size: 0.85rem; color: var(--muted); }
.nowrap { white-space: nowrap; }
.card h3 { margin-top: 0; }
code { font-size: 0.9em; }
footer { margin-top: 3rem; font-size: 0.85rem; border-top: 1px solid var(--line); padding-top: 0.5rem; }
@media (max-width: 30rem) {
  body { font-size: 15px; }
  .big { font-size: 1.7rem; }
  th, td { padding: 0.25rem 0.35rem; }
}
@page { size: A4; margin: 14mm 12mm; }
@media print {
  :root {
    --bg: #ffffff; --fg: #000000; --muted: #444444; --card: #ffffff; --line: #bbbbbb; --grid: #dddddd;
    --accent: #0072B2; --low: #b45309; --best: #eeeeee;
  }
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  h2 { break-after: avoid; page-break-after: avoid; margin-top: 1.2rem; }
  h3, h4 { break-after: avoid; page-break-after: avoid; }
  .pool ~ .pool, #grants { break-before: page; page-break-before: always; }
  .card, figure, tr, .verdict, dl.figures div, table.forecast { break-inside: avoid; page-break-inside: avoid; }
  details, summary { display: none; }
  .scroll { overflow: visible; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""
