"""Issue 6's corpus: malformed input across every command and the importer.

Each case exits 2 with one line on stderr naming the field (the line, for files), no
traceback, and leaves the database file unchanged byte for byte.
"""

import pytest
from conftest import one_line_error

NOW = "2026-03-10T12:00:00Z"
LONG = "x" * 10_000
HUGE = "9223372036854775808"  # 2^63

CASES = [
    # log: actions, models, options that do not apply
    (["log", "Teleport"], "ACTION"),
    (["log", ""], "ACTION"),
    (["log", "invokeLLM", "--model", "gpt-9"], "--model"),
    (["log", "invokeLLM", "--model", ""], "--model"),
    (["log", "SendEmail", "--model", "gpt-5"], "--model"),
    (["log", "UploadFile", "--seconds", "3"], "--seconds"),
    (["log", "UploadFile", "--chars", "3"], "--chars"),
    (["log", "UploadFile", "--scope", "simple"], "--scope"),
    (["log", "GenerateVideo"], "--seconds"),
    (["log", "GenerateSpeech"], "--chars"),
    (["log", "message"], "--credits"),
    (["log", "message", "--scope", "huge"], "--scope"),
    (["log", "message", "--scope", "simple", "--credits", "1"], "--scope"),
    (["log", "UploadFile", "--custom-domain"], "--custom-domain"),
    # numbers
    *[
        (["log", "SendEmail", "--count", v], "--count")
        for v in ("0", "-1", "1.5", "1000001", HUGE, "", "nan", "inf", "1e3", " ", "½", "٣", "0x10", "1,000")
    ],
    *[(["log", "GenerateVideo", "--seconds", v], "--seconds") for v in ("0", "nan", "inf", "-5", HUGE, "1e400")],
    *[(["log", "GenerateSpeech", "--chars", v], "--chars") for v in ("0", "-inf", "1000001")],
    *[
        (["log", "message", "--credits", v], "--credits")
        for v in (
            "nan",
            "NaN",
            "inf",
            "-inf",
            "-1",
            "1e400",
            "1000000.001",
            "abc",
            "0.0001",
            "",
            HUGE,
            "1.2.3",
            "--1",
            "١",
        )
    ],
    # instants, including local times a DST change skips or repeats (the workspace is in Europe/Paris)
    *[
        (["log", "SendEmail", "--at", v], "--at")
        for v in (
            "last tuesday",
            "2026-02-30T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2030-01-01T00:00:00Z",
            "2025-01-01T00:00:00Z",
            "",
            "nan",
            "2026-03-29T02:30:00",
            "2025-10-26T02:30:00",
            "2026-03-01T25:00:00Z",
            "2026-03-01T10:00:00+25:00",
            "2026-03-01T10:00:00Z\x00",
            LONG,
            "9999-12-31T23:59:59Z",
            "0001-01-01T00:00:00Z",
        )
    ],
    # names and notes
    *[
        (["log", "SendEmail", option, v], option)
        for option in ("--app", "--member", "--key")
        for v in ("", " ", LONG, "bob\x1b[31m", "evil\u202etxt", "a\x00b", "tab\there")
    ],
    # bytes that are not UTF-8 (Python hands them over as lone surrogates), on the lean log path and the others
    *[(["log", "SendEmail", option, "caf\udce9"], option) for option in ("--app", "--member", "--key", "--note")],
    (["log", "SendEmail", "--app=\udcff"], "--app"),
    (["--workspace", "\udcff", "balance"], "--workspace"),
    (["grant", "--pool", "message", "--credits", "1", "--reason", "x\udcffy"], "--reason"),
    (["apps", "--app", "\udcff"], "--app"),
    (["events", "--member", "\udcff"], "--member"),
    (["budget", "set", "--app", "\udcff", "--pool", "integration", "--credits", "5"], "--app"),
    (["log", "SendEmail", "--note", "x" * 2001], "--note"),
    (["log", "SendEmail", "--note", "\u2066hidden"], "--note"),
    (["log", "SendEmail", "--json", "--quiet"], "--quiet"),
    (["log", "SendEmail", "--bogus"], "--bogus"),
    # global options
    (["--now", "tomorrow", "balance"], "--now"),
    (["--now", "", "balance"], "--now"),
    (["--now", "2026-03-01T00:00:00Z", "balance"], "--now"),  # before the workspace began
    (["--workspace", "", "balance"], "--workspace"),
    (["--workspace", "a\x00b", "balance"], "--workspace"),
    (["--workspace", "nobody", "balance"], "--workspace"),
    (["--catalog", "/nonexistent.toml", "plans"], "--catalog"),
    # init (the workspace is in use: and each option is checked first)
    (["init", "--plan", "platinum"], "--plan"),
    (["init", "--plan", ""], "--plan"),
    (["init", "--plan", "free", "--start", "yesterday"], "--start"),
    (["init", "--plan", "free", "--timezone", "Mars/Olympus"], "--timezone"),
    (["init", "--plan", "free", "--timezone", "localtime"], "--timezone"),
    (["init", "--plan", "free", "--billing", "weekly"], "--billing"),
    (["init", "--plan", "pro", "--start", "2026-03-02T00:00:00Z"], "--workspace"),
    # reports
    (["apps", "--pool", "gold"], "--pool"),
    (["apps", "--since", "2026-02-30"], "--since"),
    (["apps", "--since", "soon"], "--since"),
    (["members", "--json", "--csv"], "--csv"),
    (["daily", "--since", "2026-03-09", "--until", "2026-03-05"], "--until"),
    (["daily", "--since", "1990-01-01"], "--since"),
    (["events", "--limit", "-1"], "--limit"),
    (["events", "--limit", "ten"], "--limit"),
    (["events", "--app", ""], "--app"),
    (["actions", "--member", LONG], "--member"),
    (["show", "99"], "ID"),
    (["show", "abc"], "ID"),
    (["show", HUGE], "ID"),
    (["export", "--format", "xml"], "--format"),
    (["export", "--output", "/"], "--output"),
    # simulation
    (["grant", "--pool", "message", "--credits", "5"], "--reason"),
    (["grant", "--pool", "gold", "--credits", "5", "--reason", "x"], "--pool"),
    (["grant", "--pool", "message", "--credits", "0", "--reason", "x"], "--credits"),
    (["grant", "--pool", "message", "--credits", "-5", "--reason", "x"], "--credits"),
    (
        ["grant", "--pool", "message", "--credits", "5", "--reason", "x", "--expires", "2026-01-01T00:00:00Z"],
        "--expires",
    ),
    (["grant", "--pool", "message", "--credits", "5", "--reason", "x", "--kind", "gift"], "--kind"),
    (["topup", "--pool", "message", "--packs", "9"], "--packs"),
    (["topup", "--pool", "message", "--packs", "0"], "--packs"),
    (["topup", "--pool", "message"], "--packs"),
    (["topup", "--packs", "1"], "--pool"),
    (["coupon", "create", "AB", "--credits", "5", "--pool", "message"], "CODE"),
    (["coupon", "create", "BAD CODE!", "--credits", "5", "--pool", "message"], "CODE"),
    (["coupon", "create", "WELCOME-10", "--credits", "5", "--pool", "message"], "CODE"),  # exists
    (["coupon", "create", "--credits", "nan", "--pool", "message"], "--credits"),
    (["coupon", "create", "--credits", "5", "--pool", "message", "--uses", "0"], "--uses"),
    (["coupon", "redeem", "NOPE-NOPE"], "CODE"),
    (["coupon", "redeem", "??"], "CODE"),
    (["share", "submit", "--platform", "x", "--url", "https://x.com/a/status/1", "--followers", "100"], "--followers"),
    (["share", "submit", "--platform", "x", "--url", "https://x.com/a/status/1", "--followers", "-5"], "--followers"),
    (["share", "submit", "--platform", "linkedin", "--url", "https://x.com/a/1", "--followers", "500"], "--url"),
    (["share", "submit", "--platform", "x", "--url", "javascript:alert(1)", "--followers", "500"], "--url"),
    (["share", "submit", "--platform", "myspace", "--url", "https://x.com/a", "--followers", "500"], "--platform"),
    (["share", "approve"], "ID"),
    (["share", "reject", "7"], "ID"),
    (["void", "99"], "ID"),
    (["void", "0"], "ID"),
    (["void", "abc"], "ID"),
    (["clock", "set", "soon"], "INSTANT"),
    (["clock", "set", "2020-01-01T00:00:00Z"], "INSTANT"),
    (["clock", "advance", "soon"], "DURATION"),
    (["clock", "advance", "99999mo"], "DURATION"),
    (["clock", "advance", "-3d"], "'-3'"),
    (["clock", "advance", "3 days ago"], "DURATION"),
    (["plan", "set", "platinum"], "PLAN"),
    (["plan", "set", "pro", "--billing", "daily"], "--billing"),
    # foresight
    (["forecast", "--pool", "gold"], "--pool"),
    (["estimate", "invokeLLM"], "--per-day"),
    (["estimate", "invokeLLM", "--per-day", "0"], "--per-day"),
    (["estimate", "invokeLLM", "--users", "5"], "--per-day"),
    (["estimate", "Teleport", "--per-day", "1"], "ACTION"),
    (["advise", "--flat", "nan"], "--flat"),
    (["budget", "set", "--pool", "message", "--credits", "5"], "--app"),
    (["budget", "set", "--app", "crm", "--pool", "message", "--credits", "inf"], "--credits"),
    (["budget", "set", "--app", "crm", "--pool", "message"], "--credits"),
    (["budget", "remove", "--app", "nobody"], "--app"),
    (["alert", "add", "--pool", "integration"], "--at"),
    (["alert", "add", "--pool", "integration", "--at", "150%"], "--at"),
    (["alert", "add", "--pool", "integration", "--left", "nan"], "--left"),
    (["alert", "add", "--pool", "integration", "--at", "5%", "--by", "friday"], "--by"),
    (["alert", "add", "--pool", "integration", "--expiring", "-7"], "--expiring"),
    (["alert", "add", "--pool", "integration", "--expiring", "a week"], "--expiring"),
    (["alert", "remove", "42"], "ID"),
    (["watch", "--interval", "0"], "--interval"),
]

