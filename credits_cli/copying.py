"""`credits copy DEST`: the whole ledger, or one workspace, with every entry, into another ledger (a file
or a PostgreSQL database), in one transaction there. How a solo ledger moves to a team's server, and how
a server is backed up to a file.

Ids. An entry's id is part of its seal and other entries name it (an allocation its event and grant, a
void the event it corrects ...). The whole ledger copied into a ledger that holds no entry yet keeps every
id, prev_id and seal as they are, and its chains' heads: afterwards the two ledgers hold the same rows,
and every report, export and check says the same on both. Anything else (one workspace, or a destination
that holds other workspaces or coupons) could collide with ids already there: then each entry is appended
in the destination as credits appends a new one, in the source's order, with the next id there and a new
seal, and every id it holds mapped to the new ones. Balances, grants, events and exports then differ from
the source's in their ids only. Before it seals an entry again, the copy holds it against its seal in the
source: an edit made behind credits' back stops the copy (`credits check` on the source names it).

Coupons belong to no workspace: those the copied workspace redeemed come along (every coupon with the
whole ledger). A coupon of the same code already in the destination is the same coupon when it grants the
same credits of the same pool with the same expiry and limit of uses; then the copy's redemptions are of
it, unless they would take it past that limit. One of other terms is refused, naming it.

The use case sees two stores and no connection: `store/copying.py` reads and writes the rows.
"""

from __future__ import annotations

import os

from .errors import BadInput, NotAllowed
from .records import record
from .services import Session
from .store import copying
from .store.db import default_path, is_url
from .store.ledger import Ledger


@record
class CopyResult:
    dest: str  # the destination as credits shows it (a URL without its password)
    workspaces: list[str]  # copied, in the source's order
    ids_kept: bool  # every id, prev_id and seal as in the source; else renumbered
    entries: dict[str, int]  # entries written, by table


# The tables a copy's result counts (the simulated clock is a setting, not an entry).
COUNTED = tuple(t for t in copying.ORDER if t != "sim_clock")


def copy(session: Session, dest: str) -> CopyResult:
    """Copy the session's ledger (every workspace, or the one --workspace names) into the ledger at `dest`,
    a path (created if new) or a PostgreSQL URL."""
    if not dest.strip():
        raise BadInput("dest", "is empty; give a file or a postgresql:// URL")
    target = dest if is_url(dest) else os.path.expanduser(dest)
    source_path = session.db_path or default_path()
    if not is_url(source_path) and not os.path.lexists(source_path):
        raise BadInput("db", f"there is no ledger at {source_path!r}; nothing was copied")
    source = session.store
    with source.read():
        every = source.workspace_ids()
        if session.workspace_given:
            chosen = [(i, name) for i, name in every if name == session.workspace_name]
            if not chosen:
                raise BadInput(
                    "workspace", f"no workspace named {session.workspace_name!r} in {source.path}; nothing was copied"
                )
        else:
            chosen = every
            if not chosen:
                raise BadInput("db", f"{source.path} holds no workspace; nothing was copied")
        destination = _open(target)
        try:
            if destination.identity() == source.identity():
                raise BadInput("dest", f"{destination.path} is the ledger being copied; give another file or server")
            team = destination.team
            if team is not None and team.kind != "admin":  # what it writes there is an admin's (like an import)
                raise NotAllowed(
                    f"{team.role} is {'a member' if team.kind else 'not in the team'} of the ledger at"
                    f" {destination.path}; an admin of it can copy into it",
                    role=team.role,
                )
            result = copy_ledger(source, destination, chosen, whole=not session.workspace_given)
        finally:
            destination.close()
    return result


def _open(target: str) -> Ledger:
    """The destination ledger; what is wrong with it named as DEST."""
    try:
        return Ledger.open(target, given=True)
    except BadInput as e:
        raise e.renamed("dest") from None


def copy_ledger(source: Ledger, dest: Ledger, chosen: list[tuple[int, str]], *, whole: bool) -> CopyResult:
    """Copy the workspaces `chosen` ((id, name) in `source`) with every entry into `dest`, in one transaction
    there; `whole`: they are every workspace of the source (its coupons all come along). The caller reads
    `source` in one snapshot."""
    entries = dict.fromkeys(COUNTED, 0)
    with dest.bulk():
        dest.lock_for_copy()
        taken = dest.workspace_names()
        for _, name in chosen:
            if name in taken:
                raise BadInput("dest", f"{dest.path} already holds a workspace named {name!r}; nothing was copied")
        keep = whole and not dest.holds_entries()
        if keep:
            for table in copying.ORDER:
                n = dest.paste(table, source.copy_pages(table))
                if table in entries:
                    entries[table] = n
            dest.paste("seal_heads", source.copy_pages("seal_heads"))
            dest.rebuild_grant_usage()
            dest.ids_written()
        else:
            renumbering = copying.Renumbering()
            entries["coupons"] = _coupons(source, dest, None if whole else chosen[0][0], renumbering)
            for ws_id, _ in chosen:
                for table in copying.ORDER:
                    if table == "coupons":
                        continue
                    pages = source.copy_pages(table, ws_id, verify=True)
                    n = dest.append_copies(table, pages, renumbering)
                    if table in entries:
                        entries[table] += n
                dest.rebuild_grant_usage(renumbering.ids["workspaces"][ws_id])
    return CopyResult(dest.path, [name for _, name in chosen], keep, entries)


def _coupons(source: Ledger, dest: Ledger, ws_id: int | None, renumbering: copying.Renumbering) -> int:
    """The coupons workspace `ws_id` redeemed (every coupon: None) into `dest`: one of the same code there
    stands for it when its terms are the same, else the copy is refused; the coupons written."""
    cols = copying.columns("coupons")
    fresh = []
    for page in source.copy_pages("coupons", ws_id, verify=True):
        for row in page:
            c = dict(zip(cols, row, strict=True))
            there = dest.coupon_terms(c["code"])
            if there is None:
                fresh.append(row)
                continue
            there_id, terms, used = there
            if terms != (c["pool"], c["amount_milli"], c["expires_at"], c["max_uses"]):
                raise BadInput(
                    "dest",
                    f"{dest.path} already holds a coupon {c['display']!r} on other terms (pool, credits, expiry or"
                    " uses); nothing was copied",
                )
            coming = 1 if ws_id is not None else source.redemptions(c["id"])
            if c["max_uses"] is not None and used + coming > c["max_uses"]:
                raise BadInput(
                    "dest",
                    f"the coupon {c['display']!r} allows {c['max_uses']} uses: the {used} on {dest.path} and the"
                    f" {coming} copied would pass it; nothing was copied",
                )
            renumbering.same("coupons", c["id"], there_id)
    return dest.append_copies("coupons", [fresh], renumbering)
