"""Pricing: what one logged usage costs, from the catalog and the caller's options."""

from __future__ import annotations

from ..errors import BadInput
from ..records import record
from .catalog import Action, Plan
from .money import shown


@record
class Usage:
    """What the caller says happened (already parsed, not yet priced)."""

    action: str
    count: int = 1
    model: str | None = None
    scope: str | None = None
    seconds: int | None = None
    chars: int | None = None
    custom_domain: bool = False
    credits: int | None = None  # milli-credits for one action, overriding the catalog


@record
class Quote:
    action: str  # the catalog's spelling
    pool: str
    model: str | None
    scope: str | None
    count: int
    seconds: int | None
    chars: int | None
    custom_domain: bool
    unit_cost: int  # milli-credits for one action
    credits: int  # milli-credits for all `count` actions


def plan_refuses(action: Action, plan: Plan, custom_domain: bool) -> tuple[str, str] | None:
    """("action" or "custom_domain", why) when `plan` lacks a feature this use needs, else None."""
    if action.requires and action.requires not in plan.features:
        return "action", f"{action.name} needs a plan with {action.requires!r} (the {plan.name} plan has none)"
    if custom_domain and action.custom_domain_requires and action.custom_domain_requires not in plan.features:
        return "custom_domain", f"needs a plan with {action.custom_domain_requires!r} (the {plan.name} plan has none)"
    return None


def apps_kept(firsts: dict[str, tuple], limit: int) -> list[str]:
    """The apps a plan of `limit` apps keeps: the first `limit` in order of their first event (instant, then id)."""
    return sorted(firsts, key=firsts.__getitem__)[:limit]


def app_refuses(plan: Plan, app: str | None, firsts: dict[str, tuple]) -> str | None:
    """Why `plan` refuses an event for `app`, given the workspace's apps (app -> (instant, id) of its first
    event), or None. A plan with `max_apps` N keeps the N oldest apps: an event for any other app is
    refused, a new app as soon as there are N, whatever its instant (a back-dated event never displaces
    an app the workspace has)."""
    limit = plan.max_apps
    if limit is None or app is None or len(firsts) + (app not in firsts) <= limit:
        return None
    kept = apps_kept(firsts, limit)
    if app in kept:
        return None
    why = "is not one of them" if app in firsts else "would be one more"
    return (
        f"the {plan.name} plan allows {limit} apps and keeps the workspace's {limit} oldest"
        f" ({', '.join(map(shown, kept))}); {shown(app)} {why}"
    )


def price(action: Action, usage: Usage, plan: Plan) -> Quote:
    """Price `usage` of `action` on `plan`; refuse options that do not apply."""
    name = action.name

    def only_for(option: str, allowed: bool, who: str):
        if not allowed:
            raise BadInput(option, f"applies only to {who}, not to {name}")

    only_for("model", usage.model is None or bool(action.models), "actions priced by model (invokeLLM, agent)")
    only_for("scope", usage.scope is None or bool(action.scopes), "message")
    only_for("seconds", usage.seconds is None or action.per == "second", "GenerateVideo")
    only_for("chars", usage.chars is None or action.per == "block", "GenerateSpeech")
    only_for("custom_domain", not usage.custom_domain or action.custom_domain_price is not None, "SendEmail")

    refused = plan_refuses(action, plan, usage.custom_domain)
    if refused is not None:
        raise BadInput(*refused)

    model = None
    if action.models:
        wanted = (usage.model if usage.model is not None else action.default_model or "").strip().lower()
        matches = [m for m in action.models if m.lower() == wanted]
        if not matches:
            raise BadInput("model", f"unknown model {shown(usage.model)}; models: {', '.join(action.models)}")
        model = matches[0]

    scope = None
    if usage.scope is not None:
        wanted = usage.scope.strip().lower()
        matches = [s for s in action.scopes if s.lower() == wanted]
        if not matches:
            raise BadInput("scope", f"unknown scope {shown(usage.scope)}; scopes: {', '.join(action.scopes)}")
        scope = matches[0]
    if action.scopes and action.price is None and usage.credits is None and scope is None:
        raise BadInput(
            "credits",
            lambda n: (
                f"{name} has no fixed price: give {n('credits')} (the real cost) or"
                f" {n('scope')} ({', '.join(action.scopes)})"
            ),
        )
    if scope is not None and usage.credits is not None:
        raise BadInput("scope", lambda n: f"give either {n('credits')} or {n('scope')}, not both")

    if action.per == "second" and usage.seconds is None and usage.credits is None:
        raise BadInput("seconds", lambda n: f"{name} is priced per second: give {n('seconds')} N")
    if action.per == "block" and usage.chars is None and usage.credits is None:
        raise BadInput("chars", lambda n: f"{name} is priced per {action.block_chars} characters: give {n('chars')} N")

    if usage.credits is not None:
        unit_cost = usage.credits
    elif scope is not None:
        unit_cost = action.scopes[scope]
    else:
        unit_cost = _catalog_unit_cost(action, usage, model)

    return Quote(
        action=name,
        pool=action.pool,
        model=model,
        scope=scope,
        count=usage.count,
        seconds=usage.seconds,
        chars=usage.chars,
        custom_domain=usage.custom_domain,
        unit_cost=unit_cost,
        credits=unit_cost * usage.count,
    )


def _catalog_unit_cost(action: Action, usage: Usage, model: str | None) -> int:
    if model is not None:
        return action.models[model]
    base = action.custom_domain_price if usage.custom_domain else action.price
    # What price() checked before: a price for this use (or it asked for --credits or --scope),
    # --seconds or --chars as `per` needs; the catalog, block_chars for `per = "block"`.
    assert base is not None
    if action.per == "second":
        assert usage.seconds is not None
        return base * usage.seconds
    if action.per == "block":
        assert usage.chars is not None and action.block_chars is not None
        blocks = -(-usage.chars // action.block_chars)  # a started block counts whole
        cost = base * blocks
        if action.max_per_call is not None:
            cost = min(cost, action.max_per_call)
        return cost
    return base


def describe(quote: Quote) -> str:
    """A short human description: 'invokeLLM (gpt-5)', '3 × GenerateVideo (4 s)'."""
    detail = []
    if quote.model:
        detail.append(quote.model)
    if quote.scope:
        detail.append(quote.scope)
    if quote.seconds is not None:
        detail.append(f"{quote.seconds} s")
    if quote.chars is not None:
        detail.append(f"{quote.chars} chars")
    if quote.custom_domain:
        detail.append("custom domain")
    text = quote.action + (f" ({', '.join(detail)})" if detail else "")
    return f"{quote.count} × {text}" if quote.count != 1 else text
