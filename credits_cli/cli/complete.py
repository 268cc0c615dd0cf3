"""Shell completion of values: what `credits --install-completion` completes besides commands and options.

ACTION, --action, --model, --scope and --plan complete from the catalog in force, --pool with the two pools,
--app and --member with the names the workspace's events give them. The catalog, the ledger and the
workspace are the ones the command line would use (its global options, their variables, the configuration
file). A completion runs in the user's shell at every Tab: it reads the ledger only as it is (a file or a
workspace that does not exist yet has no names; nothing is created, migrated or recorded) and never prints
an error there: on any problem it completes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from contextlib import redirect_stderr

import click

from .spec import GLOBALS


def _session(ctx: click.Context):
    """A session as the command line being completed would open it (never its ledger: see `_names`)."""
    from .out import open_session

    root = ctx.find_root()
    glob = {p.name: root.params.get(p.name) for p in GLOBALS}
    glob["now"] = None  # completing needs no clock (and a half-typed one must not stop it)
    command_line = {
        name
        for name in glob
        if glob[name] is not None and root.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE
    }
    return open_session(glob, command_line)


def completer(values: Callable[[click.Context], Iterable[str]]) -> Callable[..., list[str]]:
    """A typer `autocompletion` callback: the values that begin with what was typed (as typer keeps them:
    in the same case), or none at all when anything goes wrong, and nothing said on stderr."""

    # Its parameters are passed by their names, `ctx` and `incomplete`, and left unannotated: typer reads a
    # callback's signature for each parameter that has one every time it builds the command (every `credits`
    # but a lean `log`), and resolving annotations made that four times slower (about 4 ms a start).
    def complete(ctx, incomplete):
        try:
            with open(os.devnull, "w") as nowhere, redirect_stderr(nowhere):
                return [v for v in dict.fromkeys(values(ctx)) if v.startswith(incomplete)]
        except Exception:
            if os.environ.get("CREDITS_DEBUG"):  # as everywhere: the traceback for whoever asks for it
                raise
            return []

    return complete


def _action(ctx: click.Context, catalog):
    """The action already on the command line (log's and estimate's ACTION), or None."""
    name = ctx.params.get("action")
    try:
        return catalog.action(name) if name else None
    except Exception:
        return None


def _actions(ctx: click.Context) -> Iterable[str]:
    return _session(ctx).catalog.actions


def _variants(kind: str) -> Callable[[click.Context], Iterable[str]]:
    """An action's models or scopes: those of the ACTION given, else of every action."""

    def values(ctx: click.Context) -> Iterable[str]:
        catalog = _session(ctx).catalog
        action = _action(ctx, catalog)
        for a in [action] if action is not None else catalog.actions.values():
            yield from getattr(a, kind)

    return values


def _plans(ctx: click.Context) -> Iterable[str]:
    return _session(ctx).catalog.plans


def _pools(ctx: click.Context) -> Iterable[str]:
    from ..domain.catalog import POOLS

    return POOLS


def _names(field: str) -> Callable[[click.Context], Iterable[str]]:
    def values(ctx: click.Context) -> Iterable[str]:
        from ..services import names_in_use

        return names_in_use(_session(ctx), field)

    return values


# By the kind a parameter of cli/spec.py names (Param.complete).
BY_KIND = {
    "actions": completer(_actions),
    "models": completer(_variants("models")),
    "scopes": completer(_variants("scopes")),
    "plans": completer(_plans),
    "pools": completer(_pools),
    "apps": completer(_names("app")),
    "members": completer(_names("member")),
}
