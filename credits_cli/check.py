"""`credits check` and `credits doctor`: recompute the ledger from its entries; inspect the file.

A check returns its problems as data (a list), the way a ledger's balance
check should; the CLI decides what to print and the exit code.
"""

from __future__ import annotations

import os
import stat

from .domain.events import CONTENT_FIELDS, fingerprint
from .domain.ledger import repay_in_order
from .errors import BadInput
from .services import Session
from .store import audit


def _check_guards(store, problem) -> None:
    """Triggers and indexes against those a new ledger of this schema has: missing, or changed."""
    for g in store.guard_differences():
        kind, name = g["kind"], g["name"]
        if not g["missing"]:
            problem("changed_guard", f"the {kind} {name} is not the one credits made (it was replaced)", guard=name)
        elif g["summary"]:
            problem(
                "usage_summary_trigger",
                f"the trigger that keeps the usage summary ({name}) is missing:"
                " events written from now on would be left out of the reports",
            )
        elif kind == "trigger":
            problem(
                "missing_guard",
                f"the trigger {name} is missing: the table it guards can be changed"
                " without credits (the ledger is append-only)",
                guard=name,
            )
        else:
            problem("missing_guard", f"the index {name} is missing: it keeps a key unique or a report fast", guard=name)


def _check_allocations(store, problem, limit: int = 20) -> None:
    """Each event's allocations against a repayment of the pool in time order from the entries: the grants,
    less what voided events still hold of them (those keep what they drew, and their voids give back
    what was live at the void), then every other event, soonest-expiring grant first."""
    shown = 0
    for ws_id, pool in store.pools_with_events():
        grants = store.grants_less_voided(ws_id, pool)
        written: dict[int, tuple[int, dict]] = {}

        def events(ws_id=ws_id, pool=pool, written=written):
            for eid, at, cost, parts in store.standing_events(ws_id, pool):
                written[eid] = cost, parts
                yield eid, at, cost

        for eid, parts in repay_in_order(grants, pool, events()):
            cost, kept = written.pop(eid)
            if parts is None:
                # the grants cannot pay it: reported as unpaid above, unless what is recorded pays it in full
                # (a grant that gave more than it holds: an event written behind credits' back)
                if not kept or sum(kept.values()) != cost:
                    continue
                repaid = "the pool's grants cannot pay it (it overdraws them)"
            elif {g: m for g, m in parts.items() if m} == kept:
                continue
            else:
                repaid = f"repaid from the entries it is {_parts(parts)}"
            shown += 1
            if shown <= limit:
                problem(
                    "allocation",
                    f"event {eid} is recorded as paid by {_parts(kept)}; {repaid}",
                    event=eid,
                )
    # a void gives back, grant by grant, what its event drew from the grants still live when it was written
    drew = store.void_draws()
    expiry = store.voided_grants_expiry()
    for void_id, original, recorded in store.voids():
        owed = {
            g: -m for g, m in drew.get(original, {}).items() if m and (expiry.get(g) is None or expiry[g] > recorded)
        }
        given = {g: m for g, m in drew.get(void_id, {}).items() if m}
        if given != owed:
            shown += 1
            if shown <= limit:
                problem(
                    "void_allocation",
                    f"event {void_id} (the void of event {original}) gives back"
                    f" {_parts(given)}; its event drew {_parts(drew.get(original, {}))}, so it gives back"
                    f" {_parts(owed)}",
                    event=void_id,
                )
    if shown > limit:
        problem("allocation", f"{shown - limit} more events are paid otherwise than the entries say")


def _parts(parts: dict) -> str:
    return ", ".join(f"grant {g} {m}" for g, m in sorted(parts.items())) or "no grant"


