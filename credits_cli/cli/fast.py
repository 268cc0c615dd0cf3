"""The lean path of `credits log`: parse its argv from cli/spec.py and run it without typer.

Only a well-formed call takes this path. Anything else (help, a version
request, an unknown or repeated option, a missing value, a value that starts
with a dash, "--") returns None, and the full typer command handles it: it
gives the same result for every call the lean parser accepts (a test checks
this on generated argvs), and every usage message comes from it.
"""

from __future__ import annotations

import os

from .spec import GLOBALS, LOG, LOG_NAMES, Param


def _index(params: tuple[Param, ...]) -> dict[str, Param]:
    return {d: p for p in params for d in p.decls}


_GLOBAL = _index(GLOBALS)
_LOG = _index(LOG)
_ARG = next(p for p in LOG if p.is_argument)


def parse(args: list[str]) -> tuple[dict, dict] | None:
    """(global options, log's parameters) of `credits [globals] log ...`, or None: let typer parse it. A global
    option not on the command line is its environment variable's value (None: neither)."""
    parsed = _parse(args)
    if parsed is None:
        return None
    given, params = parsed
    return _with_env(given), params


def _with_env(given: dict) -> dict:
    return {
        p.name: given[p.name] if p.name in given else (os.environ.get(p.envvar) if p.envvar else None) or None
        for p in GLOBALS
    }


def _parse(args: list[str]) -> tuple[dict, dict] | None:
    """(the global options on the command line, log's parameters), or None."""
    glob: dict = {}
    i = 0
    while i < len(args) and args[i] != "log":
        p, value, i = _option(args, i, _GLOBAL)
        if p is None or p.name in glob:
            return None
        glob[p.name] = value
    if i >= len(args):
        return None
    params: dict = {}
    i += 1
    while i < len(args):
        a = args[i]
        if not a.startswith("-") or a == "-":
            if _ARG.name in params:
                return None  # a second argument: typer says what is wrong
            params[_ARG.name] = a
            i += 1
            continue
        p, value, i = _option(args, i, _LOG)
        if p is None:
            p, value, i = _option(args, i, _GLOBAL)  # global options may follow the command
            if p is None or p.name in glob:
                return None
            glob[p.name] = value
            continue
        if p.name in params:
            return None
        params[p.name] = value
    for p in LOG:
        params.setdefault(p.name, p.default)
    return glob, params


def _option(args: list[str], i: int, known: dict[str, Param]):
    """(param, value, next index) of the option at args[i], or (None, None, i) when it is not a plain one."""
    a = args[i]
    name, eq, inline = a.partition("=")
    p = known.get(name)
    if p is None or not a.startswith("--") and eq:
        return None, None, i
    if p.flag:
        return (None, None, i) if eq else (p, True, i + 1)
    if eq:
        value, nxt = inline, i + 1
    elif i + 1 < len(args):
        value, nxt = args[i + 1], i + 2
    else:
        return None, None, i
    if value.startswith("-"):
        return None, None, i
    return p, value, nxt


def run(args: list[str]) -> int | None:
    """Run `credits log` from argv on the lean path; its exit code, or None when typer must handle it."""
    parsed = _parse(args)
    if parsed is None:
        return None
    given, params = parsed
    glob = _with_env(given)
    from ..errors import BadInput
    from .out import exit_code, file_names, name_field, open_session, undecodable

    field = undecodable(args)
    if field is not None:
        return exit_code(BadInput(field, "is not valid UTF-8 text; nothing was changed"))

    session = None
    try:
        from . import logcmd

        session = open_session(glob, set(given))
        return logcmd.run(session, params)
    except (Exception, KeyboardInterrupt) as e:
        return exit_code(name_field(e, {**LOG_NAMES, **file_names(session)}) if isinstance(e, BadInput) else e)
    finally:
        if session is not None:
            session.close()
