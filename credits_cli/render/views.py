"""The JSON of each result that is not simply its fields, and the table a report is, by the result's type.

Most results are written as they are: `jsonout` writes a record as an object of its
fields, in order. The results here are reshaped for their command's JSON (a pool's
cycle shown as its end, keys a result has only in some cases ...). docs/json.md and
the tests pin every key and its order.

A view is registered by the module its type belongs to, and a module's views are
looked up when the first of its results is written: by then the command has imported
that module, so writing JSON imports no use case the command did not (simulate and
foresight cost some 10 ms to import, and `balance` needs neither). `credits log`'s
view is jsonout's own, so that log imports no more for --json than for -q.

A report is a table of data (`rows_of`): its columns, and rows written as they stream.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any

# loaded already: jsonout imports this module when it first writes a result
from .jsonout import dumps, fields, log_result

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..domain.catalog import Action, Plan
    from ..reports import Distribution, History, Periods, Shown
    from ..services import Balance, InitResult, PoolBalance
    from ..simulate import Granted, PlanSet
    from .output import Rows


# --- the ledger ------------------------------------------------------------------------------


def pool_balance(p: PoolBalance) -> dict:
    body = {
        "allowance": p.allowance,
        "used": p.used,
        "allowance_used": p.allowance_used,
        "bonus_used": p.bonus_used,
        "allowance_left": p.allowance_left,
        "bonus": p.bonus,
        "available": p.available,
        "next_reset": p.cycle.end,
    }
    if p.expiring is not None:
        body["expiring"] = p.expiring  # each written as its fields: credits, at, source, grant
    if p.daily is not None:
        body["daily"] = {
            "cap": p.daily.cap,
            "used": p.daily.used,
            "left": p.daily.left,
            "resets_at": p.daily.day.end,
        }
    return body


def balance(b: Balance) -> dict:
    """`credits balance`: the workspace, its cycle, a scheduled change, each pool under its name."""
    return {
        "workspace": b.workspace,
        "plan": b.plan,
        "billing": b.billing,
        "timezone": b.timezone,
        "now": b.now,
        "cycle": {"start": b.cycle.start, "end": b.cycle.end},
        "scheduled": (
            {"plan": b.pending.plan, "billing": b.pending.billing, "at": b.pending.effective_at}
            if b.pending is not None
            else None
        ),
        **b.pools,  # each written by pool_balance
        "apps": b.apps,
    }


def init_result(r: InitResult) -> dict:
    """`credits init`: the workspace as it now is, and whether it was created or changed."""
    ws = r.workspace
    return {
        "workspace": ws.name,
        "plan": ws.plan,
        "billing": ws.billing,
        "anchor": ws.anchor,
        "timezone": ws.timezone,
        "created": r.created,
        "changed": r.changed,
    }


def _services() -> dict:
    from .. import services

    return {
        services.LogResult: log_result,  # in jsonout: the one view on `credits log`'s path
        services.PoolBalance: pool_balance,
        services.Balance: balance,
        services.InitResult: init_result,
    }


# --- simulation --------------------------------------------------------------------------------


def _fields(result, *absent: str) -> dict:
    """A record's fields as jsonout writes them, without those of `absent` that are None (not applicable)."""
    return {k: v for k, v in fields(result).items() if not (v is None and k in absent)}


def plan_set(r: PlanSet) -> dict:
    """`credits plan set`: "from" only when the plan changes; the apps kept and refused only onto a plan
    with an app limit."""
    return _fields(r, "from", "apps_kept", "apps_refused")


def granted(g: Granted) -> dict:
    """`credits grant`: a referral grant's number and the program's limit only for a referral."""
    return _fields(g, "referrals", "referral_max")


def _simulate() -> dict:
    from .. import simulate

    return {simulate.PlanSet: plan_set, simulate.Granted: granted}


# --- the catalog -----------------------------------------------------------------------------


def plan(p: Plan) -> dict:
    """`credits plans`: a plan under its name, its features sorted."""
    return {
        "plan": p.name,
        "price_monthly": p.price_monthly,
        "price_yearly": p.price_yearly,
        "message": p.message,
        "integration": p.integration,
        "daily_message_cap": p.daily_message_cap,
        "max_apps": p.max_apps,
        "features": sorted(p.features),
    }