FILES = [
    (
        "at,pool,action,quantity,credits,membr\n2026-03-05T00:00:00Z,integration,SendEmail,1,1,ana\n",
        "line 1: the header names 'membr', not a column",
    ),
    (
        '{"at": "2026-03-05T00:00:00Z", "pool": "integration", "action": "SendEmail", "quantity": 1, "credits": 1,'
        ' "membr": "ana"}\n',
        "line 1: 'membr': is not a field",
    ),
    (
        '{"at": "2026-03-05T00:00:00Z", "pool": "integration", "action": "SendEmail", "quantity": 1, "credits": 1,'
        ' "app": "\\ud800"}\n',
        "line 1: app: is not valid UTF-8",
    ),
    ("at,pool,action,quantity,credits\n2026-03-31T00:00:00Z,integration,SendEmail,1,1\n", "line 2: at:"),
    ("at,pool,action,quantity,credits\n2026-03-29T02:30:00,integration,SendEmail,1,1\n", "line 2: at:"),
    ("at,pool,action,quantity,credits\n2026-03-05T00:00:00Z,integration,SendEmail,1,nan\n", "line 2: credits:"),
    ("at,pool,action,quantity,credits\n2026-03-05T00:00:00Z,integration,SendEmail,1,inf\n", "line 2: credits:"),
    ("at,pool,action,quantity,credits\n2026-03-05T00:00:00Z,integration,SendEmail,1,1e400\n", "line 2: credits:"),
    ("at,pool,action,quantity,credits\n2026-03-05T00:00:00Z,integration,SendEmail,-1,1\n", "line 2: quantity:"),
    (f"at,pool,action,quantity,credits\n2026-03-05T00:00:00Z,integration,SendEmail,{HUGE},1\n", "line 2: quantity:"),
    ("at,pool,action,quantity,credits\n,integration,SendEmail,1,1\n", "line 2: at:"),
    (f"at,pool,action,quantity,credits,app\n2026-03-05T00:00:00Z,integration,SendEmail,1,1,{LONG}\n", "line 2: app:"),
    (
        "at,pool,action,quantity,credits,member\n2026-03-05T00:00:00Z,integration,SendEmail,1,1,a\x1bb\n",
        "line 2: member:",
    ),
    (
        "at,pool,action,quantity,credits,note\n2026-03-05T00:00:00Z,integration,SendEmail,1,1,x\u202ey\n",
        "line 2: note:",
    ),
    ("at,pool,action,quantity\n2026-03-05T00:00:00Z,integration,SendEmail,1\n", "lacks the column credits"),
    ("at,pool,action,quantity,credits\n2026-03-05T00:00:00Z,integration,SendEmail,1,1,extra\n", "line 2:"),
    (
        '{"at": "2026-03-05T00:00:00Z", "pool": "integration", "action": "SendEmail", "quantity": 1, "credits": -1}\n',
        "line 1: credits:",
    ),
]


