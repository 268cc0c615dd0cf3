"""The parameters commands share, defined once, as plain data.

`credits log` is called from shell scripts after every AI call, so it must not
pay for importing typer, click and rich. Its parameters (and the global
options) are declared here, in a module that imports nothing heavy; the typer
command is *built* from this table (`common.from_spec`) and the lean parser
(`fast`) reads the same table. One definition, two readers: a test checks that
they agree on every argv it tries. Every other copy (the keys of a --batch
line, the usage `estimate` prices, the options the CLI hoists) is derived from
these tables by name.

A parameter's name is also the word the use cases and the domain name it by in
their errors (`BadInput("model", ...)`); the CLI shows it as the user wrote it
(`names`).
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
    raw: bool = False  # any bytes: a file's name, or text that is only hashed (not stored, not shown)
    complete: str | None = None  # what a shell completes it with: a kind of cli/complete.py (actions, apps ...)

    @property
    def is_argument(self) -> bool:
        return not self.decls

    @property
    def shown(self) -> str:
        """How a user writes it on the command line: its long option, or its argument's metavar."""
        return (
            next((d for d in self.decls if d.startswith("--")), self.decls[0])
            if self.decls
            else (self.metavar or self.name.upper())
        )

    @property
    def key(self) -> str:
        """Its key in a JSON line of --batch: the long option's name without dashes (the argument's name)."""
        return self.shown[2:].replace("-", "_") if self.decls else self.name


GLOBALS = (
    Param(
        "db",
        ("--db",),
        envvar="CREDITS_DB",
        metavar="PATH",
        raw=True,
        help="The ledger file (default: credits.db in the user data directory).",
    ),
    Param(
        "now",
        ("--now",),
        envvar="CREDITS_NOW",
        metavar="ISO-INSTANT",
        help="The instant every command takes as now (the simulation and test clock).",
    ),
    Param(
        "workspace",
        ("--workspace",),
        envvar="CREDITS_WORKSPACE",
        metavar="NAME",
        help="The workspace to use (default: default).",
    ),
    Param(
        "catalog",
        ("--catalog",),
        envvar="CREDITS_CATALOG",
        metavar="FILE",
        raw=True,
        help="A catalog TOML file of plans and prices replacing the built-in one.",
    ),
)

# What one use is: shared by `log` and `estimate`.
USAGE = (
    Param(
        "action",
        help="SendEmail, UploadFile, ExtractDataFromUploadedFile, GenerateImage, GenerateVideo,"
        " GenerateSpeech, invokeLLM, agent, automation or message (any case).",
        complete="actions",
    ),
    Param(
        "model",
        ("--model",),
        help="automatic, gemini-3-flash or gpt-5 (invokeLLM and agent; default automatic).",
        complete="models",
    ),
    Param("seconds", ("--seconds",), metavar="N", help="Seconds of video (GenerateVideo)."),
    Param("chars", ("--chars",), metavar="N", help="Characters spoken (GenerateSpeech)."),
    Param("custom_domain", ("--custom-domain",), flag=True, default=False, help="SendEmail from a custom domain."),
    Param("count", ("--count",), default="1", metavar="N", help="N identical actions."),
    Param(
        "credits",
        ("--credits",),
        metavar="X",
        help="The real cost of one action, as the platform shows it (overrides the catalog).",
    ),
    Param(
        "scope",
        ("--scope",),
        help="message: simple, feature, module, app-wide or discuss (its typical cost).",
        complete="scopes",
    ),
)

JSON = Param("json", ("--json",), flag=True, default=False, help="Print JSON on stdout instead of a table.")
CSV = Param("csv", ("--csv",), flag=True, default=False, help="Print CSV on stdout instead of a table.")
QUIET = Param(
    "quiet", ("--quiet", "-q"), flag=True, default=False, help="Print nothing on success (the exit code tells)."
)
POOL = Param("pool", ("--pool",), metavar="message|integration", help="The pool.", complete="pools")

# Where export writes.
OUTPUT_FILE = Param("output", ("--output", "-o"), metavar="FILE", raw=True, help="Write to FILE (default: stdout).")

# The filters of the reports and of export: the events of one app, member, action or pool, in a time range.
FILTERS = (
    Param("app", ("--app",), metavar="NAME", help="Only this app.", complete="apps"),
    Param("member", ("--member",), metavar="NAME", help="Only this member.", complete="members"),
    Param("action", ("--action",), metavar="ACTION", help="Only this action.", complete="actions"),
    Param("pool", ("--pool",), metavar="message|integration", help="Only this pool.", complete="pools"),
    Param("since", ("--since",), metavar="DATE|ISO", help="From this day (in the report's zone) or instant."),
    Param("until", ("--until",), metavar="DATE|ISO", help="Up to this day, included, or this instant, excluded."),
)

# Where a report's days begin and end and its times are shown (the reports, events, show and export).
TIMEZONE = Param(
    "timezone",
    ("--timezone",),
    metavar="ZONE",
    envvar="CREDITS_TIMEZONE",
    help="Count days, weeks and months and show times in this IANA zone (default: the workspace's).",
)

# apps, members, actions and the reports by period report on one pool, integration unless --pool says otherwise.
_FILTER = {p.name: p for p in FILTERS}
REPORT = (
    Param(
        "pool",
        ("--pool",),
        metavar="message|integration",
        help="The pool to report on (default integration).",
        complete="pools",
    ),
    *(_FILTER[name] for name in ("since", "until", "app", "member", "action")),
    TIMEZONE,
)

# How many events `events` shows.
LIMIT = Param("limit", ("--limit",), default="50", metavar="N", help="At most N events (0: all).")

# How often a use happens, for `estimate`.
TIMES = (
    Param("per_day", ("--per-day",), metavar="N", help="Uses a day."),
    Param("users", ("--users",), metavar="N", help="Daily users."),
    Param("per_user", ("--per-user",), metavar="N", help="Uses a user a day."),
)

LOG = (
    *USAGE,
    Param("app", ("--app",), metavar="NAME", help="The app it was for.", complete="apps"),
    Param("member", ("--member",), metavar="NAME", help="Who did it.", complete="members"),
    Param("note", ("--note",), metavar="TEXT", help="A note kept with the event."),
    Param("at", ("--at",), metavar="ISO-INSTANT", help="When it happened (default: now)."),
    Param("key", ("--key",), metavar="KEY", help="Idempotency key: the same key and payload are recorded once."),
    Param(
        "input",
        ("--input",),
        metavar="TEXT",
        raw=True,
        help="The call's input: only a fingerprint is kept, to count repeated inputs (credits advise).",
    ),
    Param(
        "dry_run",
        ("--dry-run",),
        flag=True,
        default=False,
        help="Quote the cost and what would be left; record nothing.",
    ),
    Param(
        "batch",
        ("--batch",),
        flag=True,
        default=False,
        help="Read events as JSON lines on stdin (keys: the options' names, e.g. action, count, app, key);"
        " print one JSON result line per event.",
    ),
    QUIET,
    JSON,
)

# How the command line, not one event, is shown: these are not keys of a --batch line.
OUTPUT = ("batch", "quiet", "json")

# The keys a --batch line may hold: the options' long names without dashes (and "action").
BATCH_KEYS = {p.key: p for p in LOG if p.name not in OUTPUT}

# What the user typed for each of log's parameters, by name: an error's field is named so. On the command
# line that is its option or argument; on a line of --batch its key (the global options stay the command line's).
LOG_NAMES = {p.name: p.shown for p in GLOBALS + LOG}
BATCH_NAMES = {**LOG_NAMES, **{p.name: key for key, p in BATCH_KEYS.items()}}
