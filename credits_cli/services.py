"""Use cases: each opens what it needs, runs the domain rules and writes in one
transaction. They return records; render/ shows them (render/views.py: as JSON)."""

from __future__ import annotations

import json
import os
import re
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from functools import cached_property

from .clock import Clock
from .domain import catalog as catalog_mod
from .domain.catalog import Catalog, Plan
from .domain.cycles import Interval, cycle_at, day_at, from_storage, iso, parse_instant, parse_zone, storage, when
from .domain.events import CONTENT_FIELDS, fingerprint
from .domain.ledger import (
    Grant,
    PlanChange,
    allocate,
    available,
    change_in_force,
    daily_left,
    pending_change,
    plan_in_force,
)
from .domain.money import Credits, amount, fmt, shown
from .domain.pricing import Quote, Usage, app_refuses, apps_kept, describe, price
from .errors import BadInput, KeyConflict, NotAllowed, Refused
from .records import field, record, replace
from .store.db import default_path, is_url
from .store.ledger import Ledger
from .store.repo import WorkspaceRow

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (`credits log`'s start-up)
if TYPE_CHECKING:
    from .config import Settings

DEFAULT_WORKSPACE = "default"
_TINY = timedelta(microseconds=1)
_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,64}")
_UNSAFE = re.compile("[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]")  # control and text-direction characters
NOT_UTF8 = re.compile("[\ud800-\udfff]")  # lone surrogates: what Python makes of bytes that are not UTF-8


@contextmanager
def user_file_errors(path, field: str):
    """Reading a file the user named: its failures as bad input naming the option or argument."""
    try:
        yield
    except FileNotFoundError:
        raise BadInput(field, f"no such file {str(path)!r}") from None
    except IsADirectoryError:
        raise BadInput(field, f"{str(path)!r} is a directory") from None
    except OSError as e:
        raise BadInput(field, f"cannot read {str(path)!r}: {e.strerror}") from None


def read_user_file(path, field: str) -> bytes:
    """A file the user named, whole."""
    with user_file_errors(path, field), open(path, "rb") as f:
        return f.read()


def check_name(value: str | None, field: str, *, limit: int = 200) -> str | None:
    """Free text a user names things with (apps, members, notes): printable, bounded."""
    if value is None:
        return None
    if not value.strip():
        raise BadInput(field, "is empty")
    if len(value) > limit:
        raise BadInput(field, f"is {len(value):,} characters long; at most {limit} are allowed")
    if _UNSAFE.search(value):
        raise BadInput(field, "contains control or text-direction characters")
    if NOT_UTF8.search(value):  # bytes that were not UTF-8 (argv), or a lone \ud800 escape in JSON
        raise BadInput(field, "is not valid UTF-8 text")
    return value


def check_workspace_name(name: str, field: str = "workspace") -> str:
    if not _NAME.fullmatch(name) or not name.strip():
        raise BadInput(field, f"{shown(name)} is not a workspace name (1 to 64 printable characters)")
    return name


def names_in_use(s: Session, field: str) -> list[str]:
    """The names the session's workspace's events give `field` ("app" or "member"), for shell completion.

    The ledger is read as it is, opened only to read (`Ledger.reader`): a ledger or a workspace that does
    not exist yet has no names, and nothing is created, migrated or recorded.
    """
    store = Ledger.reader(s.db_path or default_path())
    if store is None:
        return []
    try:
        ws = store.get_workspace(s.workspace_name)
        return [] if ws is None else store.names_used(ws.id, field)
    finally:
        store.close()


