"""What every command shares: the shared options, the error contract, output helpers.

The options several commands take are declared once, in cli/spec.py, and become
typer annotations here (`option`, `from_spec`); a command names its parameters
with the words the use cases use, so that an error's field (`BadInput("pool", ...)`)
is shown as what the user typed: the option, or the argument's metavar (`failures`).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer
from typer.core import TyperGroup

from ..errors import EXIT_BAD_INPUT, BadInput
from . import out
from .complete import BY_KIND

# the commands import these from here
from .out import emit_json, exit_code, name_field, notices, say, undecodable, usage  # noqa: F401
from .spec import CSV, GLOBALS, JSON, POOL, QUIET, TIMEZONE, Param


def option(p: Param):
    """The typer annotation of one declared parameter."""
    complete = BY_KIND[p.complete] if p.complete else None
    if p.is_argument:
        info = typer.Argument(
            help=p.help, metavar=p.metavar or p.name.upper(), show_default=False, autocompletion=complete
        )
    else:
        info = typer.Option(
            *p.decls,
            help=p.help,
            metavar=p.metavar,
            envvar=p.envvar,
            show_default=p.default not in (None, False),
            autocompletion=complete,
        )
    return Annotated[bool if p.flag else str | None, info]


if TYPE_CHECKING:  # what the command receives; typer reads the annotations built below
    JsonOption = bool
    CsvOption = bool
    QuietOption = bool
    PoolOption = str | None
    TimezoneOption = str | None
else:
    JsonOption = option(JSON)
    CsvOption = option(CSV)
    QuietOption = option(QUIET)
    PoolOption = option(POOL)
    TimezoneOption = option(TIMEZONE)


def refuse_quiet_json(quiet: bool, json: bool) -> None:
    """--quiet prints nothing and --json prints an object: asking for both is refused (as `log` does)."""
    if quiet and json:
        raise BadInput("--quiet", "cannot be used with --json")


def from_spec(*params: Param, required: tuple[str, ...] = (), **more):
    """Give a `def command(ctx, **kw)` the typer signature of the declared parameters (cli/spec.py).

    `required` names parameters this command cannot do without (`estimate`'s ACTION; `log` takes --batch
    instead). `more` adds parameters that only the typer command has: name=(annotation, default).
    """

    def decorate(fn):
        sig = [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)]
        sig += [
            inspect.Parameter(
                p.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=inspect.Parameter.empty if p.name in required else p.default,
                annotation=option(p),
            )
            for p in params
        ]
        sig += [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
            for name, (annotation, default) in more.items()
        ]
        fn.__signature__ = inspect.Signature(sig)
        fn.__annotations__ = {x.name: x.annotation for x in sig}
        return fn

    return decorate


def names(ctx: click.Context | None) -> dict[str, str]:
    """What the user typed for each parameter of the running command and of the global options:
    its long option, or its argument's metavar, by the parameter's name."""
    shown: dict[str, str] = {}
    while ctx is not None:
        for p in ctx.command.params:
            if isinstance(p, click.Argument):
                shown.setdefault(p.name, (p.metavar or p.name.upper()).strip("[]."))
            elif p.name:
                shown.setdefault(p.name, next((o for o in p.opts if o.startswith("--")), p.opts[0]))
        ctx = ctx.parent
    return shown


@contextmanager
def failures(json_mode: bool = False):
    """The command's errors name what the user typed; in --json mode they are also written on stdout."""
    ctx = click.get_current_context(silent=True)
    session = ctx.find_root().obj if ctx is not None else None
    with out.failures(json_mode, {**names(ctx), **out.file_names(session)}):
        yield


def respond(
    ctx: typer.Context,
    json: bool,
    run: Callable[[Any], Any],
    as_text: Callable[[Any], None],
    *,
    csv: bool = False,
    quiet: bool = False,
    page: bool = False,
):
    """Run a use case on the session and answer once, in the format asked for (`output_format`: table,
    json or csv; nothing with `quiet`): for a person, `as_text(result)` prints it (through the pager with
    `page`, when it is taller than the terminal: render/pager.py); otherwise the renderer
    writes it: a result that is a table of data (a report: render/views.rows_of) row by row as they
    stream, as CSV or a JSON array; any other result as JSON (render/jsonout: a record as its fields,
    or its view in render/views.py). The session's notices (a first-use workspace ...) go to stderr
    first. Errors name what the user typed (`failures`). The result."""
    fmt = output_format(json, csv)
    with failures(json):
        refuse_quiet_json(quiet, json)
        result = run(ctx.obj)
        notices(ctx.obj, quiet)
        if quiet:
            return result
        if fmt == "table":
            with paged(ctx, page):
                as_text(result)
            return result
        from ..render.views import write_result

        write_result(result, fmt, sys.stdout)
    return result


NO_PAGER = "credits.no_pager"  # ctx.meta: --no-pager was given


