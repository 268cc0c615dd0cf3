"""`credits team`: who may use a team's ledger on a server, as a member or an admin.

The team is PostgreSQL's own: each person logs in as their own role, and `team add` makes that role a
member of one of the ledger's two group roles (store/pg_schema.py, "the team"); the server enforces
what each may do. A ledger in a file has no team: its one user may do what the file's permissions let.
"""

from __future__ import annotations

import re

from .errors import BadInput
from .records import record
from .services import Session, check_name, record_allowances

KINDS = ("member", "admin")


@record
class TeamRole:
    role: str
    as_: str  # "member" | "admin" (JSON: "as")


@record
class TeamChange:
    role: str
    as_: str | None  # what the role is now: "member", "admin", or None (taken out of the team)
    was: str | None  # what it was before
    changed: bool


def _team(session: Session, doing: str):
    """The ledger's team, for an admin; a file has none (bad input, exit 2: told before the file is opened, so
    that one that is not there is not created)."""
    if not session.on_server:
        raise BadInput(
            "db",
            "a ledger in a file has no team (its one user may do everything): a team shares a ledger on"
            " PostgreSQL (--db postgresql://...)",
        )
    session.admin_only(doing)
    return session.store


def team_list(session: Session) -> list[TeamRole]:
    store = _team(session, "list the team: credits team list")
    with store.read():
        return [TeamRole(role, kind) for role, kind in store.team_roles()]


def team_add(session: Session, role: str, as_: str | None) -> TeamChange:
    """Give an existing login role access to this ledger as a member (the default) or an admin."""
    check_name(role, "role", limit=63)
    kind = as_ or "member"
    if kind not in KINDS:
        raise BadInput("as_", f"{kind!r} is not one of: member, admin")
    store = _team(session, f"add to the team: credits team add {role} --as {kind}")
    team = store.team
    if role in (team.member, team.admin):
        raise BadInput("role", f"{role!r} is one of this ledger's own group roles; give a person's login role")
    with store.write():
        can_login = store.login_role(role)
        if can_login is None:
            raise BadInput(
                "role", f"no role named {role!r} on this server; create it first: CREATE ROLE {_identifier(role)} LOGIN"
            )
        if not can_login:
            raise BadInput("role", f"{role!r} cannot log in; give a person's login role (CREATE ROLE ... LOGIN)")
        roles = dict(store.team_roles())
        was = roles.get(role)
        record_allowances(store, session.catalog, session.clock.now())
        if was == kind:
            return TeamChange(role, kind, was, False)
        _keep_an_admin(roles, role, kind)
        store.set_team_role(role, kind, session.clock.now())
    return TeamChange(role, kind, was, True)


def team_remove(session: Session, role: str) -> TeamChange:
    """Take a role's access away (what it logged stays in the ledger)."""
    check_name(role, "role", limit=63)
    store = _team(session, f"take a role out of the team: credits team remove {role}")
    with store.write():
        roles = dict(store.team_roles())
        was = roles.get(role)
        if was is None:
            raise BadInput("role", f"{role!r} is not in the team of this ledger (credits team list names it)")
        _keep_an_admin(roles, role, None)
        record_allowances(store, session.catalog, session.clock.now())
        store.set_team_role(role, None, session.clock.now())
    return TeamChange(role, None, was, True)


def _identifier(role: str) -> str:
    """The role's name as SQL spells it: quoted unless it is a plain lower-case name (the server folds an
    unquoted `Alice` to `alice`, another role)."""
    return role if re.fullmatch(r"[a-z_][a-z0-9_$]*", role) else '"' + role.replace('"', '""') + '"'


def _keep_an_admin(roles: dict[str, str], role: str, kind: str | None) -> None:
    """A team keeps at least one admin: the last one is not made a member or taken out."""
    if roles.get(role) == "admin" and kind != "admin" and sum(k == "admin" for k in roles.values()) == 1:
        raise BadInput("role", f"{role!r} is the ledger's last admin; add another admin first (credits team add)")