class Session:
    """What every command shares: where the ledger is, the clock, the workspace, the catalog.

    `timezone_default`: the zone reports use when none is asked for (the configuration file's `timezone`;
    None: each workspace's own). `settings`: the settings in force and where each came from (config.settle),
    when the command line made the session.
    """

    # The zone reports count days in and show times in when neither --timezone nor CREDITS_TIMEZONE gives
    # one (a configuration's `timezone`); None: the workspace's own (reports.report_zone).
    timezone_default: str | None = None

    def __init__(
        self,
        db: str | None = None,
        now: str | None = None,
        workspace: str | None = None,
        catalog: str | None = None,
        *,
        timezone_default: str | None = None,
        settings: Settings | None = None,
    ):
        for name, value in (("db", db), ("now", now), ("catalog", catalog)):
            if value is not None and not value.strip():
                raise BadInput(name, "is empty (leave it out for the default)")
        if now is not None:
            parse_instant(now, "now")  # refuse a malformed clock before any file is touched
        self.db_path = os.path.expanduser(db) if db else None
        self.clock = Clock(now)
        self.workspace_name = check_workspace_name(workspace if workspace is not None else DEFAULT_WORKSPACE)
        # --workspace or CREDITS_WORKSPACE given (without, `copy` copies every workspace)
        self.workspace_given = workspace is not None
        self.catalog_path = catalog or None
        self.timezone_default = timezone_default
        self.settings = settings
        self.notices: list[str] = []  # one-line notes for stderr (e.g. "created workspace")

    def again(self) -> Session:
        """A new session with the same settings: nothing opened yet, the real clock read afresh (a server
        answering requests one after the other opens the ledger for each, and sees what others wrote)."""
        return Session(
            db=self.db_path,
            now=self.clock.override,
            workspace=self.workspace_name if self.workspace_given else None,
            catalog=self.catalog_path,
            timezone_default=self.timezone_default,
            settings=self.settings,
        )

    @cached_property
    def catalog(self) -> Catalog:
        if self.catalog_path is None:
            with open(os.path.join(os.path.dirname(__file__), "data", "catalog.json"), encoding="utf-8") as f:
                return catalog_mod.parse_builtin(f.read())  # the JSON twin of data/catalog.toml
        path = os.path.expanduser(self.catalog_path)
        try:
            text = read_user_file(path, "catalog").decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput("catalog", f"{str(path)!r} is not UTF-8 text") from None
        return catalog_mod.parse_catalog(text, str(path))

    @cached_property
    def store(self) -> Ledger:
        store = Ledger.open(self.db_path or default_path(), given=self.db_path is not None)
        team = store.team
        if team is not None and team.kind is None:
            store.close()
            raise NotAllowed(
                f"{team.role} is not in the team of this ledger; an admin can add it: credits team add {team.role}",
                role=team.role,
            )
        return store

    # -- the team (a ledger on a server: store.team; on a file, its one user may do everything) ----------

    @property
    def on_server(self) -> bool:
        """Whether the ledger is on a server (a URL), known without opening it."""
        return self.db_path is not None and is_url(self.db_path)

    def admin_only(self, doing: str) -> None:
        """Refuse (exit 4) what only an admin may do to a member of a team's ledger, before anything is
        written. `doing`: what an admin can do, in a few words ("add grants")."""
        if not self.on_server:
            return  # a file: nothing to ask (and nothing opened before the command's own checks)
        team = self.store.team
        if team is not None and team.kind != "admin":
            raise NotAllowed(f"{team.role} is a member of this ledger; an admin can {doing}", role=team.role)

    def log_as(self, member: str | None) -> str | None:
        """Whom an event is recorded for: a member of a team's ledger logs as itself (`--member` naming
        anyone else is refused, exit 4); an admin, and the user of a file, as given."""
        team = self.store.team
        if team is None or team.kind != "member":
            return member
        if member is not None and member != team.role:
            raise NotAllowed(
                f"{team.role} is a member of this ledger and its events are its own: member {member!r}"
                " is someone else (an admin can log for anyone)",
                role=team.role,
            )
        return team.role

    def close(self) -> None:
        """Undo a first-use write the command did not keep (`release`: it failed), and close the ledger."""
        held, self._held = self._held, None
        if held is not None:
            failed = RuntimeError("the command did not succeed")
            held.__exit__(RuntimeError, failed, None)
            self.created = None
        if "store" in self.__dict__:
            self.__dict__.pop("store").close()

    # -- workspace --------------------------------------------------------------

    def existing_workspace(self) -> WorkspaceRow | None:
        """The session's workspace, or None for a `default` not created yet."""
        ws = self.store.get_workspace(self.workspace_name)
        if ws is None and self.workspace_name != DEFAULT_WORKSPACE:
            raise BadInput(
                "workspace",
                f"no workspace named {self.workspace_name!r}; create it with "
                f"credits --workspace {self.workspace_name!r} init --plan PLAN",
            )
        return ws

    def default_plan(self) -> str:
        return "free" if "free" in self.catalog.plans else next(iter(self.catalog.plans))

    def first_use(self) -> WorkspaceRow:
        """The session's workspace, `default` created now if this is its first use, inside the
        caller's write transaction (free plan, anchored now), and announced once the command succeeds."""
        ws = self.existing_workspace()
        if ws is None:
            self.admin_only(f"create the workspace {self.workspace_name!r}: credits init")
            now = self.clock.now().replace(microsecond=0)
            ws = self.store.insert_workspace(
                self.workspace_name, self.default_plan(), catalog_mod.MONTHLY, now, "UTC", now
            )
            record_allowances(self.store, self.catalog, now)
            self.created = ws
        return ws

    def workspace(self) -> WorkspaceRow:
        """The session's workspace for a command that reads it.

        One rule for every command: a `default` used for the first time is created (free plan,
        anchored now) and announced on stderr, in the command's own write: a command that only
        reads opens that write here and holds it to its end (`close`), so one refused for bad input
        changes nothing.
        """
        ws = self.existing_workspace()
        if ws is not None:
            return ws
        if not self.store.in_transaction:
            self._held = ExitStack()
            self._held.enter_context(self.store.write())
        return self.first_use()

    _held: ExitStack | None = None  # a reading command's first-use write, kept or undone by `close`
    created: WorkspaceRow | None = None  # the `default` this command created (the CLI announces it)

    def release(self) -> None:
        """Keep the first-use write: the command succeeded (or waits long: `watch`, an import's checks)."""
        held, self._held = self._held, None
        if held is not None:
            held.close()

    @contextmanager
    def writing(self):
        """One serialized write on the session's workspace (a first-use default is created in it)."""
        before = self.created
        try:
            with self.store.write():
                yield self.first_use()
        except BaseException:
            self.created = before  # rolled back with the write
            raise

    def take_notices(self) -> list[str]:
        """The one-line notes for stderr this command has made so far, each once."""
        notes, self.notices = self.notices, []
        if self.created is not None and self.created is not self._announced:
            ws = self._announced = self.created
            notes.insert(
                0,
                f"created workspace {ws.name!r} on the {ws.plan} plan, cycles anchored at"
                f" {iso(ws.anchor)} (set the real plan and start with: credits init)",
            )
        return notes

    _announced: WorkspaceRow | None = None

    def now_in(self, ws: WorkspaceRow) -> datetime:
        """Now, read in the workspace's zone: --now / CREDITS_NOW, else the workspace's simulated
        clock, else the real one. Refused before the workspace began."""
        zone = parse_zone(ws.timezone, "workspace timezone")
        simulated = None if self.clock.is_set else self.store.sim_clock(ws.id)
        now = simulated or self.clock.now(zone)
        if now < ws.anchor:
            raise BadInput("now", f"{iso(now)} is before the workspace began ({iso(ws.anchor)})")
        return now