@pytest.fixture(scope="module")
def corpus_db(module_db):
    from conftest import Cli

    cli = Cli(module_db("c"))
    steps = [
        ["init", "--plan", "builder", "--start", "2026-03-02T00:00:00Z", "--timezone", "Europe/Paris"],
        ["log", "invokeLLM", "--model", "gpt-5", "--app", "crm", "--at", "2026-03-05T10:00:00Z"],
        ["coupon", "create", "WELCOME-10", "--credits", "10", "--pool", "message"],
    ]
    for args in steps:
        r = cli(*args, now=NOW)
        assert r.exit_code == 0, (args, r.stderr)
    if not cli.on_server:
        cli.sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return cli


def contents(cli):
    """What the ledger holds: a file's every byte (and its WAL's); a server's every row."""
    if cli.on_server:
        return cli.dump(outbox=True)
    paths = [cli.db, cli.db.with_name(cli.db.name + "-wal")]
    return [p.read_bytes() if p.exists() and p.stat().st_size else b"" for p in paths]


def test_the_corpus_is_large_enough():
    assert len(CASES) + len(FILES) >= 120


@pytest.mark.parametrize("args,field", CASES, ids=[f"{i}" for i in range(len(CASES))])
def test_bad_input_exits_2_names_the_field_and_changes_no_byte(corpus_db, args, field):
    before = contents(corpus_db)
    one_line_error(corpus_db(*args, now=NOW), field=field)
    assert contents(corpus_db) == before


