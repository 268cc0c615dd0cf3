"""The catalog: plans and action prices, validated from plain data.

The shipped catalog is `credits_cli/data/catalog.toml`; a user's own file
replaces it whole. Validation names the exact key that is wrong.
"""

from __future__ import annotations

import json
from decimal import Decimal

from ..errors import BadInput
from ..records import field, record
from .money import MAX_INPUT, Credits, parse_count, parse_credits, shown

TYPE_CHECKING = False  # (typing is not imported for this: `credits log` would pay for it)
if TYPE_CHECKING:
    from typing import NoReturn

POOLS = ("message", "integration")
BILLINGS = ("monthly", "yearly")
MONTHLY, YEARLY = BILLINGS  # every plan resets monthly; billing is only how it is paid


@record
class Plan:
    name: str
    price_monthly: Credits  # milli-dollars a month, billed monthly
    price_yearly: Credits  # milli-dollars a month, billed yearly
    message: Credits  # milli-credits a cycle
    integration: Credits
    daily_message_cap: Credits | None  # milli-credits a day, None: no daily cap
    max_apps: int | None
    features: frozenset[str]

    def allowance(self, pool: str) -> Credits:
        return self.message if pool == "message" else self.integration

    def daily_cap(self, pool: str) -> Credits | None:
        """Milli-credits a local day of `pool` may use (only the message pool has a daily cap), or None."""
        return self.daily_message_cap if pool == "message" else None

    def billing(self, given: str | None, current: str = MONTHLY) -> str:
        """How this plan is billed: `given` (checked), else `current`; a plan without a price is
        not billed, so it is monthly (it resets monthly) whatever the previous plan was."""
        if given is not None:
            given = given.strip().lower()
            if given not in BILLINGS:
                raise BadInput("billing", f"{shown(given)} is not one of {', '.join(BILLINGS)}")
        if self.price_monthly == 0 and self.price_yearly == 0:
            if given == YEARLY:
                raise BadInput("billing", f"the {self.name} plan costs nothing and is not billed yearly")
            return MONTHLY
        return given or current


@record
class Action:
    name: str
    pool: str
    unit: str
    price: Credits | None = None  # milli-credits a unit
    per: str | None = None  # None (each), "second" or "block"
    block_chars: int | None = None
    max_per_call: Credits | None = None
    models: dict[str, Credits] = field(default_factory=dict)
    scopes: dict[str, Credits] = field(default_factory=dict)
    custom_domain_price: Credits | None = None
    requires: str | None = None  # a plan feature the action needs
    custom_domain_requires: str | None = None  # the one it needs from a custom domain

    @property
    def default_model(self) -> str | None:
        return next(iter(self.models), None)


@record
class GrantRules:
    topup_message_pack: int = 50_000  # milli-credits
    topup_integration_pack: int = 1_000_000
    topup_max_packs: int = 8
    topup_valid_months: int = 12
    share_bonus: int = 20_000
    share_min_followers: int = 101
    referral_bonus: int = 10_000  # milli-credits a referral grant
    referral_pool: str = "message"
    referral_max: int = 5  # referral grants a workspace may receive (friends)

    def topup_pack(self, pool: str) -> int:
        return self.topup_message_pack if pool == "message" else self.topup_integration_pack


@record
class Catalog:
    plans: dict[str, Plan]
    actions: dict[str, Action]
    source: str = "built-in"
    grants: GrantRules = GrantRules()

    def plan(self, name: str, field: str = "plan") -> Plan:
        key = str(name).strip().lower()
        if key not in self.plans:
            raise BadInput(field, f"unknown plan {shown(name)}; plans: {', '.join(self.plans)}")
        return self.plans[key]

    def smallest_price(self, pool: str) -> int:
        """The least one use of the pool can cost in this catalog (milli-credits; at least 1): a pool
        holding less can pay for nothing, so it is used up (message: discuss's 0.3)."""
        prices = [
            p
            for a in self.actions.values()
            if a.pool == pool
            for p in (a.price, a.custom_domain_price, *a.models.values(), *a.scopes.values())
            if p is not None and p > 0
        ]
        return min(prices, default=1)

    def action(self, name: str, field: str = "action") -> Action:
        exact = self.actions.get(name) if type(name) is str else None  # the catalog's spelling: an import's every row
        if exact is not None:
            return exact
        key = str(name).strip().lower()
        for action in self.actions.values():
            if action.name.lower() == key:
                return action
        raise BadInput(field, f"unknown action {shown(name)}; actions: {', '.join(self.actions)}")