@record
class DailyCap:
    cap: Credits
    used: Credits
    left: Credits
    day: Interval
    zone: object  # the workspace's ZoneInfo: the day is counted there


@record
class Expiring:
    """The unused credits of one bonus grant, lost at `at` unless they are used first."""

    credits: Credits
    at: datetime
    source: str  # the grant, readably: "coupon SPRING-10", "top-up: 2 packs", "promo: launch week"
    grant: int


@record
class PoolBalance:
    """One pool this cycle. Every view of it adds up (README, `credits balance`):

    allowance_used + allowance_left == allowance
    allowance_used + bonus_used     == used
    allowance_left + bonus          == left         (>= available; equal without a daily cap)
    used + left                     == the meter's total
    """

    pool: str
    allowance: Credits  # the plan's credits for this cycle: its allowance and any upgrade's top-up
    used: Credits  # all use this cycle (events dated in it, voids netted), whatever paid
    allowance_left: Credits
    bonus: Credits  # left in live grants other than the plan's (coupons, shares, promotions, top-ups)
    available: Credits  # what can be spent now (daily cap included)
    cycle: Interval
    daily: DailyCap | None
    allowance_used: Credits = Credits(0)  # this cycle's use the plan's credits paid
    bonus_used: Credits = Credits(0)  # this cycle's use bonus credits paid
    expiring: list[Expiring] | None = None  # bonus credits about to expire, soonest first (`balance` asks)

    @property
    def left(self) -> int:
        """What the cycle still holds, the daily cap aside."""
        return self.allowance_left + self.bonus


@record
class Balance:
    workspace: str
    plan: str
    billing: str
    timezone: str
    now: datetime
    cycle: Interval
    pools: dict[str, PoolBalance]
    pending: PlanChange | None = None  # a scheduled plan change
    apps: dict | None = None  # on (or scheduled for) a plan with max_apps: apps_view's figures


class Plans:
    """The plan in force at any instant, from the workspace's initial plan and its recorded changes."""

    def __init__(self, session: Session, store, ws: WorkspaceRow):
        self.catalog = session.catalog
        self.ws = ws
        self.changes = store.plan_changes(ws.id)
        self.store = store
        self._recorded: dict[tuple[str, str], int] | None = None

    def named_at(self, t: datetime) -> tuple[str, str]:
        return plan_in_force((self.ws.plan, self.ws.billing), self.changes, t)

    def at(self, t: datetime) -> Plan:
        return self.catalog.plan(self.named_at(t)[0], field="workspace plan")

    def since(self, t: datetime) -> datetime:
        """When the plan in force at `t` took effect (a daily cap counts only use under it)."""
        change = change_in_force(self.changes, t)
        return self.ws.anchor if change is None else change.effective_at

    def allowance(self, pool: str, t: datetime) -> Credits:
        """A cycle's allowance of the plan in force at `t`: the catalog's; on a team's ledger, for a member,
        the one its admins recorded (a member's own catalog does not set the team's pool; when none is
        recorded, the catalog's, which the server refuses to write)."""
        plan = self.at(t)
        team = self.store.team
        if team is None or team.kind != "member":
            return plan.allowance(pool)
        if self._recorded is None:
            self._recorded = self.store.team_allowances()
        return Credits(self._recorded.get((plan.name, pool), plan.allowance(pool)))

    def pending(self, now: datetime):
        """A change decided and not yet in force (a downgrade waiting for the reset), or None."""
        return pending_change(self.changes, now)


def cycle_allowance(plans: Plans, pool: str, cycle: Interval) -> Grant:
    """A cycle's allowance grant, as it is written down once it is first drawn on: the credits of the
    plan in force at the cycle's start, live for the cycle."""
    return Grant(None, pool, "allowance", plans.allowance(pool, cycle.start), cycle.start, cycle.end, cycle.start)


def unwritten_allowance(store, ws, plans: Plans, pool: str, cycle: Interval) -> Grant | None:
    """The cycle's allowance while nothing has drawn on it (so it is not written down yet), else None."""
    if store.allowance_grant(ws.id, pool, cycle.start) is not None:
        return None
    return cycle_allowance(plans, pool, cycle)


def with_allowance(grants: list[Grant], plans: Plans, pool: str, cycle: Interval) -> list[Grant]:
    """The grants of `cycle` as read from the store, with its allowance if that is not written down yet."""
    if any(g.source == "allowance" and g.starts_at == cycle.start for g in grants):
        return grants
    return grants + [cycle_allowance(plans, pool, cycle)]