# The amounts among an action's optional fields: written when the catalog sets them, even to 0.
_AMOUNTS = ("price", "max_per_call", "custom_domain_price")


def action(a: Action) -> dict:
    """`credits prices`: an action under its name, pool and unit, then the optional fields the catalog gives
    it, in their order: an amount when it is set, anything else when it is not empty."""
    row = {"action": a.name, "pool": a.pool, "unit": a.unit}
    for k in a.__record_fields__[3:]:  # type: ignore[attr-defined]  # set by record()
        v = getattr(a, k)
        if (v is not None) if k in _AMOUNTS else v:
            row[k] = v
    return row


def _catalog() -> dict:
    from ..domain import catalog

    return {catalog.Plan: plan, catalog.Action: action}


# --- reports: a result seen as a table of data ------------------------------------------------
#
# A report's rows stream: written as they come, as CSV or a JSON array (render/output.write).


def distribution_rows(d: Distribution) -> Rows:
    """apps, members, actions: the group's columns, credits, share and events; budget beside them when set."""
    from ..reports import GROUPS
    from .output import Rows

    budget = ["budget"] if d.rows and "budget" in d.rows[0] else []
    return Rows([*GROUPS[d.by], "credits", "share", "events", *budget], d.rows)


def period_rows(p: Periods) -> Rows:
    """daily, weekly, monthly, cycles: one row a period (reports.COLUMNS)."""
    from ..reports import COLUMNS
    from .output import Rows

    return Rows(list(COLUMNS[p.kind]), p.rows)


def history_rows(h: History) -> Rows:
    """events: the export's fields of each event."""
    from ..domain.events import EXPORT_FIELDS
    from .output import Rows

    return Rows(list(EXPORT_FIELDS), h.rows)


def _reports() -> dict:
    from .. import reports

    return {reports.Distribution: distribution_rows, reports.Periods: period_rows, reports.History: history_rows}


def shown_event(s: Shown) -> dict:
    """`credits show`: the event's fields (the zone it is shown in is for people only)."""
    return s.event


def _shown() -> dict:
    from .. import reports

    return {reports.Shown: shown_event}


# --- the lookup --------------------------------------------------------------------------------

_PACKAGE = __name__.rsplit(".", 2)[0]  # credits_cli


class _ByType:
    """Views keyed by result type. The views of a module's types are registered when the first result of
    that module is looked up: by then the command has imported the module."""

    def __init__(self, by_module: dict[str, Callable[[], dict]]):
        self.by_module = by_module
        self.views: dict[type, Callable[[Any], Any]] = {}

    def __call__(self, kind: type) -> Callable[[Any], Any] | None:
        make = self.by_module.pop(kind.__module__, None)
        if make is not None:
            self.views.update(make())
        return self.views.get(kind)


# The view that writes a result of a type as JSON, or None: it is written as its fields.
view_of = _ByType(
    {
        f"{_PACKAGE}.services": _services,
        f"{_PACKAGE}.simulate": _simulate,
        f"{_PACKAGE}.domain.catalog": _catalog,
        f"{_PACKAGE}.reports": _shown,
    }
)
_rows_view_of = _ByType({f"{_PACKAGE}.reports": _reports})


def rows_of(result) -> Rows | None:
    """A result seen as a table of data, its columns and its rows, or None: it is not a table."""
    view = _rows_view_of(type(result))
    return None if view is None else view(result)


def write_result(result, fmt: str, out: IO[str], indent: int | None = 2) -> None:
    """A use case's result as data, as every command writes it with --json or --csv (`fmt`): a report (a
    table of data: `rows_of`) row by row as its rows stream, as CSV or a JSON array (render/output, a row a
    line); any other result as one JSON document (jsonout: a record as its fields, or its view), indented
    by `indent` (None: on one line)."""
    view = rows_of(result)
    if view is not None:
        from .output import write

        write(view.rows, fmt, out, view.columns)
    elif fmt == "json":
        out.write(dumps(result, indent) + "\n")
    else:
        raise TypeError(f"{fmt} needs a result that is a table of data, not {type(result).__name__}")
