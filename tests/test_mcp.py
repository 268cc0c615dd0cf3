"""`credits mcp`: an AI assistant's client (the MCP SDK's own stdio client) starts the server, lists its
tools and calls them; each answers what its command prints with --json, on both engines."""

import json
import os
import re
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import anyio
import pytest
from conftest import one_line_error
from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client

ROOT = Path(__file__).parent.parent
NOW = "2026-02-10T12:00:00Z"
TOOLS = {"balance", "status", "forecast", "estimate", "apps", "daily", "events", "log"}


def with_server(scenario, *, args=(), env=None, command=None):
    """Start `credits [args] mcp` (or `command`, a list) through the SDK's stdio client, initialize a client
    session, and run `scenario(session)` on it; its result and the server's stderr."""

    async def main():
        cmd = command or [sys.executable, "-m", "credits_cli", *args, "mcp"]
        params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=env or {}, cwd=tempfile.gettempdir())
        with tempfile.TemporaryFile("w+") as errlog:
            with anyio.fail_after(180):
                async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as s:
                    await s.initialize()
                    result = await scenario(s)
            errlog.seek(0)
            return result, errlog.read()

    return anyio.run(main)


def ledger_env(cli) -> dict:
    return {"CREDITS_DB": str(cli.db), "CREDITS_NOW": NOW}


async def answer(s: ClientSession, tool: str, **arguments):
    """A tool's answer, parsed as the CLI's JSON is (exact decimals)."""
    r = await s.call_tool(tool, arguments)
    assert not r.is_error, (tool, arguments, r.content)
    [block] = r.content
    return json.loads(block.text, parse_float=Decimal)


async def failure(s: ClientSession, tool: str, **arguments) -> tuple[str, dict]:
    """A tool error: its text and its structured content."""
    r = await s.call_tool(tool, arguments)
    assert r.is_error, (tool, arguments, r.content)
    [block] = r.content
    return block.text, r.structured_content


def history(cli) -> None:
    """A builder workspace with a few days of use by two apps and two members, and a budget."""
    steps = [
        ("init", "--plan", "builder", "--start", "2026-02-01T00:00:00Z"),
        ("log", "invokeLLM", "--model", "gpt-5", "--app", "crm", "--member", "ana", "--at", "2026-02-03T10:00:00Z"),
        ("log", "SendEmail", "--count", "20", "--app", "newsletter", "--at", "2026-02-05T09:00:00Z"),
        ("log", "message", "--scope", "feature", "--member", "bo", "--at", "2026-02-08T15:00:00Z"),
        ("log", "GenerateImage", "--count", "3", "--app", "crm", "--member", "bo", "--at", "2026-02-10T08:00:00Z"),
        ("budget", "set", "--app", "crm", "--pool", "integration", "--credits", "500"),
    ]
    for step in steps:
        r = cli(*step, now=NOW)
        assert r.exit_code == 0, (step, r.stderr)


def test_the_tools_and_their_arguments(tmp_path):
    db = tmp_path / "never.db"

    async def scenario(s):
        init_tools = await s.list_tools()
        return {t.name: t for t in init_tools.tools}

    tools, _ = with_server(scenario, env={"CREDITS_DB": str(db)})
    assert set(tools) == TOOLS
    for t in tools.values():
        schema = t.input_schema
        assert schema["type"] == "object" and schema["additionalProperties"] is False, t.name
        assert t.description and "--json" in t.description, t.name
        assert t.annotations.read_only_hint is (t.name != "log"), t.name
        assert t.annotations.destructive_hint is False, t.name
    props = {name: t.input_schema["properties"] for name, t in tools.items()}
    assert props["balance"] == props["status"] == {}
    assert props["log"]["dry_run"]["type"] == "boolean" and props["log"]["dry_run"]["default"] is True
    assert props["log"]["count"] == {"type": "integer", "description": "N identical actions.", "default": 1}
    assert "number" in props["log"]["credits"]["type"] and "string" in props["log"]["credits"]["type"]
    assert {"action", "model", "app", "member", "key", "at", "note", "custom_domain"} <= set(props["log"])
    assert not {"batch", "quiet", "json"} & set(props["log"])  # how the command line prints: not a tool's
    assert tools["log"].input_schema["required"] == tools["estimate"].input_schema["required"] == ["action"]
    assert {"per_day", "users", "per_user"} <= set(props["estimate"])
    assert props["estimate"]["per_day"]["type"] == props["events"]["limit"]["type"] == "integer"
    assert props["events"]["limit"]["default"] == 50
    assert (
        set(props["apps"]) == set(props["daily"]) == {"pool", "since", "until", "app", "member", "action", "timezone"}
    )
    assert props["apps"]["pool"]["enum"] == props["forecast"]["pool"]["enum"] == ["message", "integration"]
    assert not db.exists()  # listing the tools opened no ledger