def ensure_allowance(store, ws, plans: Plans, pool: str, cycle: Interval) -> None:
    """Write the cycle's allowance down (once) before something draws on it."""

    def make() -> tuple[Grant, str]:
        record_allowances(store, plans.catalog, cycle.start)
        return cycle_allowance(plans, pool, cycle), f"{plans.at(cycle.start).name} plan allowance"

    store.ensure_allowance(ws.id, pool, cycle.start, make)


def record_allowances(store, catalog: Catalog, at: datetime) -> None:
    """On a team's ledger, an admin's write records its catalog's plans' allowances (those that changed):
    the ledger's members' logs write a new cycle's allowance from them, and the server holds them to it."""
    team = store.team
    if team is not None and team.kind == "admin":
        amounts = {(p.name, pool): int(p.allowance(pool)) for p in catalog.plans.values() for pool in catalog_mod.POOLS}
        store.record_allowances(amounts, at)


def write_grant(
    store, ws, pool: str, source: str, amount: int, starts_at: datetime, expires_at, granted_at, reason: str
) -> int:
    """Write a grant and pay again, in time order, the pool's events from its start on.

    Instants decide which grants are live for an event, whatever order things were written
    in: an event recorded at the very instant a grant starts is paid as if the grant had been
    there (soonest expiry first), now rather than only when a later change re-pays it.
    """
    gid = store.insert_grant(ws.id, pool, source, amount, starts_at, expires_at, granted_at, reason)
    repay_after(store, ws, pool, starts_at - _TINY)
    return gid


ALLOWANCE_SOURCES = ("allowance", "upgrade")  # the plan's credits for a cycle (an upgrade adds to them)


def plan_credits(grants: list[Grant], cycle: Interval) -> list[Grant]:
    """Of `grants`, the plan's credits for `cycle`: its allowance and what an upgrade added to it."""
    return [g for g in grants if g.source in ALLOWANCE_SOURCES and g.expires_at == cycle.end]


def daily_cap(store, ws, plans: Plans, zone, pool: str, t: datetime) -> DailyCap | None:
    """The daily cap on the local day (in `zone`) holding `t`: what the plan in force at `t` allows a
    day, what that day used under it (use before the plan took effect does not count), what is left.
    None when that plan has no daily cap on `pool`."""
    cap = plans.at(t).daily_cap(pool)
    if cap is None:
        return None
    day = day_at(t, zone)
    used = store.sum_credits(ws.id, pool, max(day.start, plans.since(t)), day.end)
    return DailyCap(Credits(cap), Credits(used), Credits(daily_left(cap, used)), day, zone)


def pool_balance(store, ws, plans: Plans, pool: str, now: datetime) -> PoolBalance:
    zone = parse_zone(ws.timezone, "workspace timezone")
    cycle = cycle_at(ws.anchor, now)
    live = [g for g in store.live_grants(ws.id, pool, now, now).values() if g.live_at(now)]
    grants = with_allowance(live, plans, pool, cycle)
    plan_grants = plan_credits(grants, cycle)
    bonus = sum(max(0, g.left) for g in grants if g not in plan_grants)
    allowance_left = sum(max(0, g.left) for g in plan_grants)
    available_now = allowance_left + bonus
    daily = daily_cap(store, ws, plans, zone, pool, now)
    if daily is not None:
        available_now = min(available_now, daily.left)
    allowance = sum(g.amount for g in plan_grants)  # as granted for this cycle (a catalog change applies next)
    used = store.sum_credits(ws.id, pool, cycle.start, cycle.end)
    allowance_used = sum(g.used for g in plan_grants)  # the plan's grants live in this cycle only: all its use
    return PoolBalance(
        pool=pool,
        allowance=Credits(allowance),
        used=Credits(used),
        allowance_left=Credits(allowance_left),
        bonus=Credits(bonus),
        available=Credits(available_now),
        cycle=cycle,
        daily=daily,
        allowance_used=Credits(allowance_used),
        # the rest of the cycle's use; not read from the allocations: a void that could not give credits
        # back to an expired coupon nets its event out of `used`, and what it lost was not use
        bonus_used=Credits(used - allowance_used),
    )


EXPIRING_DAYS = 7  # `balance` names the bonus credits that expire before the next reset, or within this many days


def grant_name(source: str, reason: str | None) -> str:
    """A grant as a person names it: a coupon's and a top-up's reason is their name ("coupon SPRING-10",
    "top-up: 2 packs"); any other says its source and why ("promo: launch week")."""
    if reason is None:
        return source
    return reason if source in ("coupon", "topup") else f"{source}: {reason}"


def expiring(store, ws, pool: str, now: datetime, until: datetime) -> list[Expiring]:
    """The pool's bonus credits live now that expire at or before `until`: each grant's unused part, soonest
    first. The plan's credits (the cycle's allowance, an upgrade's top-up) are not bonus: they reset."""
    return [
        Expiring(Credits(g.left), g.expires_at, grant_name(g.source, reason), g.id)
        for g, reason in store.grants_expiring(ws.id, pool, now, until)
        if g.source not in ALLOWANCE_SOURCES and g.left > 0
    ]