def check_ledger(session: Session) -> dict:
    """Every derived figure recomputed from the entries, every entry against its seal, every guard in place;
    each difference is a problem."""
    store = session.store
    problems: list[dict] = []

    def problem(kind: str, message: str, **data):
        problems.append({"kind": kind, "message": message, **data})

    with store.read():  # one snapshot
        # 1. each event is what was written: its content still hashes to its fingerprint
        n_events = 0
        changed_events: set[int] = set()
        for eid, stored, content in store.event_contents(CONTENT_FIELDS):
            n_events += 1
            if stored is not None and fingerprint(content) != stored:
                changed_events.add(eid)
                problem(
                    "tampered_event",
                    f"event {eid} was changed after it was written (its content no longer matches its fingerprint)",
                    event=eid,
                    table="events",
                    id=eid,
                )
        # 2. what each grant has given equals the sum of its allocations, within 0..amount
        n_grants = 0
        for gid, amount, used, alloc in store.grant_draws():
            n_grants += 1
            if used != alloc:
                problem(
                    "grant_usage",
                    f"grant {gid}: {used} milli-credits recorded as used, its allocations sum to {alloc}",
                    grant=gid,
                )
            if not 0 <= alloc <= amount:
                problem("grant_overdrawn", f"grant {gid}: {alloc} milli-credits drawn of {amount}", grant=gid)
        # 3. each event is paid exactly (a void gives back at most what its event took)
        voided = store.voided()
        for eid, credits, corrects, paid in store.event_payments():
            if corrects is not None:
                if not credits <= paid <= 0:
                    problem(
                        "void_restores",
                        f"event {eid} (a void) gives back {-paid}, more than the {-credits} of event {corrects}",
                        event=eid,
                    )
            elif eid in voided and credits > 0 and paid == 0:
                continue  # a voided event and its void imported together: they net to nothing
            elif paid != credits:
                problem("unpaid_event", f"event {eid} costs {credits} milli-credits, its grants paid {paid}", event=eid)
        # 4. a grant pays only events of its pool and workspace, at instants it is live
        for eid, gid, at, pool, ws, gpool, gws, starts, expires, corrects in store.allocation_places():
            if (pool, ws) != (gpool, gws):
                problem(
                    "wrong_grant",
                    f"event {eid} was paid by grant {gid} of another pool or workspace",
                    event=eid,
                    grant=gid,
                )
            elif corrects is None and not (starts <= at and (expires is None or at < expires)):
                problem(
                    "dead_grant", f"event {eid} at {at} was paid by grant {gid}, not live then", event=eid, grant=gid
                )
        # 5. the daily summary the reports read equals the events it sums
        for d in store.usage_summary_differences():
            problem(
                "usage_summary",
                f"usage summary {d['side']} the events: workspace {d['workspace_id']},"
                f" day {d['day']}, {d['pool']} {d['action']} app {d['app'] or '-'} member {d['member'] or '-'}:"
                f" {d['credits']} milli-credits, {d['events']} events",
                day=d["day"],
            )
        # 6. which grants paid each event, recomputed from the events and grants alone
        _check_allocations(store, problem)
        # 7. every entry of every table is the one credits wrote, in its place: seals and chains
        for p in store.seal_problems():
            if not (p["table"] == "events" and p["id"] in changed_events and p["kind"] == "tampered"):
                problem(p["kind"], p["message"], table=p["table"], id=p["id"])
        # 8. the guards: append-only triggers, the summary's trigger, the indexes that keep keys unique and
        # reports fast, as this credits' migrations make them
        _check_guards(store, problem)
    return {"ok": not problems, "events": n_events, "grants": n_grants, "problems": problems}


def doctor(session: Session) -> dict:
    """The file's health: SQLite version, schema, WAL, durability, permissions, integrity; what to do about each.

    A damaged file gets a way out: what to run to recover what SQLite can still read, and where the last
    exports of the ledger are (credits notes each export written to a file), to start again from one.
    """
    from .store.db import Damaged, StoreError, damage_as_error, default_path, is_url

    path = session.db_path or default_path()
    if is_url(path):
        return _doctor_server(session)
    checks: list[dict] = []
    add = _adder(checks)

    version_info, version_text = audit.sqlite_version()
    add(
        "sqlite",
        version_info >= (3, 35, 0),
        version_text,
        "SQLite 3.35 or newer is needed (RETURNING, partial indexes, ALTER TABLE); upgrade Python or SQLite",
    )
    if not os.path.exists(path):
        add("file", False, "missing", f"there is no ledger at {path}: check --db / CREDITS_DB")
        return {"path": str(path), "ok": False, "checks": checks, "exports": []}
    try:
        with damage_as_error():
            store = session.store
            version = store.schema_version()
    except (StoreError, BadInput) as e:
        if isinstance(e, BadInput) and audit.readable(path):
            raise  # another program's SQLite file: not a ledger to advise on
        exports = _exports(None, path)  # not SQLite (any more): a ledger whose first page was damaged
        add("integrity", False, e.message, _damaged(path, exports))
        return {"path": str(path), "ok": False, "checks": checks, "exports": exports}
    exports = _exports(store, path)
    try:
        with damage_as_error():
            applied = store.migrations_applied()
            add(
                "schema",
                _same_schema((version, applied), audit.expected_schema()),
                f"{version} ({', '.join(applied)})",
                "the schema differs from this credits' migrations; back the file up and run any command to migrate",
            )
            mode = store.journal_mode()
            add(
                "journal_mode",
                mode.lower() == "wal",
                mode,
                "WAL lets readers and writers work at once: run `sqlite3 FILE 'PRAGMA journal_mode=WAL'`",
            )
            sync = store.synchronous()
            add(
                "synchronous",
                sync in ("FULL", "EXTRA"),
                sync,
                "credits sets FULL on every connection: an acknowledged event survives a power loss",
            )
            mode_bits = stat.S_IMODE(os.stat(path).st_mode)
            add("permissions", mode_bits & 0o077 == 0, oct(mode_bits), f"others can read the ledger: chmod 600 {path}")
            found = store.integrity_problems(100)
            integrity = (
                "ok"
                if found == ["ok"]
                else "; ".join(found[:3])
                + (f" (and {len(found) - 3}{'+' if len(found) == 100 else ''} more)" if len(found) > 3 else "")
            )
    except Damaged as e:
        integrity = e.message
    add("integrity", integrity == "ok", integrity, _damaged(path, exports))
    return {"path": str(path), "ok": all(c["ok"] for c in checks), "checks": checks, "exports": exports}


