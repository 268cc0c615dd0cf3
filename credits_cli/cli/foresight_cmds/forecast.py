"""`credits forecast`, `estimate`, `advise`, `status` and `watch`: looking ahead."""

from __future__ import annotations

import sys
import time
from typing import Annotated

import typer

from ...domain.cycles import when
from ...domain.money import amount, fmt
from .. import spec
from ..common import JsonOption, PoolOption, failures, from_spec, names, notices, respond, usage
from .shared import use_cases

app = typer.Typer()


def _per_day(milli: int) -> str:
    return f"{fmt(round(milli, -2))} a day"  # to 0.1 credit for a person; JSON stays exact


@app.command()
def forecast(ctx: typer.Context, pool: PoolOption = None, json: JsonOption = False):
    """When each pool runs out at the current pace (last 7 days, weighted to the latest), with a P50/P90 range."""
    respond(ctx, json, lambda s: use_cases().forecast(s, pool), _forecast_text)


def _forecast_text(pools: dict) -> None:
    for p, v in pools.items():
        if v.runs_out_at is None:
            print(f"{p}: no use lately; {amount(v.available)} last until the reset, {when(v.next_reset)}.")
            continue
        verdict = (
            f"runs out {when(v.runs_out_at)}, {v.days_before_reset} days before the reset"
            if v.before_reset
            else f"lasts until the reset, {when(v.next_reset)}"
        )
        p90_out = v.p90.runs_out_at
        spread = f"P50 {_per_day(v.p50.burn_per_day)}, P90 {_per_day(v.p90.burn_per_day)}"
        if p90_out is not None and p90_out < v.next_reset:
            spread += f": at P90 out by {when(p90_out)}"
        else:
            spread += ": it lasts until the reset either way"
        print(f"{p}: {_per_day(v.burn_per_day)}, {fmt(v.available)} left: {verdict} ({spread}).")


@app.command()
@from_spec(*spec.USAGE, *spec.TIMES, spec.JSON, required=("action",))
def estimate(ctx: typer.Context, per_day=None, users=None, per_user=None, json=False, **use):
    """What a feature costs a day and a cycle, and which plans cover it with what to spare."""
    shown = names(ctx)  # a plan that lacks a feature says why, naming the option or argument that asks for it

    def run(s):
        e = use_cases().estimate(s, usage(use), per_day, users, per_user)
        return use_cases().with_reasons(e, lambda field: shown.get(field, field))

    respond(ctx, json, run, _estimate_text)


def _estimate_text(e) -> None:
    print(
        f"{e.action}: {fmt(e.unit_cost)} a use × {e.times_per_day:,} a day ="
        f" {amount(e.per_day, e.pool)} a day, {fmt(e.per_cycle)} a cycle"
        f" ({e.cycle_days} days)."
    )
    for r in e.plans:
        mark = f"fits, {fmt(r.spare)} to spare" if r.fits else f"does not fit: {r.why}"
        print(f"  {r.plan:<8} {fmt(r.allowance):>8}  {mark}")


@app.command()
def advise(
    ctx: typer.Context,
    flat: Annotated[
        str | None, typer.Option("--flat", metavar="PRICE", help="Also compare a flat-rate offer ($ a month).")
    ] = None,
    json: JsonOption = False,
):
    """Replay recent cycles under every plan: what each blocks, wastes and costs; features to cache or cheapen."""
    respond(ctx, json, lambda s: use_cases().advise(s, flat), _advice_text)


def _advice_text(a) -> None:
    from ...render import human

    human.advice(a)


@app.command()
def status(
    ctx: typer.Context,
    line: Annotated[bool, typer.Option("--line", help="One short line (for a prompt or a status bar).")] = False,
    json: JsonOption = False,
):
    """Both pools, days to reset and a warning mark, in one short line."""
    respond(ctx, json, lambda s: use_cases().status_line(s), lambda st: _status_text(st, line))


def _status_text(st, line: bool) -> None:
    m, i = st.pools["message"], st.pools["integration"]
    mark = (" ⚠" if (sys.stdout.encoding or "").lower().startswith("utf") else " !") if st.warning else ""
    text = (
        f"msg {fmt(m.available)}/{fmt(m.allowance)} · int {fmt(i.available)}/{fmt(i.allowance)}"
        f" · reset {int(st.days_to_reset)}d{mark}"
    )
    print(text if line else f"credits: {text}")


@app.command()
def watch(
    ctx: typer.Context,
    interval: Annotated[
        float, typer.Option("--interval", metavar="SECONDS", help="How often to look for changes.")
    ] = 1.0,
    iterations: Annotated[int, typer.Option("--iterations", hidden=True)] = 0,
):
    """A live dashboard that redraws when the ledger changes (Ctrl-C to stop)."""
    from ... import reports, services
    from ...render import human

    with failures():
        s = ctx.obj
        if not 0.1 <= interval <= 3600:
            from ...errors import BadInput

            raise BadInput("interval", "must be between 0.1 and 3600 seconds")
        last, drawn, n = None, 0.0, 0
        try:
            while True:
                version = s.store.data_version()
                if version != last or time.monotonic() - drawn > 60:
                    b = services.balance(s)
                    s.release()  # a first-use workspace is not left holding the write lock while watching
                    if sys.stdout.isatty():
                        print("\x1b[2J\x1b[H", end="")
                    human.balance(b, reports.distribution(s, "app", pool="integration"))
                    last, drawn = version, time.monotonic()
                n += 1
                if iterations and n >= iterations:
                    break
                time.sleep(interval)
        except KeyboardInterrupt:
            pass
        notices(s)