def balance(session: Session) -> Balance:
    ws = session.workspace()
    now = session.now_in(ws)
    store = session.store
    with store.read():  # one snapshot for both pools
        plans = Plans(session, store, ws)
        soon = max(cycle_at(ws.anchor, now).end, now + timedelta(days=EXPIRING_DAYS))
        pools = {
            p: replace(pool_balance(store, ws, plans, p, now), expiring=expiring(store, ws, p, now, soon))
            for p in catalog_mod.POOLS
        }
        plan, billing = plans.named_at(now)
        pending = plans.pending(now)
        limited = [
            p
            for p in (plans.at(now), pending and session.catalog.plan(pending.plan, "workspace plan"))
            if p and p.max_apps is not None
        ]
        apps = apps_view(limited[0], store.app_firsts(ws.id)) if limited else None
    return Balance(ws.name, plan, billing, ws.timezone, now, cycle_at(ws.anchor, now), pools, pending, apps)


def apps_view(plan: Plan, firsts: dict) -> dict:
    """A plan's app limit against the workspace's apps: those it keeps (the oldest) and those it refuses."""
    ordered = apps_kept(firsts, len(firsts))
    return {
        "plan": plan.name,
        "max": plan.max_apps,
        "count": len(ordered),
        "kept": ordered[: plan.max_apps],
        "refused": ordered[plan.max_apps :],
    }


def out_of_credits(store, ws, catalog: Catalog, after: PoolBalance, at: datetime) -> None:
    """The owner's "email", once per pool per cycle, in the platform's words, when the pool is used up:
    what it has left (`after`, the daily cap aside) is below the catalog's smallest price in it. A
    request larger than what is left is refused, and tells no one."""
    pool = after.pool
    if after.left >= catalog.smallest_price(pool):
        return
    cycle = cycle_at(ws.anchor, at)
    store.notify(
        ws.id,
        "out_of_credits",
        pool,
        at,
        f"Your workspace {ws.name!r} has used up its {pool} credits for this billing cycle."
        f" They reset on {when(cycle.end)}.",
        once=f"out_of_credits:{pool}:{storage(cycle.start)}",
    )


def correct(store, ws, original: int, values: dict, now: datetime, unpaid=frozenset()) -> tuple[int, int, int]:
    """Write the correcting entry of event `original` (a void): the grants it drew from and that
    are still live get their credits back. Returns (id, restored, lost) in milli-credits.

    `unpaid`: events written without drawing on a grant because their own void follows in the same
    write (an import's voided event and its void net to nothing); they are not paid again."""
    void_id = store.insert_event(ws.id, {**values, "recorded_at": storage(now), "payload": None, "corrects": original})
    restored, lost, parts = 0, 0, []
    for gid, milli, expires in store.drawn(original):
        if expires is None or expires > now:
            parts.append((gid, -milli))
            restored += milli
        else:
            lost += milli
    store.add_allocations(void_id, parts)
    if restored:
        repay_after(store, ws, values["pool"], from_storage(values["at"]), after_id=original, unpaid=unpaid)
    return void_id, restored, lost


# -- a plan's apps, budgets and alerts ------------------------------------------------


def app_refused(store, ws, plan: Plan, app: str | None) -> str | None:
    """Why the plan in force at an event's instant refuses its app (max_apps), or None.

    Asked only on a plan with max_apps and for an event with an app: a few index seeks
    (Ledger.app_firsts), held for the transaction by log --batch and import.
    """
    if app is None or plan.max_apps is None:
        return None
    return app_refuses(plan, app, store.app_firsts(ws.id))


def check_budgets(store, ws, pool: str, cost: int, at: datetime, app: str | None, member: str | None) -> None:
    """Refuse (exit 3) a use that would take an app or a member past its budget for the cycle."""
    if cost <= 0 or (app is None and member is None):
        return
    rows = store.budgets_for(ws.id, pool, app, member)
    if not rows:
        return
    cycle = cycle_at(ws.anchor, at)
    for kind, name, budget in rows:
        used = store.budget_used(ws.id, kind, name, pool, cycle.start, cycle.end)
        if used + cost > budget:
            short = used + cost - budget
            raise Refused(
                f"over budget: {kind} {name!r} may spend {fmt(budget)} {pool} credits a cycle, {fmt(used)} spent,"
                f" this costs {fmt(cost)} ({fmt(short)} short); the budget resets at {iso(cycle.end)}",
                pool=pool,
                short=Credits(short),
                resets_at=cycle.end,
                limit="budget",
            )