def test_each_tool_answers_what_its_command_prints_with_json(cli):
    history(cli)
    calls = {
        ("balance",): ("balance", {}),
        ("status",): ("status", {}),
        ("forecast",): ("forecast", {}),
        ("forecast", "--pool", "message"): ("forecast", {"pool": "message"}),
        ("estimate", "invokeLLM", "--model", "gpt-5", "--per-day", "20"): (
            "estimate",
            {"action": "invokeLLM", "model": "gpt-5", "per_day": 20},
        ),
        ("estimate", "SendEmail", "--users", "40", "--per-user", "3"): (
            "estimate",
            {"action": "SendEmail", "users": "40", "per_user": 3},
        ),
        ("apps",): ("apps", {}),
        ("apps", "--pool", "message", "--since", "2026-02-04"): ("apps", {"pool": "message", "since": "2026-02-04"}),
        ("daily",): ("daily", {}),
        ("daily", "--app", "crm"): ("daily", {"app": "crm"}),
        ("events",): ("events", {}),
        ("events", "--limit", "2", "--member", "bo"): ("events", {"limit": 2, "member": "bo"}),
        ("log", "SendEmail", "--app", "crm", "--dry-run"): ("log", {"action": "SendEmail", "app": "crm"}),
        ("log", "message", "--credits", "1.3", "--dry-run"): ("log", {"action": "message", "credits": 1.3}),
    }

    async def scenario(s):
        return [await answer(s, tool, **arguments) for tool, arguments in calls.values()]

    answers, _ = with_server(scenario, env=ledger_env(cli))
    for argv, got in zip(calls, answers, strict=True):
        assert got == cli.json(*argv, now=NOW), argv
    assert answers[-1]["credits"] == Decimal("1.3") and answers[-1]["dry_run"] is True
    assert any("budget" in row for row in answers[6])  # the budget beside the app's use, as `apps` shows it
    assert len(cli.json("events", "--limit", "0", now=NOW)) == 4  # `log` quoted: nothing was recorded


def test_log_records_once_under_a_key_and_sees_what_others_write(cli):
    history(cli)
    before = cli.json("events", "--limit", "0", now=NOW)

    async def scenario(s):
        recorded = await answer(s, "log", action="SendEmail", app="crm", key="run-1", dry_run=False)
        again = await answer(s, "log", action="SendEmail", app="crm", key="run-1", dry_run=False)
        held = held_open(cli)  # between two calls the server holds nothing of the ledger open
        r = cli("log", "invokeLLM", "--app", "crm", now=NOW)  # another process writes
        assert r.exit_code == 0, r.stderr
        balance = await answer(s, "balance")
        return recorded, again, held, balance

    (recorded, again, held, balance), _ = with_server(scenario, env=ledger_env(cli))
    assert recorded["dry_run"] is False and recorded["replayed"] is False and recorded["id"] is not None
    assert again["replayed"] is True and again["id"] == recorded["id"]
    after = cli.json("events", "--limit", "0", now=NOW)
    assert len(after) == len(before) + 2  # the keyed use once, and the other process's
    assert {e["id"] for e in after} - {e["id"] for e in before} == {recorded["id"], after[0]["id"]}
    shown = cli.json("show", str(recorded["id"]), now=NOW)
    assert (shown["action"], shown["app"], shown["key"], shown["credits"]) == ("SendEmail", "crm", "run-1", 1)
    assert balance == cli.json("balance", now=NOW)  # the server's next call saw the other process's write
    assert held == []
    replay = cli.json("log", "SendEmail", "--app", "crm", "--key", "run-1", now=NOW)
    assert replay["replayed"] is True and replay["id"] == recorded["id"]  # one key, whoever logs


def held_open(cli) -> list:
    """What of the ledger a running `credits mcp` (a child of this process) holds open: on PostgreSQL its
    connections to the ledger's database, on SQLite its file descriptors on the file (or its -wal, -shm)."""
    if cli.on_server:
        query = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        return cli.sql(query)
    servers = [
        pid
        for pid in os.listdir("/proc")
        if pid.isdigit() and _parent(pid) == os.getpid() and b"credits_cli\0mcp" in _read(f"/proc/{pid}/cmdline")
    ]
    assert len(servers) == 1, servers
    fds = f"/proc/{servers[0]}/fd"
    return [t for t in (_link(os.path.join(fds, fd)) for fd in os.listdir(fds)) if t.startswith(str(cli.db))]


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def _parent(pid: str) -> int:
    stat = _read(f"/proc/{pid}/stat").decode()
    return int(stat.rsplit(")", 1)[1].split()[1]) if stat else -1


