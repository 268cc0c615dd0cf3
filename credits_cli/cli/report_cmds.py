"""The reports: apps, members, actions, daily, events, show."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from ..domain.money import parse_count
from ..render.jsonout import Credits
from .common import CsvOption, JsonOption, failures, output_format

PoolOption = Annotated[Optional[str], typer.Option("--pool", metavar="message|integration",
                                                   help="The pool to report on (default integration).")]
SinceOption = Annotated[Optional[str], typer.Option("--since", metavar="DATE|ISO",
                                                    help="From this day (in the workspace's zone) or instant.")]
UntilOption = Annotated[Optional[str], typer.Option("--until", metavar="DATE|ISO",
                                                    help="Up to this day, included, or this instant, excluded.")]
AppFilter = Annotated[Optional[str], typer.Option("--app", metavar="NAME", help="Only this app.")]
MemberFilter = Annotated[Optional[str], typer.Option("--member", metavar="NAME", help="Only this member.")]
ActionFilter = Annotated[Optional[str], typer.Option("--action", metavar="ACTION", help="Only this action.")]
PoolFilter = Annotated[Optional[str], typer.Option("--pool", metavar="message|integration", help="Only this pool.")]


def _with_credits(row: dict, *fields: str) -> dict:
    return {k: (Credits(v) if k in fields else v) for k, v in row.items()}


def register(app: typer.Typer) -> None:
    def distribution_command(by: str, doc: str):
        def command(
            ctx: typer.Context,
            pool: PoolOption = None,
            since: SinceOption = None,
            until: UntilOption = None,
            app_name: AppFilter = None,
            member: MemberFilter = None,
            action: ActionFilter = None,
            json: JsonOption = False,
            csv: CsvOption = False,
        ):
            from .. import reports

            fmt = output_format(json, csv)
            with failures(fmt == "json"):
                d = reports.distribution(ctx.obj, by, pool=pool or "integration", since=since, until=until,
                                         app=app_name, member=member, action=action)
                rows = [_with_credits(r, "credits") for r in d.rows]
                if by in ("app", "member"):
                    from ..foresight import budgets_by

                    budgets = budgets_by(ctx.obj, by, d.scope.filter.pool)
                    if budgets:
                        for r in rows:
                            r["budget"] = Credits(budgets[r[by]]) if r[by] in budgets else None
                if fmt != "table":
                    from ..render.output import write

                    extra = ["budget"] if rows and "budget" in rows[0] else []
                    write(rows, fmt, sys.stdout, list(reports.GROUPS[by]) + ["credits", "share", "events"] + extra)
                    return
                from ..render import human

                human.distribution(d, {r[by]: r["budget"].milli for r in rows if r.get("budget")})

        command.__doc__ = doc
        command.__name__ = f"{by}s"
        app.command(name=f"{by}s")(command)

    distribution_command("app", "Credit usage by app, largest first: bar, credits and share of the pool.")
    distribution_command("member", "Credit usage by member, largest first: bar, credits and share of the pool.")
    distribution_command("action", "Credit usage by action and model (the per-feature breakdown), largest first.")

    @app.command()
    def daily(
        ctx: typer.Context,
        pool: PoolOption = None,
        since: SinceOption = None,
        until: UntilOption = None,
        app_name: AppFilter = None,
        member: MemberFilter = None,
        action: ActionFilter = None,
        json: JsonOption = False,
        csv: CsvOption = False,
    ):
        """Daily usage: one bar per day of the workspace's zone, days without use shown as zero."""
        from .. import reports

        fmt = output_format(json, csv)
        with failures(fmt == "json"):
            d = reports.daily(ctx.obj, pool=pool or "integration", since=since, until=until, app=app_name,
                              member=member, action=action)
            rows = [_with_credits(r, "credits") for r in d.days]
            if fmt != "table":
                from ..render.output import write

                write(rows, fmt, sys.stdout, ["date", "credits", "events"])
                return
            from ..render import human

            human.daily(d)

    @app.command()
    def events(
        ctx: typer.Context,
        app_name: AppFilter = None,
        member: MemberFilter = None,
        action: ActionFilter = None,
        pool: PoolFilter = None,
        since: SinceOption = None,
        until: UntilOption = None,
        limit: Annotated[str, typer.Option("--limit", metavar="N", help="At most N events (0: all).")] = "50",
        json: JsonOption = False,
        csv: CsvOption = False,
    ):
        """The history of logged events, newest first."""
        from .. import reports
        from ..domain.events import EXPORT_FIELDS

        fmt = output_format(json, csv)
        with failures(fmt == "json"):
            n = parse_count(limit, "--limit", minimum=0)
            s = ctx.obj
            sc, rows = reports.events(s, limit=n or None, pool=pool, app=app_name, member=member, action=action,
                                      since=since, until=until)
            rows = (_with_credits(r, "credits") for r in rows)
            if fmt != "table":
                from ..render.output import write

                write(rows, fmt, sys.stdout, list(EXPORT_FIELDS))
                return
            from ..render import human

            shown = list(rows)
            human.events(shown, sc)
            total = reports.count_events(s, sc)
            if n and total > len(shown):
                print(f"(the newest {len(shown)} of {total:,} events; --limit 0 shows all)", file=sys.stderr)

    @app.command()
    def show(
        ctx: typer.Context,
        event_id: Annotated[str, typer.Argument(metavar="ID", help="The event's id (see: credits events).")],
        json: JsonOption = False,
    ):
        """One event with the grants that paid for it (the platform's "Credits Used")."""
        from .. import reports

        with failures(json):
            e = reports.show(ctx.obj, event_id)
            if json:
                from .common import emit_json

                body = _with_credits(e, "credits")
                body["paid_by"] = [_with_credits(p, "credits") for p in e["paid_by"]]
                emit_json(body)
                return
            from ..render import human

            human.show(e)