def fire_alerts(store, ws, pool: str, after: PoolBalance, now: datetime, balance_of) -> list[dict]:
    """Alerts this write crossed: each fires once per cycle, into the outbox (kind `alert`); an alert on
    expiring credits, of any pool, once per grant (`expiring_alerts`). `balance_of(pool)`: a pool's balance now."""
    fired = []
    rows = store.alerts_for(ws.id, pool)
    cycle = after.cycle
    mid = cycle.start + (cycle.end - cycle.start) / 2
    for alert_id, _pool, percent, left, by_mid, command, days in rows:
        if days is not None:
            continue
        if percent is not None:
            hit = after.used * 100 >= percent * after.allowance and after.allowance > 0
            what = f"{percent}% of this cycle's {fmt(after.allowance)} {pool} credits are used ({fmt(after.used)})"
        else:
            hit = after.available <= left
            what = f"{fmt(after.available)} {pool} credits left (alert at {fmt(left)} or fewer)"
        if by_mid:
            hit = hit and now < mid
            what += f", before mid-cycle ({iso(mid)})"
        if not hit:
            continue
        message = f"alert {alert_id}: {what}; the pool resets at {when(cycle.end)}"
        if store.notify(ws.id, "alert", pool, now, message, once=f"alert:{alert_id}:{storage(cycle.start)}"):
            fired.append(
                {
                    "id": alert_id,
                    "pool": pool,
                    "message": message,
                    "exec": command,
                    "used": after.used,
                    "available": after.available,
                    "allowance": after.allowance,
                    "resets_at": cycle.end,
                }
            )
    return fired + expiring_alerts(store, ws, [r for r in rows if r[6] is not None], now, balance_of)


def expiring_alerts(store, ws, rows: list[tuple], now: datetime, balance_of) -> list[dict]:
    """The alerts on bonus credits about to expire (`rows` as alerts_for reads them) that fire now: each once per
    grant whose unused credits expire within its days, into the outbox (kind `alert`). Expiry comes with time,
    not with use: every log checks these, whatever its pool."""
    fired = []
    soon: dict[str, list[Expiring]] = {}  # by pool, within the longest look-ahead of its alerts
    for alert_id, pool, _percent, _left, _by_mid, command, days in rows:
        if pool not in soon:
            ahead = max(r[6] for r in rows if r[1] == pool)
            soon[pool] = expiring(store, ws, pool, now, now + timedelta(days=ahead))
        until = now + timedelta(days=days)
        for e in soon[pool]:
            if e.at > until:
                break  # soonest first
            message = (
                f"alert {alert_id}: {amount(e.credits, pool)} from {e.source} expire on {when(e.at)}"
                f" (alert at {days} day{'s' if days != 1 else ''} ahead)"
            )
            if not store.notify(ws.id, "alert", pool, now, message, once=f"alert:{alert_id}:grant:{e.grant}"):
                continue
            b = balance_of(pool)
            fired.append(
                {
                    "id": alert_id,
                    "pool": pool,
                    "message": message,
                    "exec": command,
                    "used": b.used,
                    "available": b.available,
                    "allowance": b.allowance,
                    "resets_at": b.cycle.end,
                    "expiring": e.credits,
                    "expires_at": e.at,
                    "grant": e.grant,
                    "source": e.source,
                }
            )
    return fired


# -- init ----------------------------------------------------------------------


@record
class InitResult:
    workspace: WorkspaceRow
    created: bool
    changed: bool


def init(session: Session, plan_name: str, start: str | None, timezone: str | None, billing: str | None) -> InitResult:
    session.admin_only("set up a workspace: credits init")
    plan = session.catalog.plan(plan_name)
    billing = plan.billing(billing)
    zone = parse_zone(timezone if timezone is not None else "UTC", strict=True)
    now = session.clock.now(zone)
    anchor = parse_instant(start, "start", zone) if start is not None else now.replace(microsecond=0)
    if anchor > now:
        raise BadInput("start", f"{iso(anchor)} is after now ({iso(now)}); give the instant of the original purchase")
    store = session.store
    with store.write():
        record_allowances(store, session.catalog, now)
        ws = store.get_workspace(session.workspace_name)
        if ws is None:
            ws = store.insert_workspace(session.workspace_name, plan.name, billing, anchor, str(zone), now)
            return InitResult(ws, created=True, changed=True)
        same = (ws.plan, ws.billing, ws.anchor, ws.timezone) == (plan.name, billing, anchor, str(zone))
        if same:
            return InitResult(ws, created=False, changed=False)
        entries = store.count_entries(ws.id)
        if entries:
            raise BadInput(
                "workspace",
                f"workspace {ws.name!r} already holds {entries} ledger entries; init cannot re-anchor a ledger"
                " in use (start another with --workspace NAME)",
            )
        store.update_workspace(ws.id, plan.name, billing, anchor, str(zone))
        return InitResult(
            replace(ws, plan=plan.name, billing=billing, anchor=anchor, timezone=str(zone)), created=False, changed=True
        )


# -- log -----------------------------------------------------------------------


@record
class LogRequest:
    usage: Usage
    at: str | None = None
    key: str | None = None
    app: str | None = None
    member: str | None = None
    note: str | None = None
    dry_run: bool = False
    input: str | None = None  # the call's input, kept only as a fingerprint


@record
class LogResult:
    id: int | None
    quote: Quote
    at: datetime
    balance: PoolBalance  # the pool after the event
    replayed: bool = False
    dry_run: bool = False
    app: str | None = None
    member: str | None = None
    note: str | None = None
    key: str | None = None
    paid_by: list[dict] = field(default_factory=list)
    alerts: list[dict] = field(default_factory=list)  # alerts this event crossed

    @property
    def description(self) -> str:
        return describe(self.quote)


class _DryRun(Exception):
    def __init__(self, result: LogResult):
        self.result = result


