"""Coupons and their redemptions, share-to-earn submissions, referral and other grants as listed,
the outbox as read back, and the entries a void reads: the statements behind the platform's
offers and the simulation commands."""

from __future__ import annotations

from datetime import datetime

from ..domain.cycles import from_storage, storage
from ..domain.ledger import Grant
from ..records import record
from . import seals
from .base import Store
from .repo import _LISTED, _grant


@record
class Coupon:
    id: int
    code: str  # as it was created (matched ignoring case, spaces and hyphens)
    pool: str
    amount: int  # milli-credits a redemption grants
    expires_at: datetime | None  # None: never
    max_uses: int | None  # None: unlimited


@record
class CouponUse:
    """A coupon, how many workspaces redeemed it, and whether the asking workspace did."""

    coupon: Coupon
    used: int
    redeemed_here: bool


@record
class Share:
    id: int
    platform: str
    url: str
    followers: int
    submitted_at: datetime
    status: str  # pending, approved or rejected
    decided_at: datetime | None
    grant: int | None  # the bonus grant of an approved share


@record
class Notification:
    id: int
    kind: str  # out_of_credits, alert
    pool: str | None
    at: datetime
    message: str


_COUPON_COLS = "id, display, pool, amount_milli, expires_at, max_uses"
_SHARE_COLS = "id, platform, url, followers, submitted_at, status, decided_at, grant_id"


def _coupon(row) -> Coupon:
    return Coupon(row[0], row[1], row[2], row[3], from_storage(row[4]) if row[4] else None, row[5])


def _share(row) -> Share:
    return Share(
        row[0], row[1], row[2], row[3], from_storage(row[4]), row[5], from_storage(row[6]) if row[6] else None, row[7]
    )


class Offers(Store):
    """Coupons and redemptions, shares, grants as listed, the outbox, the entries a void reads."""

    # --- grants as listed ----------------------------------------------------------------

    def grants_listed(self, ws_id: int) -> list[tuple[Grant, str | None]]:
        """Every grant of a workspace, with why it was given, in the order they start."""
        self._settle()
        rows = self._conn.execute(f"{_LISTED} WHERE g.workspace_id = ? ORDER BY g.starts_at, g.id", (ws_id,))
        return [(_grant(r), r[8]) for r in rows.fetchall()]

    def referral_count(self, ws_id: int) -> int:
        """Referral grants the workspace has had."""
        return self._conn.execute(
            "SELECT count(*) FROM grants WHERE workspace_id = ? AND source = 'referral'", (ws_id,)
        ).fetchone()[0]

    # --- coupons -------------------------------------------------------------------------

    def coupon(self, code: str) -> Coupon | None:
        """The coupon of a normalized code (inside a write on a server, locked: its use limit spans workspaces,
        so redemptions from two workspaces at once are counted one after the other)."""
        row = self._conn.execute(
            f"SELECT {_COUPON_COLS} FROM coupons WHERE code = ?{self._row_lock()}", (code,)
        ).fetchone()
        return _coupon(row) if row else None

    def insert_coupon(
        self,
        code: str,
        display: str,
        pool: str,
        amount: int,
        expires_at: datetime | None,
        max_uses: int | None,
        created_at: datetime,
    ) -> int:
        return seals.append(
            self._conn,
            "coupons",
            {
                "code": code,
                "display": display,
                "pool": pool,
                "amount_milli": amount,
                "expires_at": storage(expires_at) if expires_at else None,
                "max_uses": max_uses,
                "created_at": storage(created_at),
            },
        )

    def coupons(self, ws_id: int) -> list[CouponUse]:
        """Every coupon, its redemptions counted, and whether workspace `ws_id` redeemed it."""
        rows = self._conn.execute(
            "SELECT c.id, c.display, c.pool, c.amount_milli, c.expires_at, c.max_uses,"
            " (SELECT count(*) FROM redemptions r WHERE r.coupon_id = c.id),"
            " EXISTS (SELECT 1 FROM redemptions r WHERE r.coupon_id = c.id AND r.workspace_id = ?)"
            " FROM coupons c ORDER BY c.id",
            (ws_id,),
        ).fetchall()
        return [CouponUse(_coupon(r), r[6], bool(r[7])) for r in rows]

    def redeemed(self, coupon_id: int, ws_id: int) -> bool:
        """Whether the workspace has redeemed the coupon."""
        return (
            self._conn.execute(
                "SELECT 1 FROM redemptions WHERE coupon_id = ? AND workspace_id = ?", (coupon_id, ws_id)
            ).fetchone()
            is not None
        )

    def redemptions(self, coupon_id: int) -> int:
        """How many times (workspaces) the coupon was redeemed."""
        return self._conn.execute("SELECT count(*) FROM redemptions WHERE coupon_id = ?", (coupon_id,)).fetchone()[0]

    def insert_redemption(self, coupon_id: int, ws_id: int, grant_id: int, at: datetime) -> None:
        seals.append(
            self._conn,
            "redemptions",
            {"coupon_id": coupon_id, "workspace_id": ws_id, "grant_id": grant_id, "at": storage(at)},
        )

    # --- share-to-earn -------------------------------------------------------------------

    def shares(self, ws_id: int) -> list[Share]:
        return [
            _share(r)
            for r in self._conn.execute(
                f"SELECT {_SHARE_COLS} FROM shares WHERE workspace_id = ? ORDER BY id", (ws_id,)
            ).fetchall()
        ]

    def share(self, ws_id: int, share_id: int) -> Share | None:
        row = self._conn.execute(
            f"SELECT {_SHARE_COLS} FROM shares WHERE workspace_id = ? AND id = ?", (ws_id, share_id)
        ).fetchone()
        return _share(row) if row else None

    def first_share(self, ws_id: int, *statuses: str) -> Share | None:
        """The workspace's oldest share in one of `statuses`."""
        row = self._conn.execute(
            f"SELECT {_SHARE_COLS} FROM shares WHERE workspace_id = ? AND status IN ({', '.join('?' * len(statuses))})"
            " ORDER BY id LIMIT 1",
            (ws_id, *statuses),
        ).fetchone()
        return _share(row) if row else None

    def insert_share(self, ws_id: int, platform: str, url: str, followers: int, submitted_at: datetime) -> int:
        """A submission waiting for approval."""
        return seals.append(
            self._conn,
            "shares",
            {
                "workspace_id": ws_id,
                "platform": platform,
                "url": url,
                "followers": followers,
                "submitted_at": storage(submitted_at),
                "status": "pending",
            },
        )

    def decide_share(self, share_id: int, status: str, decided_at: datetime, grant_id: int | None) -> None:
        """Approve or reject a submission (sealed again: credits changed it)."""
        self._conn.execute(
            "UPDATE shares SET status = ?, decided_at = ?, grant_id = ? WHERE id = ?",
            (status, storage(decided_at), grant_id, share_id),
        )
        seals.reseal(self._conn, "shares", share_id)

    # --- the outbox ------------------------------------------------------------------------

    def notifications(self, ws_id: int) -> list[Notification]:
        rows = self._conn.execute(
            "SELECT id, kind, pool, at, message FROM notifications WHERE workspace_id = ? ORDER BY at, id", (ws_id,)
        ).fetchall()
        return [Notification(r[0], r[1], r[2], from_storage(r[3]), r[4]) for r in rows]

    # --- voids ------------------------------------------------------------------------------

    def void_of(self, event_id: int) -> int | None:
        """The id of the entry that voided an event, or None."""
        self._settle()
        row = self._conn.execute("SELECT id FROM events WHERE corrects = ?", (event_id,)).fetchone()
        return row[0] if row else None