def no_pager(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """--no-pager's callback (eager, and put first: `hoist_globals`): remembered for every context."""
    if value:
        ctx.meta[NO_PAGER] = True


def paged(ctx: click.Context, page: bool = True):
    """Through the pager when `page` and the command line did not say --no-pager (render/pager.py)."""
    if not page:
        return nullcontext()
    from ..render.pager import paged as through_pager

    return through_pager(enabled=not ctx.meta.get(NO_PAGER))


def output_format(json: bool, csv: bool) -> str:
    """table, json or csv; asking for two is refused."""
    if json and csv:
        raise BadInput("--csv", "cannot be used with --json")
    return "json" if json else "csv" if csv else "table"


# Global options may also follow the command name: `credits balance --db x`.
GLOBAL_OPTIONS = tuple(d for p in GLOBALS for d in p.decls)
GLOBAL_FLAGS = ("--no-pager",)  # global options that take no value (app.py)


def hoist_globals(args: list[str], group: click.Group) -> list[str]:
    """Move global options written after the command name to just before it, and the global flags to the
    front (`--no-pager` is eager: it must come before an eager `--help` to count for it).

    Tokens that are the value of one of the command's own options stay where
    they are (`log SendEmail --note --now` keeps "--now" as the note).
    """
    flags: list[str] = []
    before: list[str] = []
    i = 0
    while i < len(args):  # find the command name
        if args[i] in GLOBAL_OPTIONS:
            before += args[i : i + 2]
            i += 2
        elif args[i] in GLOBAL_FLAGS:
            flags.append(args[i])
            i += 1
        elif args[i].startswith("-"):
            before.append(args[i])
            i += 1
        else:
            break
    if i >= len(args) or args[i] not in group.commands:
        return flags + before + args[i:]
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
            rest.extend(args[j : j + 2])
            j += 2
        elif a in GLOBAL_FLAGS:
            flags.append(a)
            j += 1
        elif a in GLOBAL_OPTIONS and j + 1 < len(args):
            moved.extend(args[j : j + 2])
            j += 2
        elif "=" in a and a.split("=", 1)[0] in GLOBAL_OPTIONS:
            moved.append(a)
            j += 1
        else:
            rest.append(a)
            j += 1
    return flags + before + moved + [args[i]] + rest


class PagedGroup(TyperGroup):
    """A group whose --help goes through the pager when it is taller than the terminal (`paged`)."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with paged(ctx):
            super().format_help(ctx, formatter)


class CreditsGroup(PagedGroup):
    """Runs the command and turns every failure into one line on stderr and a documented exit code."""

    def make_context(self, info_name, args, parent=None, **extra):
        if extra.get("resilient_parsing"):  # completing: global options after the command count as in main()
            args = hoist_globals(list(args), self)
        return super().make_context(info_name, args, parent=parent, **extra)

    def _main_shell_completion(self, ctx_args, prog_name, complete_var=None) -> None:
        """A completion request (from the script `--install-completion` installs) answered; on any failure
        nothing, and no error printed into the shell (cli/complete.py)."""
        try:
            super()._main_shell_completion(ctx_args, prog_name, complete_var)
        except Exception:
            sys.exit(1)

    def invoke(self, ctx):
        rv = super().invoke(ctx)
        session = ctx.obj
        if session is not None:
            session.release()  # the command succeeded: a first-use workspace is kept (services.Session)
            notices(session)  # what the command itself did not print
        return rv

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # type: ignore[override]
        if args is None:
            args = sys.argv[1:]
        args = hoist_globals(list(args), self)
        field = undecodable(args)
        if field is not None:
            say(f"{field}: is not valid UTF-8 text; nothing was changed")
            sys.exit(EXIT_BAD_INPUT)
        try:
            rv = super().main(
                args=args, prog_name=prog_name or "credits", complete_var=complete_var, standalone_mode=False, **extra
            )
        except click.exceptions.NoArgsIsHelpError as e:
            print(e.ctx.get_help() if e.ctx else "", file=sys.stderr)
            sys.exit(EXIT_BAD_INPUT)
        except click.UsageError as e:
            if getattr(e, "possibilities", None) and " Did you mean" in e.message:
                # click (8.4+) suggests a command itself, and typer's group has already added its own
                e.message = e.message[: e.message.index(" Did you mean")]  # type: ignore[misc]
            hint = f" (see: {e.ctx.command_path} --help)" if e.ctx else ""
            say(f"{e.format_message()}{hint}")
            sys.exit(EXIT_BAD_INPUT)
        except click.ClickException as e:
            say(e.format_message())
            sys.exit(EXIT_BAD_INPUT)
        except click.exceptions.Abort:
            say("aborted")
            sys.exit(130)
        except (Exception, KeyboardInterrupt) as e:  # the same contract as the lean path (out.exit_code)
            sys.exit(exit_code(e))
        sys.exit(rv if isinstance(rv, int) else 0)