def _payload(quote: Quote, usage: Usage, req: LogRequest, at: datetime | None) -> str:
    """What the caller gave, canonically: equal payloads are the same request."""
    body = {
        "action": quote.action,
        "count": quote.count,
        "model": quote.model,
        "scope": quote.scope,
        "seconds": quote.seconds,
        "chars": quote.chars,
        "custom_domain": quote.custom_domain,
        "credits": usage.credits,
        "app": req.app,
        "member": req.member,
        "note": req.note,
    }
    if at is not None:
        body["at"] = storage(at)
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def log(session: Session, req: LogRequest) -> LogResult:
    """Record one use: price it, check both limits, debit its grants; all in one BEGIN IMMEDIATE.

    Everything that can be refused is refused before anything is written; a
    `default` workspace used for the first time is created in the same
    transaction, so a refused or dry-run call leaves no trace.
    """
    check_name(req.app, "app")
    check_name(req.member, "member")
    check_name(req.note, "note", limit=2000)
    check_name(req.key, "key")
    session.catalog.action(req.usage.action)
    if req.at is not None:
        parse_instant(req.at, "at")  # its syntax, before the database is touched
    store = session.store
    req = replace(req, member=session.log_as(req.member))
    try:
        with session.writing() as ws:
            plans = Plans(session, store, ws)
            zone = parse_zone(ws.timezone, "workspace timezone")
            now = session.now_in(ws)
            given_at = parse_instant(req.at, "at", zone) if req.at is not None else None
            at = given_at or now
            plan = plans.at(min(at, now))
            quote = price(session.catalog.action(req.usage.action), req.usage, plan)
            if at > now:
                raise BadInput("at", f"{iso(at)} is after now ({iso(now)}); usage is logged when it has happened")
            if at < ws.anchor:
                raise BadInput("at", f"{iso(at)} is before the workspace began ({iso(ws.anchor)})")
            payload = _payload(quote, req.usage, req, given_at)
            values: dict = {
                "at": storage(at),
                "recorded_at": storage(now),
                "pool": quote.pool,
                "action": quote.action,
                "model": quote.model,
                "scope": quote.scope,
                "quantity": quote.count,
                "seconds": quote.seconds,
                "chars": quote.chars,
                "custom_domain": int(quote.custom_domain),
                "credits_milli": quote.credits,
                "app": req.app,
                "member": req.member,
                "note": req.note,
                "key": req.key,
                "payload": payload,
            }
            if req.key is not None:
                seen = store.event_by_key(ws.id, req.key)
                if seen is not None:
                    if seen["payload"] is None and _same_content(seen, values, given_at):
                        return _replayed(store, ws, plans, now, quote, seen)
                    if seen["payload"] != payload:
                        raise KeyConflict(
                            "key",
                            f"{shown(req.key)} was already used for another request (event {seen['id']});"
                            " nothing recorded",
                        )
                    return _replayed(store, ws, plans, now, quote, seen)
            values["fingerprint"] = fingerprint(values)
            if req.input is not None:
                import hashlib

                values["input_hash"] = hashlib.sha256(req.input.encode("utf-8", "surrogatepass")).hexdigest()[:16]
            why = app_refused(store, ws, plans.at(at), req.app)
            if why is not None:
                raise Refused(f"app limit: {why}", pool=quote.pool, short=None, limit="apps")
            check_budgets(store, ws, quote.pool, quote.credits, at, req.app, req.member)
            parts: list[dict] = []
            event_id = debit(store, ws, plans, zone, quote.pool, quote.credits, at, values, paid=parts)
            store.app_seen(ws.id, req.app, values["at"], event_id)
            after = pool_balance(store, ws, plans, quote.pool, now)
            result = LogResult(
                id=event_id,
                quote=replace(quote, credits=Credits(quote.credits)),
                at=at,
                balance=after,
                dry_run=req.dry_run,
                app=req.app,
                member=req.member,
                note=req.note,
                key=req.key,
                paid_by=parts,
            )
            if req.dry_run:
                raise _DryRun(replace(result, id=None))

            def balance_of(p: str) -> PoolBalance:  # an alert's pool (one on expiring credits: any)
                return after if p == quote.pool else pool_balance(store, ws, plans, p, now)

            result = replace(result, alerts=fire_alerts(store, ws, quote.pool, after, now, balance_of))
            out_of_credits(store, ws, session.catalog, after, now)
        return result
    except _DryRun as d:
        return d.result
    except Refused as r:
        if not req.dry_run and r.resets_at is not None and r.limit == "pool":  # the pool ran out, not a cap
            _note_refusal(session, r)
        raise


def _note_refusal(session: Session, r: Refused) -> None:
    """A refused action tells the owner once per cycle, in its own transaction (the refused one rolled back)."""
    with session.store.write():
        ws = session.existing_workspace()
        if ws is not None:
            now = session.now_in(ws)
            if r.resets_at == cycle_at(ws.anchor, now).end:  # not a back-dated refusal in a past cycle
                after = pool_balance(session.store, ws, Plans(session, session.store, ws), r.pool, now)
                out_of_credits(session.store, ws, session.catalog, after, now)


def _same_content(seen: dict, values: dict, given_at: datetime | None) -> bool:
    """An imported event (it has no payload) against a retried request: the same use? Its instant counts only
    when the request gave one (`--at`); a retry without it is logged at another now."""
    if given_at is not None and values["at"] != seen["at"]:
        return False
    return all(seen[k] == values[k] for k in CONTENT_FIELDS if k != "at")


