"""Output and the error contract, without typer or click (the lean `log` path uses them too)."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

from ..errors import EXIT_UNEXPECTED, BadInput, CreditsError
from ..render.jsonout import dumps
from .spec import GLOBALS, LOG, OUTPUT_FILE


def say(message: str, *, tag: bool = True) -> None:
    """One line for a person, on stderr (stdout stays for data): a notice or a warning, after "credits: ";
    with `tag` False, a footnote to what stdout shows, as it is."""
    print(f"credits: {message}" if tag else message, file=sys.stderr)


def notices(session, quiet: bool = False) -> None:
    """The one place notices are printed: each once, on stderr, none with --quiet."""
    for note in session.take_notices():
        if not quiet:
            say(note)


def emit_json(obj) -> None:
    print(dumps(obj))


def error_json(e: CreditsError) -> dict:
    """The {"error": {...}} body --json mode writes on stdout."""
    body: dict[str, object] = {"code": e.code, "message": e.message}
    for attr in ("field", "pool", "resets_at", "limit"):
        if getattr(e, attr, None):
            body[attr] = getattr(e, attr)
    short = getattr(e, "short", None)
    if short is not None:
        body["short"] = short  # Credits, from where the refusal was decided
    return {"error": body}


# Options whose environment variable, set but empty, is refused (typer would take it as not set); an empty
# CREDITS_WORKSPACE has always meant the default workspace.
NOT_EMPTY = ("db", "now", "catalog")


def refuse_empty_env(glob: dict) -> None:
    """Refuse an environment variable standing for a global option that is set to nothing."""
    for p in GLOBALS:
        if p.name in NOT_EMPTY and p.envvar and glob[p.name] is None and os.environ.get(p.envvar) == "":
            raise BadInput(p.envvar, "is set but empty (unset it for the default)")


def open_session(glob: dict, command_line: set[str]):
    """The command's session: the global options (`glob`: from the command line, named in `command_line`, or
    their variables) over the configuration file's settings (config.settle)."""
    from ..config import settle
    from ..services import Session

    refuse_empty_env(glob)
    settings = settle(glob, command_line)
    return Session(**settings.session(), now=glob["now"], timezone_default=settings.timezone.value, settings=settings)


def file_names(session) -> dict[str, str]:
    """The global settings the configuration file gave, by name, as an error names them: "FILE: key"."""
    settings = getattr(session, "settings", None)
    if settings is None:
        return {}
    return {
        name: f"{settings.file.value}: {name}" for name in settings.session() if getattr(settings, name).from_ == "file"
    }


def name_field(e: CreditsError, names: dict[str, str]) -> CreditsError:
    """The error with its field (the use case's word for it) named as the user gave it: `names` maps a
    parameter's name to its option ("--model"), its argument ("ACTION") or a --batch line's key."""
    if isinstance(e, BadInput):
        e.name_fields(lambda field: names.get(field, field))
    return e


@contextmanager
def failures(json_mode: bool = False, names: dict[str, str] | None = None):
    """An error names what the user typed; in --json mode it is also written as {"error": {...}} on stdout."""
    try:
        try:
            yield
        except Exception as e:
            from ..store.db import not_allowed

            refused = not_allowed(e)
            if refused is None:
                raise
            raise refused from None
    except CreditsError as e:
        name_field(e, names or {})
        if json_mode:
            print(dumps(error_json(e), indent=None))
        raise


def exit_code(e: BaseException) -> int:
    """Report a failure in one line on stderr; the documented exit code for it.

    A user never sees a traceback (CREDITS_DEBUG=1 re-raises to show it).
    """
    if isinstance(e, KeyboardInterrupt):
        say("interrupted; nothing was left half-written")
        return 130
    if isinstance(e, BrokenPipeError):
        sys.stderr.close()
        return EXIT_UNEXPECTED
    if not isinstance(e, CreditsError) and os.environ.get("CREDITS_DEBUG"):
        raise e
    error = as_error(e)
    for line in error.details:
        say(line)
    say(error.message)
    return error.exit_code


def as_error(e: BaseException) -> CreditsError:
    """A failure as the error a user is shown: a CreditsError as it is; a team's server refusing the
    connected role (not allowed, exit 4); a database error; anything else as unexpected (exit 1)."""
    if isinstance(e, CreditsError):
        return e
    from ..store.db import describe, is_damaged, is_database_error, not_allowed

    refused = not_allowed(e)
    if refused is not None:
        return refused
    if is_database_error(e):
        return CreditsError(
            f"database error: {describe(e)}" + ("; credits doctor says what to do" if is_damaged(e) else "")
        )
    return CreditsError(f"unexpected error: {type(e).__name__}: {e} (run with CREDITS_DEBUG=1 for details)")


# Options whose value may be any bytes: a file's name, or text that is only hashed.
RAW_OPTIONS = {d for p in (*GLOBALS, *LOG, OUTPUT_FILE) if p.raw for d in p.decls}


def undecodable(args: list[str]) -> str | None:
    """The option (or "argument") whose text held bytes that are not UTF-8, or None.

    Python hands such bytes over as lone surrogates, which SQLite and JSON cannot
    take. A file's name may be any bytes, so a path passes: the value of an
    option that names a file, or an argument naming a file that exists.
    """
    if all(a.isascii() for a in args):
        return None
    from ..services import NOT_UTF8

    for i, a in enumerate(args):
        if not NOT_UTF8.search(a):
            continue
        name, _, value = a.partition("=") if a.startswith("--") and "=" in a else ("", "", a)
        before = args[i - 1] if i > 0 else ""
        if name in RAW_OPTIONS or (not name and before in RAW_OPTIONS) or os.path.exists(value):
            continue
        return name or (before if before.startswith("-") else "argument")
    return None


def usage(p: dict):
    """The parsed Usage of spec.USAGE's parameters, given by name (numbers checked here, names by the catalog)."""
    from ..domain.money import parse_count, parse_credits
    from ..domain.pricing import Usage

    def number(name: str, parse):
        return parse(p[name], name) if p[name] is not None else None

    return Usage(
        action=p["action"],
        count=parse_count(p["count"], "count"),
        model=p["model"],
        scope=p["scope"],
        seconds=number("seconds", parse_count),
        chars=number("chars", parse_count),
        custom_domain=p["custom_domain"],
        credits=number("credits", parse_credits),
    )
