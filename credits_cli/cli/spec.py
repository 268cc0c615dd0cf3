"""The parameters of the hot commands, defined once, as plain data.

`credits log` is called from shell scripts after every AI call, so it must not
pay for importing typer, click and rich. Its parameters (and the global
options) are declared here, in a module that imports nothing heavy; the typer
command is *built* from this table (`common.from_spec`) and the lean parser
(`fast`) reads the same table. One definition, two readers: a test checks that
they agree on every argv it tries.
"""

from __future__ import annotations

from ..records import record


@record
class Param:
    name: str  # the keyword the command body receives
    decls: tuple[str, ...] = ()  # option names; empty: a positional argument
    flag: bool = False  # an on/off option (takes no value)
    default: object = None
    help: str = ""
    metavar: str | None = None
    envvar: str | None = None

    @property
    def is_argument(self) -> bool:
        return not self.decls


GLOBALS = (
    Param("db", ("--db",), envvar="CREDITS_DB", metavar="PATH",
          help="The ledger file (default: credits.db in the user data directory)."),
    Param("now", ("--now",), envvar="CREDITS_NOW", metavar="ISO-INSTANT",
          help="The instant every command takes as now (the simulation and test clock)."),
    Param("workspace", ("--workspace",), envvar="CREDITS_WORKSPACE", metavar="NAME",
          help="The workspace to use (default: default)."),
    Param("catalog", ("--catalog",), envvar="CREDITS_CATALOG", metavar="FILE",
          help="A catalog TOML file of plans and prices replacing the built-in one."),
)

# What one use is: shared by `log` and `estimate`.
USAGE = (
    Param("action", help="SendEmail, UploadFile, ExtractDataFromUploadedFile, GenerateImage, GenerateVideo,"
                         " GenerateSpeech, invokeLLM, agent, automation or message (any case)."),
    Param("model", ("--model",), help="automatic, gemini-3-flash or gpt-5 (invokeLLM and agent; default automatic)."),
    Param("seconds", ("--seconds",), metavar="N", help="Seconds of video (GenerateVideo)."),
    Param("chars", ("--chars",), metavar="N", help="Characters spoken (GenerateSpeech)."),
    Param("custom_domain", ("--custom-domain",), flag=True, default=False, help="SendEmail from a custom domain."),
    Param("count", ("--count",), default="1", metavar="N", help="N identical actions."),
    Param("credits", ("--credits",), metavar="X",
          help="The real cost of one action, as the platform shows it (overrides the catalog)."),
    Param("scope", ("--scope",), help="message: simple, feature, module, app-wide or discuss (its typical cost)."),
)

JSON = Param("json", ("--json",), flag=True, default=False, help="Print JSON on stdout instead of a table.")

LOG = (
    *USAGE,
    Param("app_name", ("--app",), metavar="NAME", help="The app it was for."),
    Param("member", ("--member",), metavar="NAME", help="Who did it."),
    Param("note", ("--note",), metavar="TEXT", help="A note kept with the event."),
    Param("at", ("--at",), metavar="ISO-INSTANT", help="When it happened (default: now)."),
    Param("key", ("--key",), metavar="KEY", help="Idempotency key: the same key and payload are recorded once."),
    Param("input_text", ("--input",), metavar="TEXT",
          help="The call's input: only a fingerprint is kept, to count repeated inputs (credits advise)."),
    Param("dry_run", ("--dry-run",), flag=True, default=False,
          help="Quote the cost and what would be left; record nothing."),
    Param("batch", ("--batch",), flag=True, default=False,
          help="Read events as JSON lines on stdin (keys: the options' names, e.g. action, count, app, key);"
               " print one JSON result line per event."),
    Param("quiet", ("--quiet", "-q"), flag=True, default=False, help="Print nothing (the exit code tells)."),
    JSON,
)

# The keys a --batch line may hold: the options' long names without dashes (and "action").
BATCH_KEYS = {p.decls[0][2:].replace("-", "_") if p.decls else p.name: p for p in LOG
              if p.name not in ("batch", "quiet", "json")}