def parse_catalog(text: str, source: str) -> Catalog:
    """Parse and validate a catalog from TOML text; `source` names it in errors."""
    import tomllib  # only for a catalog file: the built-in one is read from its JSON twin (builtin_json)

    try:
        data = tomllib.loads(text, parse_float=Decimal)  # 0.3 stays exactly 0.3
    except tomllib.TOMLDecodeError as e:
        raise BadInput("catalog", f"{source}: not valid TOML: {e}") from None
    return catalog_from_data(data, source)


def builtin_json(toml_text: str) -> str:
    """The JSON twin of the built-in catalog.toml, which `credits` reads at start (json is loaded
    anyway; tomllib would cost a `credits log` more than its SQLite work). The TOML stays the
    source: a test checks that the shipped JSON is exactly this function's output."""
    import tomllib

    def plain(value):
        if isinstance(value, Decimal):
            return _Exact(value)
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return (
        json.dumps(plain(tomllib.loads(toml_text, parse_float=Decimal)), indent=1, ensure_ascii=False, default=str)
        + "\n"
    )


class _Exact(float):
    """A Decimal that json writes digit for digit (json only knows float)."""

    text: str

    def __new__(cls, value: Decimal):
        self = super().__new__(cls, value)
        self.text = format(value, "f")
        return self

    def __repr__(self) -> str:
        return self.text


def parse_builtin(json_text: str) -> Catalog:
    """The built-in catalog from its JSON twin (see builtin_json)."""
    return catalog_from_data(json.loads(json_text, parse_float=Decimal), "built-in")