def _replayed(store, ws, plans, now, quote, seen) -> LogResult:
    from .domain.cycles import from_storage

    return LogResult(
        id=seen["id"],
        quote=replace(quote, credits=Credits(seen["credits_milli"])),
        at=from_storage(seen["at"]),
        balance=pool_balance(store, ws, plans, quote.pool, now),
        replayed=True,
        app=seen["app"],
        member=seen["member"],
        note=seen["note"],
        key=seen["key"],
        paid_by=paid_by(store, seen["id"]),
    )


def paid_by(store, event_id: int) -> list[dict]:
    """The grants that paid an event, with what each paid."""
    return [{**p, "credits": Credits(p["credits"])} for p in store.paid_by(event_id)]


def debit(
    store, ws, plans: Plans, zone, pool: str, cost: int, at: datetime, values: dict, paid: list | None = None
) -> int:
    """Write one event and the grants that pay it, inside the caller's BEGIN IMMEDIATE.

    An event logged in the past (`--at`) is placed in time order: the events
    after it in its pool are paid again, in order, so every balance is what it
    would have been had the events been logged as they happened. If that leaves
    any of them unpaid, the new event is refused.
    """
    cycle = cycle_at(ws.anchor, at)
    ensure_allowance(store, ws, plans, pool, cycle)
    plan = plans.at(at)
    later = [] if store.nothing_after(ws.id, pool, at) else store.events_after(ws.id, pool, at)
    if later:
        store.remove_allocations([e[0] for e in later])
    horizon = later[-1][1] if later else at
    grants = store.live_grants(ws.id, pool, at, horizon)
    daily = daily_cap(store, ws, plans, zone, pool, at)
    if daily is not None:
        day_left = daily.left
        pool_left = available(list(grants.values()), pool, at)
        if cost > day_left and day_left < pool_left:  # the day is the tighter limit
            local_end = daily.day.end.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
            raise Refused(
                f"daily cap reached: this costs {amount(cost, pool)} and the {plan.name} plan allows"
                f" {fmt(daily.cap)} a day, {fmt(day_left)} left today ({fmt(cost - day_left)} short);"
                f" the day resets at {iso(daily.day.end)} ({local_end})",
                pool=pool,
                short=Credits(cost - day_left),
                resets_at=daily.day.end,
                limit="daily_cap",
            )
    event_id = store.insert_event(ws.id, values)
    try:
        first = _pay_in_order(store, ws.id, pool, grants, [(event_id, at, cost)] + later)
        if paid is not None:
            paid.extend({"grant": g.id, "source": g.source, "credits": Credits(take)} for g, take in first)
    except _Unpaid as u:
        if u.event_id == event_id:
            raise Refused(
                f"{u.refused.message}; the {pool} pool resets at {iso(cycle.end)}",
                pool=pool,
                short=u.refused.short,
                resets_at=cycle.end,
            ) from None
        raise Refused(
            f"not enough {pool} credits at {iso(at)}: recording this event there would leave event {u.event_id}"
            f" (at {iso(u.at)}) unpaid ({fmt(u.refused.short or 0)} short); the {pool} pool of that cycle resets at"
            f" {iso(cycle_at(ws.anchor, u.at).end)}",
            pool=pool,
            short=u.refused.short,
            resets_at=cycle.end,
        ) from None
    return event_id


class _Unpaid(Exception):
    def __init__(self, event_id: int, at: datetime, refused: Refused):
        self.event_id, self.at, self.refused = event_id, at, refused


def _pay_in_order(store, ws_id: int, pool: str, grants: dict, items: list[tuple[int, datetime, int]]) -> list:
    """Allocate each (event, instant, cost) in order over `grants` (updated as they are drawn on);
    the first event's (grant, credits) parts."""
    first = None
    for eid, t, credits in items:
        try:
            parts = allocate(list(grants.values()), pool, t, credits)
        except Refused as r:
            raise _Unpaid(eid, t, r) from None
        for g, take in parts:
            grants[g.id] = replace(g, used=g.used + take)
            store.drew(ws_id, pool, grants[g.id])
        store.add_allocations(eid, [(g.id, take) for g, take in parts])
        if first is None:
            first = parts
    return first or []


def repay_after(store, ws, pool: str, t: datetime, after_id: int | None = None, unpaid=frozenset()) -> None:
    """Pay the events after `t` again, in time order (after a void freed credits before them),
    so the soonest-expiring credits are the ones used, as if the voided event had never been.

    The events in `unpaid` (see `correct`) are left out: each is about to be voided and never drew."""
    later = [e for e in store.events_after(ws.id, pool, t, after_id) if e[0] not in unpaid]
    if not later:
        return
    store.remove_allocations([e[0] for e in later])
    grants = {g.id: g for g in store.grants_overlapping(ws.id, pool, t, later[-1][1])}
    try:
        _pay_in_order(store, ws.id, pool, grants, later)
    except _Unpaid as u:  # cannot happen: a void only adds credits; refuse rather than write a wrong ledger
        raise Refused(
            f"event {u.event_id} could not be paid again after the void ({u.refused.message})",
            pool=pool,
            short=u.refused.short,
        ) from None
