"""`credits init`, `credits log`, `credits balance`: the ledger."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..domain.cycles import iso, when
from ..domain.money import amount
from ..errors import BadInput
from ..render.jsonout import Credits
from .common import (ActionArg, CharsOption, CountOption, CustomDomainOption, JsonOption, ModelOption, ScopeOption,
                     SecondsOption, UnitCreditsOption, emit_json, failures, say, usage)


def pool_json(p) -> dict:
    body = {
        "allowance": Credits(p.allowance),
        "used": Credits(p.used),
        "allowance_left": Credits(p.allowance_left),
        "bonus": Credits(p.bonus),
        "available": Credits(p.available),
        "next_reset": p.cycle.end,
    }
    if p.daily is not None:
        body["daily"] = {
            "cap": Credits(p.daily.cap),
            "used": Credits(p.daily.used),
            "left": Credits(p.daily.left),
            "resets_at": p.daily.day.end,
        }
    return body


def register(app: typer.Typer) -> None:
    @app.command()
    def init(
        ctx: typer.Context,
        plan: Annotated[str, typer.Option("--plan", help="The plan the workspace is on (see: credits plans).")],
        start: Annotated[Optional[str], typer.Option("--start", metavar="ISO-INSTANT",
            help="The exact instant of the original purchase; it anchors every reset (default: now).")] = None,
        timezone: Annotated[Optional[str], typer.Option("--timezone", metavar="IANA-ZONE",
            help="The zone days are counted in, for the free plan's daily cap (default: UTC).")] = None,
        billing: Annotated[Optional[str], typer.Option("--billing", metavar="monthly|yearly",
            help="How the plan is billed (both reset monthly).")] = None,
        json: JsonOption = False,
    ):
        """Set up the workspace as it is on the platform: plan, purchase instant, time zone."""
        from .. import services

        with failures(json):
            s = ctx.obj
            result = services.init(s, plan, start, timezone, billing)
            ws = result.workspace
            if json:
                emit_json({
                    "workspace": ws.name, "plan": ws.plan, "billing": ws.billing, "anchor": ws.anchor,
                    "timezone": ws.timezone, "created": result.created, "changed": result.changed,
                })
                return
            verb = "created" if result.created else ("updated" if result.changed else "unchanged")
            print(f"Workspace {ws.name!r} {verb}: {ws.plan} plan ({ws.billing}), resets on {iso(ws.anchor)}"
                  f" each month, days in {ws.timezone}")

    @app.command()
    def log(
        ctx: typer.Context,
        action: ActionArg,
        model: ModelOption = None,
        seconds: SecondsOption = None,
        chars: CharsOption = None,
        custom_domain: CustomDomainOption = False,
        count: CountOption = "1",
        credits: UnitCreditsOption = None,
        scope: ScopeOption = None,
        app_name: Annotated[Optional[str], typer.Option("--app", metavar="NAME", help="The app it was for.")] = None,
        member: Annotated[Optional[str], typer.Option("--member", metavar="NAME", help="Who did it.")] = None,
        note: Annotated[Optional[str], typer.Option("--note", metavar="TEXT", help="A note kept with the event.")] = None,
        at: Annotated[Optional[str], typer.Option("--at", metavar="ISO-INSTANT", help="When it happened (default: now).")] = None,
        key: Annotated[Optional[str], typer.Option("--key", metavar="KEY",
            help="Idempotency key: the same key and payload are recorded once.")] = None,
        input_text: Annotated[Optional[str], typer.Option("--input", metavar="TEXT",
            help="The call's input: only a fingerprint is kept, to count repeated inputs (credits advise).")] = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Quote the cost and what would be left; record nothing.")] = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing (the exit code tells).")] = False,
        json: JsonOption = False,
    ):
        """Record one usage event, priced from the catalog, debited from its pool.

        Exit 0 when recorded (or already recorded under --key), 3 when credits or the daily cap are not enough.
        """
        from .. import services

        with failures(json):
            if quiet and json:
                raise BadInput("--quiet", "cannot be used with --json")
            use = usage(action, model, seconds, chars, custom_domain, count, credits, scope)
            req = services.LogRequest(usage=use, at=at, key=key, app=app_name, member=member, note=note,
                                      dry_run=dry_run, input=input_text)
            s = ctx.obj
            try:
                r = services.log(s, req)
            finally:
                for n in s.notices if not quiet else ():
                    say(n)
            if r.alerts:
                from ..foresight import run_alert_commands

                for a in r.alerts:
                    say(a["message"])
                run_alert_commands(r.alerts, s.workspace_name)
            if quiet:
                return
            if json:
                emit_json({
                    "id": r.id,
                    "action": r.quote.action,
                    "model": r.quote.model,
                    "scope": r.quote.scope,
                    "pool": r.quote.pool,
                    "quantity": r.quote.count,
                    "credits": Credits(r.quote.credits),
                    "available": Credits(r.balance.available),
                    "at": r.at,
                    "app": r.app,
                    "member": r.member,
                    "key": r.key,
                    "replayed": r.replayed,
                    "dry_run": r.dry_run,
                    "paid_by": [{"grant": p["grant"], "source": p["source"], "credits": Credits(p["credits"])}
                                for p in r.paid_by],
                    "next_reset": r.balance.cycle.end,
                    "alerts": [a["message"] for a in r.alerts],
                })
                return
            b = r.balance
            left = f"{amount(b.available, b.pool)} available"
            if b.daily is not None and b.daily.left == b.available:
                left += f" today (daily cap; resets {when(b.daily.day.end, b.daily.zone)})"
            else:
                left += f" (resets {when(b.cycle.end)})"
            cost = f"{amount(r.quote.credits, r.quote.pool)} for {r.description}"
            if r.replayed:
                print(f"Already recorded as event {r.id}: {cost}; {left}")
            elif r.dry_run:
                print(f"Would charge {cost}; then {left}")
            else:
                print(f"Charged {cost} (event {r.id}); {left}")

    @app.command()
    def balance(ctx: typer.Context, json: JsonOption = False):
        """Show both pools: allowance, used this cycle, bonus, available now, next reset."""
        from .. import services

        with failures(json):
            s = ctx.obj
            try:
                b = services.balance(s)
            finally:
                for n in s.notices:
                    say(n)
            if json:
                emit_json({
                    "workspace": b.workspace,
                    "plan": b.plan,
                    "billing": b.billing,
                    "timezone": b.timezone,
                    "now": b.now,
                    "cycle": {"start": b.cycle.start, "end": b.cycle.end},
                    "scheduled": ({"plan": b.pending.plan, "billing": b.pending.billing, "at": b.pending.effective_at}
                                  if b.pending is not None else None),
                    **{name: pool_json(p) for name, p in b.pools.items()},
                })
                return
            from .. import reports
            from ..render import human

            human.balance(b, reports.distribution(s, "app", pool="integration"))


def register_checks(app: typer.Typer) -> None:
    @app.command()
    def check(ctx: typer.Context, json: JsonOption = False):
        """Recompute every balance from the entries; exit 1 with the details of any difference."""
        from .. import check as check_mod

        with failures(json):
            r = check_mod.check_ledger(ctx.obj)
            if json:
                emit_json(r)
            elif r["ok"]:
                print(f"Ledger consistent: {r['events']:,} events and {r['grants']:,} grants checked.")
            else:
                for p in r["problems"]:
                    say(p["message"])
            if not r["ok"]:
                if not json:
                    say(f"{len(r['problems'])} problem(s) found")
                raise typer.Exit(1)

    @app.command()
    def doctor(ctx: typer.Context, json: JsonOption = False):
        """Check the database file: SQLite version, schema, WAL, durability, permissions, integrity."""
        from .. import check as check_mod

        with failures(json):
            r = check_mod.doctor(ctx.obj)
            if json:
                emit_json(r)
            else:
                print(f"Ledger file: {r['path']}")
                for c in r["checks"]:
                    print(f"  {'ok ' if c['ok'] else 'FIX'} {c['check']:<13} {c['value']}"
                          + (f"\n      {c['advice']}" if not c["ok"] else ""))
            if not r["ok"]:
                raise typer.Exit(1)