def _same_schema(found: tuple[int, list[str]], expected: tuple[int, list[str]]) -> bool:
    """A file's (version, migrations applied) against this credits': the same migrations, whatever the order it
    received them in (two added on different branches may reach a ledger either way)."""
    return found[0] == expected[0] and sorted(found[1]) == sorted(expected[1])


def _adder(checks: list[dict]):
    """`add(name, ok, value, advice)`: one line of doctor's report (advice only where something is to fix)."""

    def add(name, ok, value, advice=""):
        checks.append({"check": name, "ok": ok, "value": value, "advice": "" if ok else advice})

    return add


def _doctor_server(session: Session) -> dict:
    """A ledger on PostgreSQL: the server, the schema (its version and where it is), the role connected and
    what it may do, and how writes are serialized."""
    from .store import pg_schema
    from .store.pg import PgLedger

    store = session.store
    assert isinstance(store, PgLedger)  # the session's --db is a server's URL
    facts = store.server_facts()
    checks: list[dict] = []
    add = _adder(checks)

    add("server", facts["server_num"] >= 120000, facts["server"], "PostgreSQL 12 or newer is needed")
    add(
        "schema",
        sorted(facts["migrations"]) == sorted(pg_schema.NAMES),  # by name: applied in any order
        f"{facts['version']} ({', '.join(facts['migrations'])})",
        "the schema differs from this credits' migrations: run any command with a credits of this version",
    )
    add("search_path", True, facts["schema"])
    team = store.team
    add("role", True, facts["role"])
    if team is not None:
        add(
            "team",
            True,
            f"{team.role} is {'an admin' if team.kind == 'admin' else 'a member'} of this ledger"
            f" (its group roles: {team.admin}, {team.member})",
        )
    missing = [p for p, ok in facts["privileges"].items() if not ok]
    add(
        "privileges",
        not missing,
        ", ".join(p for p, ok in facts["privileges"].items() if ok) or "none",
        f"the role {facts['role']} lacks: {', '.join(missing)} (an admin can GRANT them)",
    )
    add("locking", True, "each write locks its workspace row (SELECT ... FOR UPDATE) at READ COMMITTED")
    return {"path": store.path, "ok": all(c["ok"] for c in checks), "checks": checks, "exports": []}


def _exports(store, path) -> list[dict]:
    """The last exports credits wrote to files, each with whether its file is still as written; read from
    the damaged file read-only and as it is (no migration), when credits cannot open it."""
    from .domain.cycles import iso

    out = []
    for x in audit.last_exports(path, store):
        try:
            size = os.stat(x["path"]).st_size
        except OSError:
            size = None
        out.append({**x, "at": iso(x["at"]), "intact": size == x["bytes"]})
    return out


def _damaged(path, exports: list[dict]) -> str:
    """What to do about a damaged ledger file, in order: keep it, recover what SQLite reads, or start from an export."""
    steps = [
        f"the file is damaged. Keep a copy first: cp {path} {path}.damaged",
        f"recover what SQLite can still read: sqlite3 {path} .recover | sqlite3 recovered.db,"
        " then credits --db recovered.db check (and doctor)",
    ]
    good = next(
        (x for x in exports if x["whole"] and x["intact"] and x["format"] in ("csv", "jsonl", "json", "xlsx")), None
    )
    if good is not None:
        steps.append(
            f"or start again from the last whole export, {good['path']} ({good['events']:,} events of"
            f" workspace {good['workspace']!r}, written {good['at']}): credits --db new.db --workspace"
            f" {good['workspace']!r} init --plan PLAN --start START, give it its grants again, then"
            f" credits --db new.db --workspace {good['workspace']!r} import {good['path']}"
        )
    else:
        steps.append(
            "no whole export of this ledger is known to be intact: once it is readable again, keep one"
            " with credits export --output FILE"
        )
    return "\n".join(steps)
