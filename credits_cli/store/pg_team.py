"""The team of a ledger on a server: which login roles are its members and admins (PostgreSQL's own roles
and grants; see pg_schema's "the team"). A part of PgLedger."""

from __future__ import annotations

from datetime import datetime

from ..domain.cycles import storage
from .base import Store
from .pg_schema import quoted


class TeamRoles(Store):
    def team_roles(self) -> list[tuple[str, str]]:
        """(role, "admin" | "member") of every login role in the team, by name; an admin is listed once."""
        team = self.team
        assert team is not None  # a ledger on a server
        rows = self._conn.execute(
            "SELECT DISTINCT ON (r.rolname) r.rolname, CASE g.rolname WHEN ? THEN 'admin' ELSE 'member' END"
            " FROM pg_auth_members am JOIN pg_roles g ON g.oid = am.roleid JOIN pg_roles r ON r.oid = am.member"
            " WHERE g.rolname IN (?, ?) AND r.rolname NOT IN (?, ?)"
            " ORDER BY r.rolname, g.rolname = ? DESC",
            (team.admin, team.admin, team.member, team.admin, team.member, team.admin),
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def login_role(self, role: str) -> bool | None:
        """Whether a role of that name exists and can log in (None: there is none)."""
        row = self._conn.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = ?", (role,)).fetchone()
        return None if row is None else bool(row[0])

    def set_team_role(self, role: str, kind: str | None, at: datetime) -> None:
        """Make `role` a member or an admin of the team (None: take it out), and write the change down.
        Inside the caller's write: the grants are transactional."""
        team = self.team
        assert team is not None
        who = quoted(role)
        # written first: an admin taking itself out may write nothing after
        self._conn.execute(
            "INSERT INTO team_changes (at, role, change, kind, made_by) VALUES (?, ?, ?, ?, current_user)",
            (storage(at), role, "add" if kind else "remove", kind),
        )
        keep = {"admin": team.admin, "member": team.member}.get(kind or "")
        if keep is not None:  # first: an admin making itself a member still holds the admin option
            self._conn.execute(f"GRANT {quoted(keep)} TO {who}" + (" WITH ADMIN OPTION" if kind == "admin" else ""))
        held = {
            r[0]
            for r in self._conn.execute(
                "SELECT g.rolname FROM pg_auth_members am JOIN pg_roles g ON g.oid = am.roleid"
                " JOIN pg_roles r ON r.oid = am.member WHERE r.rolname = ? AND g.rolname IN (?, ?)",
                (role, team.admin, team.member),
            )
        }
        for group in sorted(held - {keep}):
            self._conn.execute(f"REVOKE {quoted(group)} FROM {who}")

    def team_allowances(self) -> dict[tuple[str, str], int]:
        """{(plan, pool): milli-credits} of a cycle's allowance, as the team's admins last recorded it."""
        rows = self._conn.execute(
            "SELECT DISTINCT ON (plan, pool) plan, pool, amount_milli FROM team_allowances ORDER BY plan, pool, id DESC"
        ).fetchall()
        return {(r[0], r[1]): r[2] for r in rows}

    def record_allowances(self, amounts: dict[tuple[str, str], int], at: datetime) -> None:
        """Record the plans' allowances that differ from those recorded (an admin's, inside its write)."""
        recorded = self.team_allowances()
        for (plan, pool), milli in sorted(amounts.items()):
            if recorded.get((plan, pool)) != milli:
                self._conn.execute(
                    "INSERT INTO team_allowances (plan, pool, amount_milli, at) VALUES (?, ?, ?, ?)",
                    (plan, pool, milli, storage(at)),
                )
