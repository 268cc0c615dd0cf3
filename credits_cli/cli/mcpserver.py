"""The body of `credits mcp`: the ledger's tools for an AI assistant, a Model Context Protocol server on stdio.

An assistant asks what is left before it spends (`balance`, `status`, `forecast`), what a use would
cost (`estimate`; `log`, which only quotes unless `dry_run` is false), where the credits went (`apps`,
`daily`, `events`), and records a use (`log` with `dry_run: false`). Each tool runs the use case its
command runs and answers the JSON that command prints with --json (render/views.write_result; an
object on one line where the command indents it: the same JSON in fewer tokens). Its arguments are
that command's parameters (cli/spec.py) under the keys a `log --batch` line uses (`custom_domain`,
`per_day`), read as --batch reads them (logcmd.params_of).

A failure is a tool error (`isError`): its text is the line the command prints after "credits: "
(the field named as the tool's argument, `count`, where the command says `--count`), and its
structured content the command's --json error object with the exit code added,
`{"error": {"code", "exit_code", "message", ...}}`. The server goes on answering.

Each call opens the ledger afresh (a Session per call, closed before the answer is sent): nothing is
held open between calls, and what other processes wrote is seen. Calls run one at a time on a worker
thread, so the server still answers pings and cancellations meanwhile.

Only `serve` imports the SDK (`mcp`, the `mcp` extra), and only `credits mcp` imports this module.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from decimal import Decimal

from .. import __version__, foresight, reports, services
from ..domain.catalog import POOLS
from ..errors import BadInput, CreditsError
from ..records import record, replace
from ..render.jsonout import dumps
from ..render.views import write_result
from ..services import Session
from . import logcmd, spec
from .out import as_error, error_json, name_field, notices, say, usage
from .spec import Param

INSTALL = "pip install 'credits-cli[mcp]'"

INSTRUCTIONS = (
    "A ledger of AI-platform credits, in two pools: message credits (building with the AI) and integration "
    "credits (the running app's built-in services). Before spending, quote the use with log (dry_run is true "
    "unless you give false) or read balance; record it with log and dry_run false, with a key so that a "
    "retry records it once. A use the pool (or the free plan's daily cap) cannot pay is refused and nothing "
    "is recorded. Amounts are exact decimal numbers of credits; instants are ISO 8601 UTC."
)


@record
class Tool:
    """One tool: its command's parameters, and the use case it runs on them (by name), given the session
    and how an error names a field (the tool's argument, or a global option)."""

    name: str
    description: str
    params: tuple[Param, ...]
    run: Callable[[Session, dict, Callable[[str], str]], object]
    required: tuple[str, ...] = ()
    writes: bool = False  # may record (log); the others only read

    @property
    def keys(self) -> dict[str, Param]:
        """Its arguments by key (a `log --batch` line's: the long option's name, `-` as `_`)."""
        return {p.key: p for p in self.params}

    @property
    def names(self) -> dict[str, str]:
        """How an error names each field: a parameter by its key, a global option as on the command line."""
        return {**{p.name: p.shown for p in spec.GLOBALS}, **{p.name: p.key for p in self.params}}


# --- the tools: each its command's parameters and use case ---------------------------------------------


def _estimate(s: Session, p: dict, name: Callable[[str], str]):
    e = foresight.estimate(s, usage(p), p["per_day"], p["users"], p["per_user"])
    return foresight.with_reasons(e, name)


def _events(s: Session, p: dict, name: Callable[[str], str]):
    filters = {k: v for k, v in p.items() if k != "limit"}
    return reports.events(s, limit=reports.parse_limit(p["limit"]), **filters)


def _log(s: Session, p: dict, name: Callable[[str], str]):
    return logcmd.log_event(s, p)


# A quote unless asked: an assistant sees the cost and what would be left before it spends.
_DRY_RUN = next(p for p in spec.LOG if p.name == "dry_run")
_LOG = tuple(
    replace(_DRY_RUN, default=True, help="Only quote the cost and what would be left (the default); false records it.")
    if p is _DRY_RUN
    else p
    for p in spec.LOG
    if p.name not in spec.OUTPUT
)
_POOL = replace(spec.POOL, help="Only this pool (default: both).")

TOOLS = {
    t.name: t
    for t in (
        Tool(
            "balance",
            "Both pools of the workspace (message and integration credits): allowance, used this cycle, bonus,"
            " available now, the next reset, and the free plan's daily cap. The JSON of `credits balance --json`.",
            (),
            lambda s, p, name: services.balance(s),
        ),
        Tool(
            "status",
            "Both pools at a glance: available and allowance, days to the reset, and a warning (a pool under a"
            " tenth of its allowance, or a notification this cycle). The JSON of `credits status --json`.",
            (),
            lambda s, p, name: foresight.status_line(s),
        ),
        Tool(
            "forecast",
            "When each pool runs out at the recent pace (the last 7 days, weighted to the latest), with a P50/P90"
            " range. The JSON of `credits forecast --json`.",
            (_POOL,),
            lambda s, p, name: foresight.forecast(s, p["pool"]),
        ),
        Tool(
            "estimate",
            "What an action costs a use, a day and a cycle when used per_day times a day (or users × per_user),"
            " and which plans cover it with what to spare. The JSON of `credits estimate --json`.",
            (*spec.USAGE, *spec.TIMES),
            _estimate,
            required=("action",),
        ),
        Tool(
            "apps",
            "Credits used by app, largest first, with each app's share of the pool: this cycle (or since/until),"
            " on one pool (integration unless pool says). The JSON of `credits apps --json`.",
            spec.REPORT,
            lambda s, p, name: reports.usage_by(s, "app", **p),
        ),
        Tool(
            "daily",
            "Credits used each day in the workspace's time zone, days without use as zero: this cycle (or"
            " since/until), on one pool (integration unless pool says). The JSON of `credits daily --json`.",
            spec.REPORT,
            lambda s, p, name: reports.daily(s, **reports.on_one_pool(p)),
        ),
        Tool(
            "events",
            "The logged events, newest first: at most limit of them (50 unless given; 0 for all), of an app,"
            " member, action, pool or time range if asked. The JSON of `credits events --json`.",
            (*spec.FILTERS, spec.LIMIT),
            _events,
        ),
        Tool(
            "log",
            "Record one use of credits, priced from the catalog and debited from its pool. With dry_run true"
            " (the default) it only quotes: the cost and what would be left. With dry_run false it records the"
            " use, or refuses it (an error, nothing recorded) when the pool or the free plan's daily cap cannot"
            " pay; a key makes it idempotent (the same key and use are recorded once). The JSON of"
            " `credits log --json`.",
            _LOG,
            _log,
            required=("action",),
            writes=True,
        ),
    )
}


def input_schema(tool: Tool) -> dict:
    """The JSON Schema of a tool's arguments, from its parameters: a flag is a boolean, a count (metavar N)
    an integer, an amount of credits a number or its decimal text; anything else text. Other keys are
    refused."""
    props = {}
    for p in tool.params:
        s: dict = {}
        if p.flag:
            s["type"] = "boolean"
        elif p.metavar == "N":
            s["type"] = "integer"
        elif p.name == "credits":
            s["type"] = ["number", "string"]
        else:
            s["type"] = "string"
        if p.name == "pool":
            s["enum"] = list(POOLS)
        s["description"] = p.help
        if p.default not in (None, False):
            s["default"] = int(str(p.default)) if s["type"] == "integer" else p.default
        props[p.key] = s
    return {
        "type": "object",
        "properties": props,
        "required": [k for k, p in tool.keys.items() if p.name in tool.required],
        "additionalProperties": False,
    }


# --- a call ----------------------------------------------------------------------------------------------


@record
class Answer:
    """A call's answer: the command's JSON text, or (error not None) the error's line and its JSON object."""

    text: str
    error: dict | None = None


def call(base: Session, tool: Tool, arguments: dict) -> Answer:
    """Run a tool on a session of its own (`base`'s settings), as its command would run: the JSON it
    prints with --json, or the error it reports. Never raises."""
    names = tool.names
    session = None
    try:
        defaults = {p.name: p.default for p in tool.params}
        p = logcmd.params_of(arguments, tool.keys, defaults, f"an argument of the tool {tool.name}")
        for field in tool.required:
            if p[field] is None:
                raise BadInput(field, "is missing")
        session = base.again()
        result = tool.run(session, p, lambda field: names.get(field, field))
        out = io.StringIO()
        write_result(result, "json", out, indent=None)  # the same JSON, an object on one line (fewer tokens)
        session.release()  # it succeeded: a first-use workspace is kept (services.Session)
        notices(session)  # on stderr, the server's log, as the command prints them
        return Answer(out.getvalue().rstrip("\n"))
    except Exception as e:
        if not isinstance(e, CreditsError) and os.environ.get("CREDITS_DEBUG"):
            import traceback

            traceback.print_exc()
        error = name_field(as_error(e), names)
        say(f"{tool.name}: {error.message}")
        body = json.loads(dumps(error_json(error), indent=None), parse_float=_number)["error"]
        return Answer(error.message, {"error": {"code": body.pop("code"), "exit_code": error.exit_code, **body}})
    finally:
        if session is not None:
            session.close()


def _number(text: str):
    """A decimal number of the JSON text as the float that is written back as the same text (every amount
    up to 15 digits), else as the Decimal itself (written as text): no digit is lost either way."""
    f = float(text)
    return f if repr(f) == text else Decimal(text)


# --- the server ------------------------------------------------------------------------------------------


def serve(base: Session) -> None:
    """Serve the tools on stdin and stdout until the client closes stdin. Refused (exit 2) without the SDK,
    or with a catalog that does not load (every call would fail)."""
    try:
        import anyio
        from mcp.server.lowlevel import Server  # noqa: F401  # the SDK 2.x, checked here
    except ImportError:
        raise BadInput(
            "", f"credits mcp needs the Model Context Protocol SDK (the Python package mcp): {INSTALL}"
        ) from None
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("mcp")
    except PackageNotFoundError:  # not installed as a distribution: nothing to check
        found = ""
    major = found.split(".")[0]
    if major.isdigit() and int(major) < 2:
        raise BadInput("", f"credits mcp needs the Model Context Protocol SDK 2.x, not mcp {found}: {INSTALL}")
    base.catalog  # noqa: B018  # read now: a catalog that does not load is refused before serving
    anyio.run(_serve, base)


async def _serve(base: Session) -> None:
    import anyio
    import anyio.to_thread
    from mcp import types
    from mcp.server.lowlevel import Server
    from mcp.server.stdio import stdio_server
    from mcp.shared.exceptions import MCPError

    listed = [
        types.Tool(
            name=t.name,
            description=t.description,
            input_schema=input_schema(t),
            annotations=types.ToolAnnotations(
                read_only_hint=not t.writes,
                destructive_hint=False,  # the ledger is append-only
                idempotent_hint=not t.writes,
                open_world_hint=False,
            ),
        )
        for t in TOOLS.values()
    ]
    one_at_a_time = anyio.Lock()

    async def list_tools(ctx, params) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listed)

    async def call_tool(ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
        tool = TOOLS.get(params.name)
        if tool is None:
            raise MCPError(types.INVALID_PARAMS, f"unknown tool {params.name!r}; tools: {', '.join(TOOLS)}")
        async with one_at_a_time:
            answer = await anyio.to_thread.run_sync(call, base, tool, params.arguments or {})
        content: list[types.ContentBlock] = [types.TextContent(type="text", text=answer.text)]
        if answer.error is None:
            return types.CallToolResult(content=content)
        return types.CallToolResult(content=content, structured_content=answer.error, is_error=True)

    server = Server(
        "credits",
        version=__version__,
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())