class _Reader:
    """Reads typed values out of a table, naming the dotted key on error."""

    def __init__(self, source: str, path: str, table):
        self.source, self.path = source, path
        if not isinstance(table, dict):
            self.fail("", "must be a table")
        self.table = table

    def fail(self, key: str, message: str) -> NoReturn:
        where = f"{self.path}.{key}" if key else self.path
        raise BadInput("catalog", f"{self.source}: {where}: {message}")

    def credits(self, key: str) -> Credits:
        if key not in self.table:
            self.fail(key, "is missing")
        return self._amount(key, self.table[key])

    def optional_credits(self, key: str) -> Credits | None:
        return self._amount(key, self.table[key]) if key in self.table else None

    def _amount(self, key, value, maximum=MAX_INPUT) -> Credits:
        if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
            self.fail(key, f"must be a number of credits such as 2 or 0.5, not {shown(value)}")
        try:
            return Credits(parse_credits(str(value), "", maximum=maximum))
        except BadInput as e:
            self.fail(key, e.message.lstrip(": "))

    def count(self, key: str) -> int | None:
        if key not in self.table:
            return None
        value = self.table[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"must be a whole number, not {shown(value)}")
        try:
            return parse_count(str(value), "")
        except BadInput as e:
            self.fail(key, e.message.lstrip(": "))

    def text(self, key: str, *, choices=None) -> str | None:
        return self.required_text(key, choices=choices) if key in self.table else None

    def required_text(self, key: str, *, choices=None) -> str:
        if key not in self.table:
            self.fail(key, "is missing")
        value = self.table[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(key, f"must be a non-empty string, not {shown(value)}")
        if choices and value not in choices:
            self.fail(key, f"must be one of {', '.join(choices)}, not {shown(value)}")
        return value

    def prices(self, key: str) -> dict[str, Credits]:
        if key not in self.table:
            return {}
        table = self.table[key]
        if not isinstance(table, dict) or not table:
            self.fail(key, "must be a non-empty table of name = price")
        return {str(k): self._amount(f"{key}.{k}", v) for k, v in table.items()}

    def unknown(self, allowed: set[str]):
        for key in self.table:
            if key not in allowed:
                self.fail(key, "is not a known setting")


_PLAN_KEYS = {"price_monthly", "price_yearly", "message", "integration", "daily_message_cap", "max_apps", "features"}
_ACTION_KEYS = {
    "pool",
    "price",
    "unit",
    "per",
    "block_chars",
    "max_per_call",
    "models",
    "scopes",
    "custom_domain_price",
    "custom_domain_requires",
    "requires",
}


def catalog_from_data(data: dict, source: str) -> Catalog:
    top = _Reader(source, "catalog", data)
    top.unknown({"plans", "actions", "grants"})
    plans_table = data.get("plans")
    actions_table = data.get("actions")
    if not isinstance(plans_table, dict) or not plans_table:
        top.fail("plans", "must hold at least one [plans.NAME] table")
    if not isinstance(actions_table, dict) or not actions_table:
        top.fail("actions", "must hold at least one [actions.NAME] table")

    plans: dict[str, Plan] = {}
    for name, table in plans_table.items():
        r = _Reader(source, f"plans.{name}", table)
        r.unknown(_PLAN_KEYS)
        if name != name.strip().lower() or not name:
            r.fail("", "plan names must be lower case")
        features = table.get("features", [])
        if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
            r.fail("features", "must be a list of strings")
        plans[name] = Plan(
            name=name,
            price_monthly=r.credits("price_monthly"),
            price_yearly=r.credits("price_yearly"),
            message=r.credits("message"),
            integration=r.credits("integration"),
            daily_message_cap=r.optional_credits("daily_message_cap"),
            max_apps=r.count("max_apps"),
            features=frozenset(features),
        )

    actions: dict[str, Action] = {}
    for name, table in actions_table.items():
        r = _Reader(source, f"actions.{name}", table)
        r.unknown(_ACTION_KEYS)
        if name.lower() in {a.lower() for a in actions}:
            r.fail("", "is listed twice (names match ignoring case)")
        pool = r.required_text("pool", choices=POOLS)
        per = r.text("per", choices=("second", "block"))
        models = r.prices("models")
        scopes = r.prices("scopes")
        price = r.optional_credits("price")
        if price is None and not models and not scopes:
            r.fail("price", "is missing (or give models or scopes)")
        if price is not None and models:
            r.fail("models", "cannot be given together with price")
        block_chars = r.count("block_chars")
        if per == "block" and block_chars is None:
            r.fail("block_chars", 'is missing (per = "block" needs it)')
        actions[name] = Action(
            name=name,
            pool=pool,
            unit=r.text("unit") or "unit",
            price=price,
            per=per,
            block_chars=block_chars,
            max_per_call=r.optional_credits("max_per_call"),
            models=models,
            scopes=scopes,
            custom_domain_price=r.optional_credits("custom_domain_price"),
            custom_domain_requires=r.text("custom_domain_requires"),
            requires=r.text("requires"),
        )
    rules = GrantRules()
    if "grants" in data:
        r = _Reader(source, "grants", data["grants"])
        r.unknown(
            {
                "topup_message_pack",
                "topup_integration_pack",
                "topup_max_packs",
                "topup_valid_months",
                "share_bonus",
                "share_min_followers",
                "referral_bonus",
                "referral_pool",
                "referral_max",
            }
        )
        d = GrantRules()
        rules = GrantRules(
            topup_message_pack=r.optional_credits("topup_message_pack") or d.topup_message_pack,
            topup_integration_pack=r.optional_credits("topup_integration_pack") or d.topup_integration_pack,
            topup_max_packs=r.count("topup_max_packs") or d.topup_max_packs,
            topup_valid_months=r.count("topup_valid_months") or d.topup_valid_months,
            share_bonus=r.optional_credits("share_bonus") or d.share_bonus,
            share_min_followers=r.count("share_min_followers") or d.share_min_followers,
            referral_bonus=r.optional_credits("referral_bonus") or d.referral_bonus,
            referral_pool=r.text("referral_pool", choices=POOLS) or d.referral_pool,
            referral_max=r.count("referral_max") or d.referral_max,
        )
    return Catalog(plans=plans, actions=actions, source=source, grants=rules)