def _link(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def test_a_refused_log_is_a_tool_error_that_records_nothing(cli):
    history(cli)
    argv = ("log", "GenerateVideo", "--seconds", "5000", "--app", "promo")
    before = cli.dump()

    async def scenario(s):
        refused = await failure(s, "log", action="GenerateVideo", seconds=5000, app="promo", dry_run=False)
        quoted = await failure(s, "log", action="GenerateVideo", seconds=5000, app="promo")  # refused as a quote too
        return refused, quoted, await answer(s, "balance")

    (refused, quoted, balance), stderr = with_server(scenario, env=ledger_env(cli))
    assert cli.dump() == before  # nothing recorded
    line = one_line_error(cli(*argv, now=NOW), code=3)
    text, structured = refused
    assert text == line.removeprefix("credits: ")
    assert quoted == refused
    expected = cli(*argv, "--json", now=NOW)
    assert structured == {"error": {**json.loads(expected.stdout)["error"], "exit_code": 3}}
    assert structured["error"]["code"] == "refused" and structured["error"]["short"] > 0
    assert balance == cli.json("balance", now=NOW)  # the server still answers
    assert f"credits: log: {text}" in stderr  # and its log says why


def as_argument(line: str) -> str:
    """The CLI's error line (after "credits: ") with each option and argument named as a tool's argument."""
    return re.sub(r"--([a-z-]+)", lambda m: m.group(1).replace("-", "_"), line).replace("ACTION", "action")


def test_bad_arguments_are_tool_errors_with_the_commands_message(cli):
    history(cli)
    before = cli.dump(outbox=True)
    cases = [
        (("log", "Nope"), "log", {"action": "Nope", "dry_run": False}, "action"),
        (("log", "SendEmail", "--count=-1"), "log", {"action": "SendEmail", "count": -1, "dry_run": False}, "count"),
        (("log", "message", "--credits", "0.0001"), "log", {"action": "message", "credits": 0.0001}, "credits"),
        (("apps", "--pool", "x"), "apps", {"pool": "x"}, "pool"),
        (("daily", "--since", "yesterday"), "daily", {"since": "yesterday"}, "since"),
        (("events", "--limit=-1"), "events", {"limit": -1}, "limit"),
        (("forecast", "--pool", "both"), "forecast", {"pool": "both"}, "pool"),
        (("estimate", "SendEmail"), "estimate", {"action": "SendEmail"}, "per_day"),
        (
            ("estimate", "GenerateVideo", "--seconds", "x", "--per-day", "2"),
            "estimate",
            {"action": "GenerateVideo", "seconds": "x", "per_day": 2},
            "seconds",
        ),
    ]
    not_the_clis = [
        (
            "log",
            {"action": "SendEmail", "colour": "red"},
            "colour",
            "colour: is not an argument of the tool log (use: ",
        ),
        ("log", {"action": "SendEmail", "dry_run": "no"}, "dry_run", "dry_run: must be true or false"),
        ("log", {"action": "SendEmail", "app": ["crm"]}, "app", "app: must be text or a number, not list"),
        ("log", {"app": "crm"}, "action", "action: is missing"),
        ("balance", {"pool": "message"}, "pool", "pool: is not an argument of the tool balance (there are none)"),
    ]

    async def scenario(s):
        errors = [await failure(s, tool, **arguments) for _, tool, arguments, _ in cases]
        errors += [await failure(s, tool, **arguments) for tool, arguments, _, _ in not_the_clis]
        with pytest.raises(MCPError, match="unknown tool 'spend'"):
            await s.call_tool("spend", {})
        return errors, await answer(s, "balance")  # the server still answers

    (errors, balance), _ = with_server(scenario, env=ledger_env(cli))
    for (argv, _, _, field), (text, structured) in zip(cases, errors[: len(cases)], strict=True):
        line = one_line_error(cli(*argv, now=NOW))
        assert text == as_argument(line.removeprefix("credits: ")), argv
        assert structured == {"error": {"code": "bad_input", "exit_code": 2, "message": text, "field": field}}
    for (_, _, field, message), (text, structured) in zip(not_the_clis, errors[len(cases) :], strict=True):
        assert text.startswith(message), text
        assert structured["error"]["field"] == field and structured["error"]["exit_code"] == 2
    assert balance == cli.json("balance", now=NOW)
    assert cli.dump(outbox=True) == before  # nothing written, not even a notification


def test_the_global_options_before_mcp_apply(cli):
    for step in (("init", "--plan", "pro"), ("--workspace", "team", "init", "--plan", "elite")):
        assert cli(*step, now=NOW).exit_code == 0
    cli("--workspace", "team", "log", "invokeLLM", "--app", "crm", now=NOW)
    args = ("--db", str(cli.db), "--now", NOW, "--workspace", "team")

    async def scenario(s):
        return await answer(s, "balance"), await answer(s, "apps")

    (balance, apps), _ = with_server(scenario, args=args)  # no CREDITS_* variable
    assert balance["workspace"] == "team" and balance["plan"] == "elite"
    assert balance == cli.json("--workspace", "team", "balance", now=NOW)
    assert apps == cli.json("--workspace", "team", "apps", now=NOW)


def test_a_bad_setting_stops_the_server_before_it_serves(tmp_path):
    catalog = tmp_path / "catalog.toml"
    catalog.write_text("[plans.free]\nprice_monthly = 'free'\n")
    for env, field in (({"CREDITS_NOW": "soon"}, "--now"), ({"CREDITS_CATALOG": str(catalog)}, "--catalog")):
        r = subprocess.run(
            [sys.executable, "-m", "credits_cli", "mcp"],
            env={**os.environ, "CREDITS_DB": str(tmp_path / "x.db"), **env},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 2 and r.stdout == "", (env, r.stdout, r.stderr)
        [line] = r.stderr.splitlines()
        assert line.startswith(f"credits: {field}: "), line
    assert not (tmp_path / "x.db").exists()


def test_without_the_sdk_it_says_how_to_install_it(tmp_path):
    hide = "import sys; sys.modules['mcp'] = None; sys.argv[1:] = ['mcp']; from credits_cli.cli import main; main()"
    r = subprocess.run(
        [sys.executable, "-c", hide],
        env={**os.environ, "CREDITS_DB": str(tmp_path / "x.db")},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr.splitlines() == [
        "credits: credits mcp needs the Model Context Protocol SDK (the Python package mcp):"
        " pip install 'credits-cli[mcp]'"
    ]
    assert not (tmp_path / "x.db").exists()


# Prints, once the command has run, the modules of the SDK (and of the server) it imported.
IMPORTED = """
import atexit, sys
def _report():
    names = sorted(m for m in sys.modules if m.split('.')[0] in ('mcp', 'mcp_types') or m.endswith('.mcpserver'))
    with open(out, 'w') as f:
        f.write(' '.join(names))
atexit.register(_report)
out = sys.argv[1]
sys.argv = ['credits', *sys.argv[2:]]
from credits_cli.cli import main
main()
"""


@pytest.mark.parametrize(
    "argv",
    [("log", "SendEmail", "-q"), ("log", "SendEmail", "--json"), ("balance", "--json"), ("--help",), ("mcp", "--help")],
)
def test_only_credits_mcp_imports_the_sdk(tmp_path, argv):
    def imported(*argv) -> str:
        out = tmp_path / "modules"
        subprocess.run(
            [sys.executable, "-c", IMPORTED, str(out), *argv],
            env={**os.environ, "CREDITS_DB": str(tmp_path / "x.db"), "CREDITS_NOW": NOW},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=120,
            cwd=tmp_path,
        )
        return out.read_text()

    assert imported(*argv) == ""
    assert "mcp.server.lowlevel" in imported("mcp").split()  # the check sees the SDK where it is imported


def registrations() -> list[dict]:
    """Every server registration the docs show (a JSON block with "mcpServers")."""
    pages = [ROOT / "README.md", ROOT / "docs" / "guide.md"]
    blocks = [b for p in pages for b in re.findall(r"```json\n(.*?)```", p.read_text(), flags=re.S)]
    return [json.loads(b)["mcpServers"]["credits"] for b in blocks if "mcpServers" in b]


@pytest.mark.parametrize("registration", registrations())
def test_the_documented_registration_starts_the_server(cli, registration):
    history(cli)
    command = Path(sys.executable).with_name(registration["command"])  # the `credits` this environment installed
    if not command.exists():
        pytest.skip(f"no {command} in this environment")
    env = {**registration.get("env", {}), "CREDITS_DB": str(cli.db), "CREDITS_NOW": NOW}

    async def scenario(s):
        return [t.name for t in (await s.list_tools()).tools], await answer(s, "status")

    (names, status), _ = with_server(scenario, command=[str(command), *registration["args"]], env=env)
    assert set(names) == TOOLS
    assert status == cli.json("status", now=NOW)
    assert len(registrations()) >= 2  # the README's and the guide's
