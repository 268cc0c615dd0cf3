"""What every command shares: global options, the error contract, output helpers."""

from __future__ import annotations

import os
import sqlite3
import sys
from contextlib import contextmanager
from typing import Annotated, Optional

import click
import typer
from typer.core import TyperGroup

from ..errors import EXIT_BAD_INPUT, EXIT_UNEXPECTED, BadInput, CreditsError
from ..render.jsonout import dumps

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of a table.")]
CsvOption = Annotated[bool, typer.Option("--csv", help="Print CSV on stdout instead of a table.")]

# What one use is: defined once, shared by `log` and `estimate`.
ActionArg = Annotated[str, typer.Argument(help="SendEmail, UploadFile, ExtractDataFromUploadedFile, GenerateImage,"
                                          " GenerateVideo, GenerateSpeech, invokeLLM, agent, automation or message"
                                          " (any case).")]
ModelOption = Annotated[Optional[str], typer.Option("--model", help="automatic, gemini-3-flash or gpt-5"
                                                    " (invokeLLM and agent; default automatic).")]
SecondsOption = Annotated[Optional[str], typer.Option("--seconds", metavar="N", help="Seconds of video (GenerateVideo).")]
CharsOption = Annotated[Optional[str], typer.Option("--chars", metavar="N", help="Characters spoken (GenerateSpeech).")]
CustomDomainOption = Annotated[bool, typer.Option("--custom-domain", help="SendEmail from a custom domain.")]
CountOption = Annotated[str, typer.Option("--count", metavar="N", help="N identical actions.")]
UnitCreditsOption = Annotated[Optional[str], typer.Option(
    "--credits", metavar="X", help="The real cost of one action, as the platform shows it (overrides the catalog).")]
ScopeOption = Annotated[Optional[str], typer.Option(
    "--scope", help="message: simple, feature, module, app-wide or discuss (its typical cost).")]


def usage(action: str, model, seconds, chars, custom_domain: bool, count: str, credits, scope):
    """The parsed Usage of the shared options (numbers checked here, names by the catalog)."""
    from ..domain.money import parse_count, parse_credits
    from ..domain.pricing import Usage

    return Usage(
        action=action,
        count=parse_count(count, "--count"),
        model=model,
        scope=scope,
        seconds=parse_count(seconds, "--seconds") if seconds is not None else None,
        chars=parse_count(chars, "--chars") if chars is not None else None,
        custom_domain=custom_domain,
        credits=parse_credits(credits, "--credits") if credits is not None else None,
    )


def output_format(json: bool, csv: bool) -> str:
    """table, json or csv; asking for two is refused."""
    if json and csv:
        raise BadInput("--csv", "cannot be used with --json")
    return "json" if json else "csv" if csv else "table"

# Global options may also follow the command name: `credits balance --db x`.
GLOBAL_OPTIONS = ("--db", "--now", "--workspace", "--catalog")


def hoist_globals(args: list[str], group: click.Group) -> list[str]:
    """Move global options written after the command name to just before it.

    Tokens that are the value of one of the command's own options stay where
    they are (`log SendEmail --note --now` keeps "--now" as the note).
    """
    i = 0
    while i < len(args):  # find the command name
        if args[i] in GLOBAL_OPTIONS:
            i += 2
        elif args[i].startswith("-"):
            i += 1
        else:
            break
    if i >= len(args) or args[i] not in group.commands:
        return args
    command = group.commands[args[i]]
    while isinstance(command, click.Group):  # `credits coupon create ...`: the options of `create`
        k = i + 1
        while k < len(args) and args[k].startswith("-"):
            k += 1
        if k >= len(args) or args[k] not in command.commands:
            break
        command = command.commands[args[k]]
    takes_value = {
        name
        for p in command.params
        if isinstance(p, click.Option) and not p.is_flag and not p.count
        for name in p.opts + p.secondary_opts
    }
    moved, rest = [], []
    j = i + 1
    while j < len(args):
        a = args[j]
        if a == "--":
            rest.extend(args[j:])
            break
        if a in takes_value:
            rest.extend(args[j:j + 2])
            j += 2
        elif a in GLOBAL_OPTIONS and j + 1 < len(args):
            moved.extend(args[j:j + 2])
            j += 2
        elif "=" in a and a.split("=", 1)[0] in GLOBAL_OPTIONS:
            moved.append(a)
            j += 1
        else:
            rest.append(a)
            j += 1
    return args[:i] + moved + [args[i]] + rest


def say(message: str) -> None:
    """One line for a person, on stderr (stdout stays for data)."""
    print(f"credits: {message}", file=sys.stderr)


class CreditsGroup(TyperGroup):
    """Runs the command and turns every failure into one line on stderr and a documented exit code."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if args is None:
            args = sys.argv[1:]
        args = hoist_globals(list(args), self)
        try:
            rv = super().main(args=args, prog_name=prog_name or "credits", complete_var=complete_var,
                              standalone_mode=False, **extra)
        except CreditsError as e:
            for line in e.details:
                say(line)
            say(e.message)
            sys.exit(e.exit_code)
        except click.exceptions.NoArgsIsHelpError as e:
            print(e.ctx.get_help() if e.ctx else "", file=sys.stderr)
            sys.exit(EXIT_BAD_INPUT)
        except click.UsageError as e:
            hint = f" (see: {e.ctx.command_path} --help)" if e.ctx else ""
            say(f"{e.format_message()}{hint}")
            sys.exit(EXIT_BAD_INPUT)
        except click.ClickException as e:
            say(e.format_message())
            sys.exit(EXIT_BAD_INPUT)
        except click.exceptions.Abort:
            say("aborted")
            sys.exit(130)
        except KeyboardInterrupt:
            say("interrupted; nothing was left half-written")
            sys.exit(130)
        except BrokenPipeError:
            sys.stderr.close()
            sys.exit(EXIT_UNEXPECTED)
        except sqlite3.Error as e:
            if os.environ.get("CREDITS_DEBUG"):
                raise
            say(f"database error: {e}")
            sys.exit(EXIT_UNEXPECTED)
        except Exception as e:  # a user never sees a traceback (CREDITS_DEBUG=1 shows it)
            if os.environ.get("CREDITS_DEBUG"):
                raise
            say(f"unexpected error: {type(e).__name__}: {e} (run with CREDITS_DEBUG=1 for details)")
            sys.exit(EXIT_UNEXPECTED)
        sys.exit(rv if isinstance(rv, int) else 0)


@contextmanager
def failures(json_mode: bool = False):
    """In --json mode an error is also written as {"error": {...}} on stdout."""
    try:
        yield
    except CreditsError as e:
        if json_mode:
            from ..render.jsonout import Credits

            body = {"code": e.code, "message": e.message}
            for attr in ("field", "pool", "resets_at"):
                if getattr(e, attr, None):
                    body[attr] = getattr(e, attr)
            if getattr(e, "short", None) is not None:
                body["short"] = Credits(e.short)
            print(dumps({"error": body}, indent=None))
        raise


def emit_json(obj) -> None:
    print(dumps(obj))


def session(ctx: typer.Context):
    return ctx.obj