@pytest.mark.parametrize("content,where", FILES, ids=[f"file{i}" for i in range(len(FILES))])
def test_bad_files_exit_2_name_the_line_and_field_and_change_no_byte(corpus_db, tmp_path, content, where):
    path = tmp_path / ("bad.jsonl" if content.startswith("{") else "bad.csv")
    path.write_text(content)
    before = contents(corpus_db)
    r = corpus_db("import", str(path), now=NOW)
    assert r.exit_code == 2, r.stderr
    assert where in r.stderr and "Traceback" not in r.stderr
    assert contents(corpus_db) == before


def test_invalid_utf8_and_a_negative_catalog_price(corpus_db, tmp_path):
    before = contents(corpus_db)
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(b"at,pool,action,quantity,credits,app\n2026-03-05T00:00:00Z,integration,SendEmail,1,1,caf\xe9\n")
    r = corpus_db("import", str(bad), now=NOW)
    assert r.exit_code == 2 and "line 2: not UTF-8" in r.stderr
    from importlib import resources

    catalog = tmp_path / "neg.toml"
    catalog.write_text(
        resources.files("credits_cli")
        .joinpath("data/catalog.toml")
        .read_text()
        .replace(
            '[actions.UploadFile]\npool = "integration"\nprice = 1',
            '[actions.UploadFile]\npool = "integration"\nprice = -1',
        )
    )
    line = one_line_error(corpus_db("log", "UploadFile", "--catalog", str(catalog), now=NOW), field="--catalog")
    assert "actions.UploadFile.price" in line
    assert contents(corpus_db) == before
