"""Use cases of the platform's offers and of simulating a ledger: grants beside the allowance, plan
changes, coupons, share-to-earn, top-ups, voids, the simulated clock, resets and the outbox."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from dateutil.relativedelta import relativedelta

from .domain.catalog import POOLS
from .domain.cycles import cycle_at, iso, parse_instant, parse_zone
from .domain.events import CONTENT_FIELDS, fingerprint
from .domain.money import Credits, fmt, parse_count, shown
from .errors import EXIT_REFUSED, BadInput, CreditsError
from .records import record
from .reports import check_pool, required_credits, required_pool
from .services import (
    Plans,
    Session,
    apps_view,
    check_name,
    correct,
    cycle_allowance,
    ensure_allowance,
    plan_credits,
    pool_balance,
    record_allowances,
    unwritten_allowance,
    with_allowance,
    write_grant,
)

if TYPE_CHECKING:
    from .store.offers import Notification, Share


class RuleRefused(CreditsError):
    """Refused by a rule of the platform (a used-up coupon, a second share bonus ...): exit 3."""

    exit_code = EXIT_REFUSED
    code = "refused"


# --- out of credits --------------------------------------------------------------------


def notifications(session: Session) -> list[Notification]:
    """The local outbox (the owner's "emails": out of credits, an alert fired ...), oldest first."""
    ws = session.workspace()
    return session.store.notifications(ws.id)


def _expiry(expires: str | None, ws, now: datetime) -> datetime | None:
    """--expires, read in the workspace's zone; it must lie after now (None: never)."""
    if expires is None:
        return None
    until = parse_instant(expires, "expires", parse_zone(ws.timezone, "workspace timezone"))
    if until <= now:
        raise BadInput("expires", f"{iso(until)} is not after now ({iso(now)})")
    return until


# --- grants -----------------------------------------------------------------------------


@record
class Granted:
    """A grant added beside the allowance (`source`: promo or referral); a referral grant says which of
    the program's `referral_max` it is (`referrals`)."""

    grant: int
    pool: str
    source: str
    credits: Credits
    expires_at: datetime | None
    reason: str
    referrals: int | None = None
    referral_max: int | None = None


def add_grant(
    session: Session,
    pool: str | None,
    credits: str | None,
    expires: str | None,
    reason: str | None,
    kind: str = "promo",
) -> Granted:
    session.admin_only("add grants: credits grant")
    kind = kind.strip().lower()
    if kind not in ("promo", "referral"):
        raise BadInput("kind", f"{shown(kind)} is not promo or referral")
    rules = session.catalog.grants
    if kind == "referral":
        pool, milli = _referral_terms(rules, pool, credits, expires)
    else:
        pool = required_pool(pool)
        milli = required_credits(credits, positive=True)
    if reason is None:
        raise BadInput("reason", "is required (say why the credits were granted)")
    check_name(reason, "reason")
    with session.writing() as ws:
        now = session.now_in(ws)
        until = _expiry(expires, ws, now)
        referrals = referral_max = None
        if kind == "referral":
            n = session.store.referral_count(ws.id)
            if n >= rules.referral_max:
                raise RuleRefused(
                    f"workspace {ws.name!r} already has {n} referral grants: the referral program"
                    f" rewards at most {rules.referral_max} friends"
                )
            referrals, referral_max = n + 1, rules.referral_max
        gid = write_grant(session.store, ws, pool, kind, milli, now, until, now, reason)
    return Granted(gid, pool, kind, Credits(milli), until, reason, referrals, referral_max)


def _referral_terms(rules, pool: str | None, credits: str | None, expires: str | None) -> tuple[str, int]:
    """A referral grant's pool and amount are the catalog's: an option that says otherwise is refused."""
    given = check_pool(pool)
    if given is not None and given != rules.referral_pool:
        raise BadInput(
            "pool", f"a referral grant is {rules.referral_pool} credits (the catalog's referral_pool), not {given}"
        )
    if credits is not None:
        milli = required_credits(credits, positive=True)
        if milli != rules.referral_bonus:
            raise BadInput(
                "credits",
                lambda n: (
                    f"a referral grant is {fmt(rules.referral_bonus)} credits"
                    f" (the catalog's referral_bonus), not {fmt(milli)};"
                    f" leave {n('credits')} out"
                ),
            )
    if expires is not None:
        raise BadInput("expires", "referral credits do not expire")
    return rules.referral_pool, rules.referral_bonus


@record
class TopUp:
    """Packs bought (paid plans): their credits, valid until `expires_at`, used after every other credit."""

    grant: int
    pool: str
    packs: int
    credits: Credits
    expires_at: datetime


def topup(session: Session, pool: str | None, packs: str | None) -> TopUp:
    session.admin_only("buy top-ups: credits topup")
    pool = required_pool(pool)
    rules = session.catalog.grants
    if packs is None:
        raise BadInput("packs", "is required")
    n = parse_count(packs, "packs", maximum=10**6)
    if n > rules.topup_max_packs:
        raise BadInput("packs", f"at most {rules.topup_max_packs} packs a purchase, not {n}")
    with session.writing() as ws:
        now = session.now_in(ws)
        plan = Plans(session, session.store, ws).at(now)
        if plan.price_monthly == 0:
            raise RuleRefused(f"top-ups are for paid plans; the workspace is on the {plan.name} plan")
        milli = n * rules.topup_pack(pool)
        until = now + relativedelta(months=rules.topup_valid_months)
        gid = write_grant(
            session.store, ws, pool, "topup", milli, now, until, now, f"top-up: {n} pack{'s' if n > 1 else ''}"
        )
    return TopUp(gid, pool, n, Credits(milli), until)


@record
class GrantState:
    """A grant as it stands now: used, left (live or future) or lost (expired unused). The cycle's
    allowance before anything drew on it is listed with no id (`grant` None)."""

    grant: int | None
    pool: str
    source: str
    reason: str | None
    credits: Credits
    used: Credits
    left: Credits
    lost: Credits
    starts_at: datetime
    expires_at: datetime | None
    status: str  # live, future or expired


def list_grants(session: Session) -> list[GrantState]:
    ws = session.workspace()
    now = session.now_in(ws)
    store = session.store
    out: list[GrantState] = []
    for g, reason in store.grants_listed(ws.id):
        starts, expires, left = g.starts_at, g.expires_at, g.left
        status = "expired" if expires is not None and expires <= now else ("future" if starts > now else "live")
        out.append(
            GrantState(
                grant=g.id,
                pool=g.pool,
                source=g.source,
                reason=reason,
                credits=Credits(g.amount),
                used=Credits(g.used),
                left=Credits(left if status != "expired" else 0),
                lost=Credits(left if status == "expired" else 0),
                starts_at=starts,
                expires_at=expires,
                status=status,
            )
        )
    plans = Plans(session, store, ws)
    cycle = cycle_at(ws.anchor, now)
    for pool in POOLS:  # this cycle's allowance before anything drew on it
        unwritten = unwritten_allowance(store, ws, plans, pool, cycle)
        if unwritten is not None:
            out.append(
                GrantState(
                    grant=None,
                    pool=pool,
                    source="allowance",
                    reason=f"{plans.at(cycle.start).name} plan allowance (not drawn on yet)",
                    credits=Credits(unwritten.amount),
                    used=Credits(0),
                    left=Credits(unwritten.amount),
                    lost=Credits(0),
                    starts_at=unwritten.starts_at,
                    expires_at=unwritten.expires_at,
                    status="live",
                )
            )
    return out


# --- coupons --------------------------------------------------------------------------------

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I
_CODE_TEXT = re.compile(r"[A-Za-z0-9 \-]{4,80}")


def normalize_code(code: str) -> str:
    """Codes match ignoring case, spaces and hyphens."""
    return re.sub(r"[\s\-]", "", code).upper()


def new_code() -> str:
    """16 characters from a 32-letter alphabet (80 bits), as XXXX-XXXX-XXXX-XXXX."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


@record
class CouponCreated:
    """A coupon: a code worth `credits` in one pool, until `expires_at`, for `uses` workspaces (None: no limit)."""

    code: str
    pool: str
    credits: Credits
    expires_at: datetime | None
    uses: int | None


@record
class CouponRedeemed:
    """A coupon's credits added as a grant; the pool's `available` after it."""

    code: str
    grant: int
    pool: str
    credits: Credits
    expires_at: datetime | None
    available: Credits


@record
class CouponState:
    """A coupon, how many of its `uses` are `used`, and whether this workspace redeemed it."""

    code: str
    pool: str
    credits: Credits
    expires_at: datetime | None
    uses: int | None
    used: int
    redeemed_here: bool


def coupon_create(
    session: Session, code: str | None, credits: str | None, pool: str | None, expires: str | None, uses: str | None
) -> CouponCreated:
    session.admin_only("create coupons: credits coupon create")
    pool = required_pool(pool)
    milli = required_credits(credits, positive=True)
    max_uses = parse_count(uses, "uses") if uses is not None else None
    if code is not None and (not _CODE_TEXT.fullmatch(code) or len(normalize_code(code)) < 4):
        raise BadInput(
            "code", f"{shown(code)} is not a code (4 or more letters and digits; spaces and hyphens are ignored)"
        )
    display = code.strip() if code is not None else new_code()
    with session.writing() as ws:
        now = session.now_in(ws)
        until = _expiry(expires, ws, now)
        store = session.store
        if store.coupon(normalize_code(display)) is not None:
            raise BadInput("code", f"a coupon {shown(display)} already exists")
        store.insert_coupon(normalize_code(display), display, pool, milli, until, max_uses, now)
    return CouponCreated(display, pool, Credits(milli), until, max_uses)


def coupon_redeem(session: Session, code: str) -> CouponRedeemed:
    key = normalize_code(code)
    if not key or not _CODE_TEXT.fullmatch(code):
        raise BadInput("code", f"{shown(code)} is not a coupon code")
    with session.writing() as ws:
        store = session.store
        now = session.now_in(ws)
        coupon = store.coupon(key)
        if coupon is None:
            raise BadInput("code", f"no coupon {shown(code)}")
        display, pool, milli, until, max_uses = (
            coupon.code,
            coupon.pool,
            coupon.amount,
            coupon.expires_at,
            coupon.max_uses,
        )
        if until is not None and now >= until:
            raise RuleRefused(f"coupon {display} expired at {iso(until)}")
        if store.redeemed(coupon.id, ws.id):
            raise RuleRefused(f"coupon {display} was already redeemed by workspace {ws.name!r}")
        used = store.redemptions(coupon.id)
        if max_uses is not None and used >= max_uses:
            raise RuleRefused(f"coupon {display} is used up ({used} of {max_uses} uses)")
        gid = write_grant(store, ws, pool, "coupon", milli, now, until, now, f"coupon {display}")
        store.insert_redemption(coupon.id, ws.id, gid, now)
        after = pool_balance(store, ws, Plans(session, store, ws), pool, now)
    return CouponRedeemed(display, gid, pool, Credits(milli), until, after.available)


def coupon_list(session: Session) -> list[CouponState]:
    ws = session.workspace()
    return [
        CouponState(
            code=c.coupon.code,
            pool=c.coupon.pool,
            credits=Credits(c.coupon.amount),
            expires_at=c.coupon.expires_at,
            uses=c.coupon.max_uses,
            used=c.used,
            redeemed_here=c.redeemed_here,
        )
        for c in session.store.coupons(ws.id)
    ]


# --- share-to-earn ------------------------------------------------------------------------------

PLATFORM_HOSTS = {"linkedin": ("linkedin.com",), "x": ("x.com", "twitter.com")}


@record
class ShareSubmitted:
    """A post submitted for the share-to-earn bonus: `credits` once it is approved."""

    id: int
    platform: str
    url: str
    followers: int
    status: str
    credits: Credits


@record
class ShareDecided:
    """A share approved (its bonus granted: `grant`, `credits`) or rejected (no grant, 0 credits)."""

    id: int
    status: str
    grant: int | None
    credits: Credits


def share_submit(session: Session, platform: str | None, url: str | None, followers: str | None) -> ShareSubmitted:
    rules = session.catalog.grants
    if platform is None or platform.strip().lower() not in PLATFORM_HOSTS:
        raise BadInput("platform", f"{shown(platform)} is not linkedin or x")
    platform = platform.strip().lower()
    if url is None:
        raise BadInput("url", "is required: the post's address")
    check_name(url, "url", limit=2000)
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not any(
        host == h or host.endswith("." + h) for h in PLATFORM_HOSTS[platform]
    ):
        raise BadInput("url", f"{shown(url)} is not a post on {platform} ({', '.join(PLATFORM_HOSTS[platform])})")
    if parts.path.strip("/") == "":
        raise BadInput("url", f"{shown(url)} is the site, not a post")
    if followers is None:
        raise BadInput("followers", "is required")
    n = parse_count(followers, "followers", minimum=0, maximum=10**10)
    if n < rules.share_min_followers:
        raise BadInput("followers", f"the bonus needs more than {rules.share_min_followers - 1} followers, not {n}")
    with session.writing() as ws:
        store = session.store
        now = session.now_in(ws)
        other = store.first_share(ws.id, "pending", "approved")
        if other is not None:
            what = "is waiting for approval" if other.status == "pending" else "already earned the bonus"
            raise RuleRefused(f"share {other.id} {what}; the bonus is once per workspace")
        share_id = store.insert_share(ws.id, platform, url.strip(), n, now)
    return ShareSubmitted(share_id, platform, url.strip(), n, "pending", Credits(rules.share_bonus))


def _pending_share(store, ws, share_id: str | None):
    if share_id is not None:
        n = parse_count(share_id, "share", maximum=2**62)
        share = store.share(ws.id, n)
        if share is None:
            raise BadInput("share", f"no share {n} in workspace {ws.name!r}")
        if share.status != "pending":
            raise RuleRefused(f"share {n} is {share.status}, not pending")
        return n
    share = store.first_share(ws.id, "pending")
    if share is None:
        raise BadInput("share", "no share is waiting for approval")
    return share.id


def share_decide(session: Session, share_id: str | None, approve: bool) -> ShareDecided:
    session.admin_only("decide shares: credits share approve|reject")
    rules = session.catalog.grants
    with session.writing() as ws:
        store = session.store
        now = session.now_in(ws)
        n = _pending_share(store, ws, share_id)
        gid = None
        if approve:
            gid = write_grant(
                store, ws, "message", "share", rules.share_bonus, now, None, now, f"share-to-earn (share {n})"
            )
        store.decide_share(n, "approved" if approve else "rejected", now, gid)
    return ShareDecided(n, "approved" if approve else "rejected", gid, Credits(rules.share_bonus if approve else 0))


def share_status(session: Session) -> list[Share]:
    """Every share submitted, and its state."""
    ws = session.workspace()
    return session.store.shares(ws.id)


# --- plan changes -------------------------------------------------------------------------------


@record
class PlanSet:
    """A move to a plan: an upgrade (or a change of billing) at once, its extra allowance `added` for this
    cycle; a downgrade at the next reset; or nothing (`change` unchanged). From the plan `from_`; onto a
    plan with an app limit, the apps it keeps and those whose events it will refuse."""

    plan: str
    billing: str
    change: str  # upgrade, billing, downgrade or unchanged
    effective_at: datetime
    added: dict[str, Credits]  # by pool
    from_: str | None = None  # None when unchanged
    apps_kept: list[str] | None = None  # None: the plan has no app limit
    apps_refused: list[str] | None = None


def plan_set(session: Session, plan_name: str, billing: str | None) -> PlanSet:
    session.admin_only("change the plan: credits plan set")
    new = session.catalog.plan(plan_name, field="plan")
    new.billing(billing)  # checked before the database is opened
    with session.writing() as ws:
        store = session.store
        now = session.now_in(ws)
        plans = Plans(session, store, ws)
        current_name, current_billing = plans.named_at(now)
        current = plans.at(now)
        billing = new.billing(billing, current_billing)
        cycle = cycle_at(ws.anchor, now)
        pending = plans.pending(now)
        record_allowances(store, session.catalog, now)
        if (new.name, billing) == (current_name, current_billing) and pending is None:
            return PlanSet(new.name, billing, "unchanged", now, added={})
        added = {}
        if new.price_monthly < current.price_monthly:
            change, effective = "downgrade", cycle.end
        else:
            change, effective = ("upgrade" if new.name != current.name else "billing"), now
            for pool in POOLS:  # the cycle keeps what it used; the new allowance tops it up
                ensure_allowance(store, ws, plans, pool, cycle)
                granted = sum(g.amount for g in plan_credits(store.grants_overlapping(ws.id, pool, now, now), cycle))
                extra = new.allowance(pool) - granted
                if extra > 0:
                    write_grant(store, ws, pool, "upgrade", extra, now, cycle.end, now, f"upgrade to {new.name}")
                    added[pool] = Credits(extra)
        store.insert_plan_change(ws.id, new.name, billing, now, effective)
        kept, refused = _apps_kept(session, store, ws, new, effective)
    return PlanSet(new.name, billing, change, effective, added, current_name, kept, refused)


def _apps_kept(session: Session, store, ws, plan, effective: datetime) -> tuple[list | None, list | None]:
    """On a plan with max_apps: the apps it keeps (the oldest) and those whose events it will refuse."""
    if plan.max_apps is None:
        return None, None
    view = apps_view(plan, store.app_firsts(ws.id))
    if view["refused"]:
        session.notices.append(
            f"the {plan.name} plan keeps {plan.max_apps} apps, the workspace's oldest"
            f" ({', '.join(map(shown, view['kept']))}); from {iso(effective)} events for"
            f" {', '.join(map(shown, view['refused']))} are refused (history is kept)"
        )
    return view["kept"], view["refused"]


# --- the clock ------------------------------------------------------------------------------------

_DURATION = re.compile(r"(\d+)\s*(mo|months?|w|weeks?|d|days?|h|hours?|m|min|minutes?|s|seconds?)", re.I)


def parse_duration(text: str, field: str = "duration") -> relativedelta:
    """'3d', '2w', '1mo', '2d6h', '90m' ... (months as calendar months)."""
    s = text.strip().replace(" ", "")
    if not s or len(s) > 40:
        raise BadInput(field, f"{shown(text)} is not a duration such as 3d, 12h, 2w or 1mo")
    pos, total = 0, relativedelta()
    for m in _DURATION.finditer(s):
        if m.start() != pos:
            break
        n, unit = int(m.group(1)), m.group(2).lower()
        if n > 100_000:
            raise BadInput(field, f"{shown(text)} is too long")
        if unit.startswith("mo"):
            total += relativedelta(months=n)
        elif unit.startswith("w"):
            total += relativedelta(weeks=n)
        elif unit.startswith("d"):
            total += relativedelta(days=n)
        elif unit.startswith("h"):
            total += relativedelta(hours=n)
        elif unit.startswith("m"):
            total += relativedelta(minutes=n)
        else:
            total += relativedelta(seconds=n)
        pos = m.end()
    if pos != len(s) or pos == 0:
        raise BadInput(field, f"{shown(text)} is not a duration such as 3d, 12h, 2w or 1mo")
    return total


@record
class ClockReading:
    """The instant commands run at (`now`), the workspace's simulated clock if it has one, and whether
    --now / CREDITS_NOW overrides it."""

    simulated: bool
    now: datetime
    simulated_at: datetime | None
    overridden: bool


def clock(session: Session, action: str, value: str | None = None) -> ClockReading:
    """show, set ISO, advance DURATION, real."""
    if action != "show":
        session.admin_only(f"move the simulated clock: credits clock {action}")
    with session.writing() as ws:
        store = session.store
        current = store.sim_clock(ws.id)
        zone = parse_zone(ws.timezone, "workspace timezone")
        if action == "set":
            t = parse_instant(value or "", "instant", zone)
            if t < ws.anchor:
                raise BadInput("instant", f"{iso(t)} is before the workspace began ({iso(ws.anchor)})")
            store.set_sim_clock(ws.id, t)
        elif action == "advance":
            step = parse_duration(value or "")
            base = current or session.clock.now(zone)
            try:
                moved = base + step
            except (OverflowError, ValueError):
                moved = None
            if moved is None or moved.year > 9000:
                raise BadInput("duration", f"{shown(value)} takes the clock past the year 9000")
            store.set_sim_clock(ws.id, moved)
        elif action == "real":
            store.set_sim_clock(ws.id, None)
        simulated = store.sim_clock(ws.id)
    # `now` is the instant commands run at: --now / CREDITS_NOW overrides the simulated clock
    now = session.clock.now(zone) if session.clock.is_set else simulated or session.clock.now(zone)
    return ClockReading(simulated is not None, now, simulated, session.clock.is_set)


# --- the next reset ---------------------------------------------------------------------------------


@record
class Expiring:
    """A grant that expires at the reset with `left` credits unused."""

    grant: int | None  # None: the cycle's allowance, not drawn on yet
    source: str
    left: Credits
    expires_at: datetime | None


@record
class PoolAtReset:
    """A pool at the next reset: what expires unused, what is granted, what is available after."""

    expires: list[Expiring]
    lost: Credits
    granted: Credits
    available_after: Credits


@record
class NextReset:
    """The next reset (`at`) seen from now (`from_`): the plan after it, each pool, and whether the
    simulated clock was moved to it (`advanced`)."""

    at: datetime
    from_: datetime
    plan_after: str
    pools: dict[str, PoolAtReset]
    advanced: bool


def reset(session: Session, advance: bool = False) -> NextReset:
    if advance:
        session.admin_only("move the simulated clock: credits reset --advance")
    with session.writing() as ws:
        store = session.store
        now = session.now_in(ws)
        plans = Plans(session, store, ws)
        cycle = cycle_at(ws.anchor, now)
        at = cycle.end
        pools: dict[str, PoolAtReset] = {}
        for pool in POOLS:
            live = with_allowance(
                [g for g in store.grants_overlapping(ws.id, pool, now, now) if g.live_at(now)], plans, pool, cycle
            )
            expiring = [g for g in live if g.expires_at is not None and g.expires_at <= at]
            after = pool_balance(store, ws, plans, pool, at)
            pools[pool] = PoolAtReset(
                expires=[Expiring(g.id, g.source, Credits(max(0, g.left)), g.expires_at) for g in expiring],
                lost=Credits(sum(max(0, g.left) for g in expiring)),
                granted=Credits(cycle_allowance(plans, pool, cycle_at(ws.anchor, at)).amount),
                available_after=after.available,
            )
        if advance:
            store.set_sim_clock(ws.id, at)
    return NextReset(at, now, plans.named_at(at)[0], pools, advance)


# --- voids ------------------------------------------------------------------------------------------


@record
class Voided:
    """An event (`voids`) cancelled by a correcting event (`id`): its credits, those given back to the
    grants that paid it (`restored`), and those that had expired since (`expired`: they stay spent)."""

    id: int
    voids: int
    pool: str
    credits: Credits
    restored: Credits
    expired: Credits


def void(session: Session, event_id: str, reason: str | None) -> Voided:
    session.admin_only("void events: credits void")
    n = parse_count(event_id, "event", maximum=2**62)
    check_name(reason, "reason")
    with session.writing() as ws:
        store = session.store
        now = session.now_in(ws)
        e = store.event(ws.id, n)
        if e is None:
            raise BadInput("event", f"no event {n} in workspace {ws.name!r}")
        if e["corrects"] is not None:
            raise BadInput("event", f"event {n} is itself a void (of event {e['corrects']})")
        done = store.void_of(n)
        if done is not None:
            raise RuleRefused(f"event {n} was already voided by event {done}")
        values = {k: e[k] for k in CONTENT_FIELDS}  # the event's content, then what its void changes
        values.update(credits_milli=-e["credits_milli"], note=reason or f"void of event {n}", key=None)
        values["fingerprint"] = fingerprint(values)
        void_id, restored, lost = correct(store, ws, n, values, now)
    return Voided(void_id, n, e["pool"], Credits(e["credits_milli"]), Credits(restored), Credits(lost))
