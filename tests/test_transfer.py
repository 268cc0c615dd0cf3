"""Export and import: CSV and JSON lines, formula injection, all-or-nothing, idempotent."""

import csv
import io
import json

import pytest
from conftest import Cli, one_line_error
from hypothesis import given, settings
from hypothesis import strategies as st

NOW = "2026-11-10T00:00:00Z"
NASTY = [
    "=SUM(A1:A9)",
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1)",
    "\tTAB",
    "\rCR",
    "'quoted",
    'plain, with "quotes"',
    "naïve café ✓",
]


@pytest.fixture
def source(cli):
    assert (
        cli("init", "--plan", "builder", "--start", "2026-10-05T10:00:00Z", now="2026-10-05T10:00:00Z").exit_code == 0
    )
    for i, text in enumerate(NASTY):
        args = [
            "invokeLLM",
            "--model",
            ["automatic", "gemini-3-flash", "gpt-5"][i % 3],
            "--app",
            f"app{i % 4}",
            "--member",
            ["ana", "bob", "cy"][i % 3],
        ]
        if "\t" not in text and "\r" not in text:  # control characters are refused in names and notes
            args += ["--note", text]
        assert cli("log", *args, "--at", f"2026-11-0{1 + i % 9}T0{i}:00:00Z", now=NOW).exit_code == 0
    # text fields with formula starts go in app, member and key too
    assert (
        cli(
            "log",
            "SendEmail",
            "--custom-domain",
            "--count",
            "3",
            "--app",
            "=cmd",
            "--member",
            "-bob",
            "--key",
            "@k1",
            now=NOW,
        ).exit_code
        == 0
    )
    assert cli("log", "GenerateSpeech", "--chars", "120", "--at", "2026-10-20T00:00:00Z", now=NOW).exit_code == 0
    assert cli("log", "GenerateVideo", "--seconds", "3", now=NOW).exit_code == 0
    assert cli("log", "message", "--scope", "discuss", "--note", "'already quoted", now=NOW).exit_code == 0
    assert cli("log", "message", "--credits", "1.3", now=NOW).exit_code == 0
    assert cli("log", "GenerateImage", "--count", "2", "--app", "app1", now=NOW).exit_code == 0
    assert cli("void", "15", "--reason", "logged by mistake", now=NOW).exit_code == 0  # a correcting entry
    return cli


def fresh(new_db, name="copy"):
    other = Cli(new_db(name))
    assert (
        other("init", "--plan", "builder", "--start", "2026-10-05T10:00:00Z", now="2026-10-05T10:00:00Z").exit_code == 0
    )
    return other


def import_rows(tmp_path, new_db, rows):
    """Write `rows` to bad.csv and import it into a fresh ledger: (that ledger, its dump before, the result)."""
    path = tmp_path / "bad.csv"
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    copy = fresh(new_db)
    before = copy.dump()
    return copy, before, copy("import", str(path), now=NOW)


def reports(cli):
    out = {}
    for cmd in (
        ["balance"],
        ["apps"],
        ["members"],
        ["actions"],
        ["daily"],
        ["apps", "--pool", "message"],
        ["daily", "--since", "2026-10-05"],
    ):
        body = cli.json(*cmd, now=NOW)
        if cmd == ["balance"]:
            body.pop("now")
        out[" ".join(cmd)] = body
    out["events"] = [{k: v for k, v in e.items() if k != "id"} for e in cli.json("events", "--limit", "0", now=NOW)]
    return out


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
def test_export_then_import_into_a_fresh_workspace_gives_identical_reports(source, tmp_path, fmt, new_db):
    path = tmp_path / f"events.{fmt}"
    r = source("export", "--format", fmt, "--output", str(path), now=NOW)
    assert r.exit_code == 0 and path.exists()
    copy = fresh(new_db)
    r = copy("import", str(path), now=NOW)
    assert r.exit_code == 0, r.stderr
    assert reports(copy) == reports(source)
    # importing the same file again adds nothing, and so does importing it into its own source
    again = copy.json("import", str(path), now=NOW)
    assert (again["added"], again["skipped"]) == (0, again["rows"])
    assert source.json("import", str(path), now=NOW)["added"] == 0
    assert reports(copy) == reports(source)


def test_csv_quotes_formula_cells_keeps_numbers_and_restores_text_exactly(source, tmp_path):
    r = source("export", now=NOW)
    rows = list(csv.DictReader(io.StringIO(r.stdout, newline="")))
    header = r.stdout.splitlines()[0].split(",")
    assert header[:3] == ["id", "at", "pool"] and {"credits", "app", "member", "key", "note"} <= set(header)
    notes = {row["note"] for row in rows}
    assert "'=SUM(A1:A9)" in notes and "'+cmd|' /C calc'!A0" in notes and "'-2+3" in notes
    assert "'@SUM(1)" in notes and "''quoted" in notes and "''already quoted" in notes
    assert 'plain, with "quotes"' in notes  # a plain cell is not touched
    email = next(row for row in rows if row["action"] == "SendEmail")
    assert (email["app"], email["member"], email["key"]) == ("'=cmd", "'-bob", "'@k1")
    assert email["credits"] == "6" and email["quantity"] == "3"
    message = [row["credits"] for row in rows if row["action"] == "message"]
    assert message == ["0.3", "1.3"]  # numbers stay numbers
    events = {e["note"] for e in source.json("events", now=NOW)}
    assert {"=SUM(A1:A9)", "'quoted", "'already quoted"} <= events


def test_import_names_every_bad_row_and_imports_nothing(source, tmp_path, new_db):
    rows = list(csv.DictReader(io.StringIO(source("export", now=NOW).stdout, newline="")))
    rows[0]["at"] = "2026-11-31T00:00:00Z"
    rows[1]["action"] = "Teleport"
    rows[2]["pool"] = "gold"
    rows.append({**rows[5], "quantity": "-1"})
    good = [None] * (len(rows) + 1)
    copy, before, r = import_rows(tmp_path, new_db, rows)
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert any("bad.csv line 2: at:" in line for line in lines)
    assert any("bad.csv line 3: action:" in line and "Teleport" in line for line in lines)
    assert any("bad.csv line 4: pool:" in line for line in lines)
    assert any(f"bad.csv line {len(good) + 0}: quantity:" in line for line in lines)
    assert lines[-1] == "credits: FILE: 4 bad rows in bad.csv; nothing was imported"
    assert "Traceback" not in r.stderr
    assert copy.dump() == before


@pytest.mark.parametrize(
    "content,message",
    [
        (b"id,at,pool,action,quantity\n1,2026-11-01T00:00:00Z,integration,SendEmail,1\n", "lacks the column credits"),
        (
            b"at,pool,action,quantity,credits,app\n2026-11-01T00:00:00Z,integration,SendEmail,1,1,caf\xe9\n",
            "line 2: not UTF-8",
        ),
        (b'{"at": "2026-11-01T00:00:00Z", "pool": "integration"\n', "line 1: not valid JSON"),
        (
            b'{"at": "2026-11-01T00:00:00Z", "pool": "integration", "action": "SendEmail", "quantity": 1,'
            b' "credits": NaN}\n',
            "line 1: credits:",
        ),
        (
            b'{"at": "2026-11-01T00:00:00Z", "pool": "integration", "action": "SendEmail", "quantity": 1,'
            b' "credits": 1e400}\n',
            "line 1: credits:",
        ),
        (b"at,pool,action,quantity,credits\n2026-11-01T00:00:00Z,integration,SendEmail,1,1\x00\n", "NUL"),
    ],
)
def test_malformed_files_are_refused_cleanly(cli, tmp_path, content, message):
    assert cli("init", "--plan", "builder", "--start", "2026-10-05T10:00:00Z", now=NOW).exit_code == 0
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    before = cli.dump()
    r = cli("import", str(path), now=NOW)
    assert r.exit_code == 2, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert cli.dump() == before


def test_import_that_overdraws_is_refused_whole(cli, tmp_path):
    assert cli("init", "--plan", "free", "--start", "2026-11-01T00:00:00Z", now=NOW).exit_code == 0
    rows = ["at,pool,action,quantity,credits"] + [
        f"2026-11-0{d}T10:00:00Z,integration,GenerateVideo,1,30" for d in range(1, 5)
    ]  # 120 > 100
    path = tmp_path / "big.csv"
    path.write_text("\n".join(rows) + "\n")
    before = cli.dump()
    line = one_line_error(cli("import", str(path), now=NOW), code=3)
    assert "big.csv line 5" in line and "nothing was imported" in line
    assert cli.dump() == before


def test_dry_run_counts_and_imports_nothing(source, tmp_path, new_db):
    path = tmp_path / "e.jsonl"
    source("export", "--format", "jsonl", "-o", str(path), now=NOW)
    copy = fresh(new_db)
    before = copy.dump()
    out = copy.json("import", str(path), "--dry-run", now=NOW)
    assert out["dry_run"] is True and out["added"] == out["rows"] == 16
    assert copy.dump() == before


def test_a_key_used_for_another_event_is_refused(source, tmp_path):
    path = tmp_path / "k.csv"
    path.write_text("at,pool,action,quantity,credits,key\n2026-11-02T00:00:00Z,integration,SendEmail,1,1,'@k1\n")
    line = one_line_error(source("import", str(path), now=NOW))
    assert "already used by event" in line


def test_export_filters_and_streams_json_lines(source):
    r = source("export", "--format", "jsonl", "--app", "app1", now=NOW)
    lines = r.stdout.splitlines()
    assert lines and all(json.loads(line)["app"] == "app1" for line in lines)
    one_line_error(source("export", "--format", "xml", now=NOW), field="--format")


def test_a_void_that_does_not_match_its_event_is_refused(cli, tmp_path):
    assert cli("init", "--plan", "starter", "--start", "2026-01-01T00:00:00Z", now=NOW).exit_code == 0
    header = "id,at,pool,action,quantity,credits,corrects"
    cases = {
        "other pool and amount": [
            "1,2026-01-05T00:00:00Z,message,message,1,50,",
            "4,2026-01-05T00:00:00Z,integration,SendEmail,1,-999,1",
        ],
        "a void of a void": [
            "1,2026-01-05T00:00:00Z,message,message,1,1,",
            "2,2026-01-05T00:00:00Z,message,message,1,-1,1",
            "3,2026-01-05T00:00:00Z,message,message,1,1,2",
        ],
        "two voids": [
            "1,2026-01-05T00:00:00Z,message,message,1,1,",
            "2,2026-01-05T00:00:00Z,message,message,1,-1,1",
            "3,2026-01-05T00:00:00Z,message,message,1,-1,1",
        ],
    }
    before = cli.dump()
    for name, rows in cases.items():
        path = tmp_path / "v.csv"
        path.write_text("\n".join([header, *rows]) + "\n")
        r = cli("import", str(path), now=NOW)
        assert r.exit_code == 2, (name, r.stderr)
        assert "corrects" in r.stderr or "void must match" in r.stderr, (name, r.stderr)
        assert cli.dump() == before


def test_an_export_with_a_void_that_freed_credits_reimports(cli, tmp_path, new_db):
    from conftest import Cli

    assert cli("init", "--plan", "starter", "--start", "2026-01-01T00:00:00Z", now=NOW).exit_code == 0
    n = "2026-01-20T00:00:00Z"
    assert cli("log", "message", "--credits", "100", "--at", "2026-01-10T00:00:00Z", now=n).exit_code == 0
    assert cli("void", "1", now=n).exit_code == 0
    assert cli("log", "message", "--credits", "100", "--at", "2026-01-05T00:00:00Z", now=n).exit_code == 0
    path = tmp_path / "v.csv"
    cli("export", "-o", str(path), now=n)
    copy = Cli(new_db("copy"))
    assert copy("init", "--plan", "starter", "--start", "2026-01-01T00:00:00Z", now=NOW).exit_code == 0
    r = copy("import", str(path), now=n)
    assert r.exit_code == 0, r.stderr
    for c in (cli, copy):
        b = c.json("balance", now=n)["message"]
        assert (b["used"], b["available"]) == (100, 0)


@pytest.mark.parametrize(
    "content,message",
    [
        (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
        (
            b'{"at": "2026-11-01T00:00:00Z", "pool": "integration", "action": "SendEmail", "quantity": true,'
            b' "credits": 1}\n',
            "line 1: quantity:",
        ),
        (b"at,pool,action,quantity,credits,app,app\n2026-11-01T00:00:00Z,integration,SendEmail,1,1,a,b\n", "app twice"),
        (
            b"at,pool,action,quantity,credits,note\n2026-11-01T00:00:00Z,integration,SendEmail,1,1,ok\n"
            b"2026-11-01T00:00:00Z,integration,SendEmail,1,1," + b"x" * 200_000 + b"\n",
            "line 3: note:",
        ),
    ],
)
def test_odd_files_are_refused_naming_the_line_and_field(cli, tmp_path, content, message):
    assert cli("init", "--plan", "builder", "--start", "2026-10-05T10:00:00Z", now=NOW).exit_code == 0
    path = tmp_path / "odd.json"
    path.write_bytes(content)
    r = cli("import", str(path), now=NOW)
    assert r.exit_code == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr


# --- the export's bytes, pinned ---------------------------------------------------------------------
# A small ledger with every kind of cell the export writes: formula starts, quotes, commas, non-ASCII
# and separator characters, microseconds, 0.001 and 999,999.999 credits, a void (negative, `corrects`),
# a back-dated event, a non-UTC workspace. The bytes below are what `credits export` wrote before its
# rewrite for speed; any change to them changes the contract.

PIN_NOW = "2026-11-10T00:00:00Z"
PIN_NOTE = 'naïve café ✓ 𝄞 \u2028 \u0085 back\\slash "q"'


def build_pinned(cli):
    n = PIN_NOW
    steps = [
        (
            ["init", "--plan", "builder", "--start", "2026-10-05T10:00:00Z", "--timezone", "America/New_York"],
            "2026-10-05T10:00:00Z",
        ),
        (
            [
                "log",
                "invokeLLM",
                "--model",
                "gpt-5",
                "--app",
                "crm",
                "--member",
                "ana",
                "--note",
                "=SUM(A1:A9)",
                "--key",
                "@k1",
                "--at",
                "2026-11-01T09:00:00.123456Z",
            ],
            n,
        ),
        (
            [
                "log",
                "SendEmail",
                "--custom-domain",
                "--count",
                "3",
                "--app",
                'shop, "eu"',
                "--member",
                "-bob",
                "--note",
                PIN_NOTE,
            ],
            n,
        ),
        (["log", "GenerateSpeech", "--chars", "120", "--at", "2026-10-20T00:00:00Z"], n),
        (["log", "GenerateVideo", "--seconds", "3", "--app", "promo", "--key", "plain,comma"], n),
        (["log", "message", "--scope", "discuss", "--note", "'already quoted", "--member", "+1"], n),
        (["log", "message", "--credits", "1.3", "--member", "cy", "--app", "tab\u00a0app"], n),
        (["log", "message", "--credits", "0.001", "--note", "multi  space  "], n),
        (["log", "SendEmail", "--at", "2026-11-09T23:59:59.999999Z"], n),
        (["void", "3", "--reason", "logged by mistake"], n),
        (["grant", "--pool", "integration", "--credits", "1000000", "--reason", "big"], n),
        (["log", "invokeLLM", "--credits", "999999.999", "--app", "big"], n),
    ]
    for args, now in steps:
        r = cli(*args, now=now)
        assert r.exit_code == 0, (args, r.stdout, r.stderr)
    return cli


PINNED_CSV = (
    "id,at,pool,action,model,scope,quantity,seconds,chars,custom_domain,credits,app,member,key,note,corrects",
    "3,2026-10-20T00:00:00Z,integration,GenerateSpeech,,,1,,120,false,3,,,,,",
    "9,2026-10-20T00:00:00Z,integration,GenerateSpeech,,,1,,120,false,-3,,,,logged by mistake,3",
    "1,2026-11-01T09:00:00.123456Z,integration,invokeLLM,gpt-5,,1,,,false,15,crm,ana,'@k1,'=SUM(A1:A9),",
    "8,2026-11-09T23:59:59.999999Z,integration,SendEmail,,,1,,,false,1,,,,,",
    (
        '2,2026-11-10T00:00:00Z,integration,SendEmail,,,3,,,true,6,"shop, ""eu""",'
        '\'-bob,,"naïve café ✓ 𝄞 \u2028 \x85 back\\slash ""q""",'
    ),
    '4,2026-11-10T00:00:00Z,integration,GenerateVideo,,,1,3,,false,15,promo,,"plain,comma",,',
    "5,2026-11-10T00:00:00Z,message,message,,discuss,1,,,false,0.3,,'+1,,''already quoted,",
    "6,2026-11-10T00:00:00Z,message,message,,,1,,,false,1.3,tab\xa0app,cy,,,",
    "7,2026-11-10T00:00:00Z,message,message,,,1,,,false,0.001,,,,multi  space  ,",
    "10,2026-11-10T00:00:00Z,integration,invokeLLM,automatic,,1,,,false,999999.999,big,,,,",
)
PINNED_JSON = (
    (
        '{"id": 3, "at": "2026-10-20T00:00:00Z", "pool": "integration"'
        ', "action": "GenerateSpeech", "model": null, "scope": null'
        ', "quantity": 1, "seconds": null, "chars": 120, "custom_domain": false, "credits": 3'
        ', "app": null, "member": null, "key": null'
        ', "note": null, "corrects": null}'
    ),
    (
        '{"id": 9, "at": "2026-10-20T00:00:00Z", "pool": "integration"'
        ', "action": "GenerateSpeech", "model": null, "scope": null'
        ', "quantity": 1, "seconds": null, "chars": 120, "custom_domain": false, "credits": -3'
        ', "app": null, "member": null, "key": null'
        ', "note": "logged by mistake", "corrects": 3}'
    ),
    (
        '{"id": 1, "at": "2026-11-01T09:00:00.123456Z", "pool": "integration"'
        ', "action": "invokeLLM", "model": "gpt-5", "scope": null'
        ', "quantity": 1, "seconds": null, "chars": null, "custom_domain": false, "credits": 15'
        ', "app": "crm", "member": "ana", "key": "@k1"'
        ', "note": "=SUM(A1:A9)", "corrects": null}'
    ),
    (
        '{"id": 8, "at": "2026-11-09T23:59:59.999999Z", "pool": "integration"'
        ', "action": "SendEmail", "model": null, "scope": null'
        ', "quantity": 1, "seconds": null, "chars": null, "custom_domain": false, "credits": 1'
        ', "app": null, "member": null, "key": null'
        ', "note": null, "corrects": null}'
    ),
    (
        '{"id": 2, "at": "2026-11-10T00:00:00Z", "pool": "integration"'
        ', "action": "SendEmail", "model": null, "scope": null'
        ', "quantity": 3, "seconds": null, "chars": null, "custom_domain": true, "credits": 6'
        ', "app": "shop, \\"eu\\"", "member": "-bob", "key": null'
        ', "note": "naïve café ✓ 𝄞 \u2028 \x85 back\\\\slash \\"q\\"", "corrects": null}'
    ),
    (
        '{"id": 4, "at": "2026-11-10T00:00:00Z", "pool": "integration"'
        ', "action": "GenerateVideo", "model": null, "scope": null'
        ', "quantity": 1, "seconds": 3, "chars": null, "custom_domain": false, "credits": 15'
        ', "app": "promo", "member": null, "key": "plain,comma"'
        ', "note": null, "corrects": null}'
    ),
    (
        '{"id": 5, "at": "2026-11-10T00:00:00Z", "pool": "message"'
        ', "action": "message", "model": null, "scope": "discuss"'
        ', "quantity": 1, "seconds": null, "chars": null, "custom_domain": false, "credits": 0.3'
        ', "app": null, "member": "+1", "key": null'
        ', "note": "\'already quoted", "corrects": null}'
    ),
    (
        '{"id": 6, "at": "2026-11-10T00:00:00Z", "pool": "message"'
        ', "action": "message", "model": null, "scope": null'
        ', "quantity": 1, "seconds": null, "chars": null, "custom_domain": false, "credits": 1.3'
        ', "app": "tab\xa0app", "member": "cy", "key": null'
        ', "note": null, "corrects": null}'
    ),
    (
        '{"id": 7, "at": "2026-11-10T00:00:00Z", "pool": "message"'
        ', "action": "message", "model": null, "scope": null'
        ', "quantity": 1, "seconds": null, "chars": null, "custom_domain": false, "credits": 0.001'
        ', "app": null, "member": null, "key": null'
        ', "note": "multi  space  ", "corrects": null}'
    ),
    (
        '{"id": 10, "at": "2026-11-10T00:00:00Z", "pool": "integration"'
        ', "action": "invokeLLM", "model": "automatic", "scope": null'
        ', "quantity": 1, "seconds": null, "chars": null, "custom_domain": false, "credits": 999999.999'
        ', "app": "big", "member": null, "key": null'
        ', "note": null, "corrects": null}'
    ),
)
PINNED = {
    "csv": "".join(line + "\r\n" for line in PINNED_CSV),
    "jsonl": "".join(line + "\n" for line in PINNED_JSON),
    "json": "[\n  " + ",\n  ".join(PINNED_JSON) + "\n]\n",
}


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
def test_export_writes_exactly_the_pinned_bytes_to_stdout_and_to_a_file(cli, tmp_path, fmt):
    build_pinned(cli)
    r = cli("export", "--format", fmt, now=PIN_NOW)
    assert r.exit_code == 0, r.stderr
    assert r.stdout_bytes == PINNED[fmt].encode()
    path = tmp_path / f"pinned.{fmt}"
    r = cli("export", "--format", fmt, "--output", str(path), now=PIN_NOW)
    assert r.exit_code == 0 and r.stderr == f"credits: wrote 10 events to {path}\n"
    assert path.read_bytes() == PINNED[fmt].encode()
    assert not path.with_name(path.name + ".part").exists()


@pytest.mark.parametrize("fmt,empty", [("csv", PINNED_CSV[0] + "\r\n"), ("jsonl", ""), ("json", "[]\n")])
def test_export_filters_pick_the_pinned_rows_and_an_empty_export_is_well_formed(cli, fmt, empty):
    build_pinned(cli)
    r = cli(
        "export", "--format", fmt, "--pool", "message", "--since", "2026-11-09", "--until", "2026-11-10", now=PIN_NOW
    )
    assert r.exit_code == 0, r.stderr
    ids = ["5", "6", "7"]  # the message events of Nov 10 UTC, Nov 9 (evening) in New York
    if fmt == "csv":
        rows = [line for line in PINNED_CSV[1:] if line.split(",")[0] in ids]
        assert r.stdout_bytes.decode().splitlines()[1:] == rows
    else:
        rows = [json.loads(x) for x in r.stdout.splitlines()] if fmt == "jsonl" else json.loads(r.stdout)
        assert [str(row["id"]) for row in rows] == ids
    r = cli("export", "--format", fmt, "--app", "no such app", now=PIN_NOW)
    assert r.exit_code == 0 and r.stdout_bytes == empty.encode()


def test_export_without_sqlites_json_functions_writes_the_same_bytes(cli, monkeypatch):
    from credits_cli.store import pg, queries

    build_pinned(cli)
    for store in (queries.Reports, pg.PgLedger):  # each event's fields read one by one, on either engine
        monkeypatch.setattr(store, "_has_json", lambda store: False)
    for fmt in ("csv", "jsonl", "json"):
        r = cli("export", "--format", fmt, now=PIN_NOW)
        assert r.exit_code == 0 and r.stdout_bytes == PINNED[fmt].encode(), r.stderr


def test_the_export_reads_an_events_fields_packed_in_one_text_on_either_engine(cli, monkeypatch):
    """Both engines pack the fields from pool to member into one JSON text (the export remembers its cells
    by it), and write the bytes of the fields read one by one, whatever their text holds."""
    from credits_cli.services import Session
    from credits_cli.store import pg, queries

    cli("init", "--plan", "builder", "--start", "2026-10-05T10:00:00Z", now="2026-10-05T10:00:00Z")
    app, member = 'back\\slash "q" \U0001d11e \u2028 caf\u00e9,', "m\u0085x"
    cli("log", "SendEmail", "--app", app, "--member", member, now="2026-10-06T10:00:00Z")
    cli("log", "invokeLLM", "--model", "gpt-5", "--credits", "0.001", now="2026-10-06T11:00:00Z")
    session = Session(db=str(cli.db), now=NOW)
    try:
        store = session.store
        rows = [r for batch in store.export_batches(session.workspace().id, queries.EventFilter()) for r in batch]
    finally:
        session.close()
    assert all(isinstance(r[2], str) for r in rows)
    assert [queries.shape_fields(r[2]) for r in rows] == [
        ("integration", "SendEmail", None, None, 1, None, None, 0, 1000, app, member),
        ("integration", "invokeLLM", "gpt-5", None, 1, None, None, 0, 1, None, None),
    ]
    packed = {fmt: cli("export", "--format", fmt, now=NOW).stdout_bytes for fmt in ("csv", "jsonl")}
    for store_class in (queries.Reports, pg.PgLedger):
        monkeypatch.setattr(store_class, "_has_json", lambda store: False)
    assert {fmt: cli("export", "--format", fmt, now=NOW).stdout_bytes for fmt in ("csv", "jsonl")} == packed
    first = json.loads(packed["jsonl"].decode().split("\n")[0])
    assert (first["app"], first["member"]) == (app, member)


def refused_outputs(cli, tmp_path, targets):
    """An export to each of `targets` is refused naming --output, writes nothing and changes nothing."""
    for target in targets:
        before = cli.dump()
        line = one_line_error(cli("export", "--output", str(target), now=PIN_NOW), field="--output")
        assert str(target) in line
        assert cli.dump() == before
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.sqlite_file
def test_export_refuses_to_overwrite_the_ledgers_file_or_its_wal(cli, tmp_path):
    build_pinned(cli)
    refused_outputs(cli, tmp_path, (cli.db, str(cli.db) + "-wal"))


def test_export_refuses_to_write_into_a_directory_and_replaces_a_file_whole(cli, tmp_path):
    build_pinned(cli)
    refused_outputs(cli, tmp_path, (tmp_path, tmp_path / "no-such-dir" / "e.csv"))
    # an existing file is replaced whole
    path = tmp_path / "old.csv"
    path.write_text("old content that is longer than nothing\n" * 1000)
    assert cli("export", "--output", str(path), now=PIN_NOW).exit_code == 0
    assert path.read_bytes() == PINNED["csv"].encode()


# --- the fast writer against the generic one, on any values ------------------------------------------


_text = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
    st.sampled_from(
        [
            "=1+1",
            "-x",
            "+",
            "@a",
            "'q",
            "\t",
            "\r\n",
            "a,b",
            'say "hi"',
            "\u2028",
            "é",
            "0042",
            "1/2",
            " TRUE",
            "50%",
            "(12)",
            ".5",
        ]
    ),
)
_int = st.one_of(st.none(), st.integers(min_value=0, max_value=2**40))
_row = st.fixed_dictionaries(
    {
        "id": st.integers(min_value=1, max_value=2**40),
        "at": st.sampled_from(["2026-01-31T09:30:00Z", "2026-01-31T09:30:00.000001Z"]),
        "pool": _text,
        "action": _text,
        "model": _text,
        "scope": _text,
        "quantity": _int,
        "seconds": _int,
        "chars": _int,
        "custom_domain": st.sampled_from([0, 1, None]),
        "credits": st.integers(min_value=-(10**12), max_value=10**12),
        "app": _text,
        "member": _text,
        "key": _text,
        "note": _text,
        "corrects": _int,
    }
)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(_row, max_size=6), fmt=st.sampled_from(["csv", "jsonl", "json"]), packed=st.booleans())
def test_write_events_writes_what_the_generic_writer_writes(rows, fmt, packed):
    """write_events against render.output.write (csv.writer, the exact JSON encoder), on any values."""
    from datetime import datetime

    from credits_cli.domain.events import EXPORT_FIELDS
    from credits_cli.render.jsonout import Credits
    from credits_cli.render.output import write, write_events
    from credits_cli.store.queries import shape_fields

    middle = EXPORT_FIELDS[2:13]
    generic = [
        {f: r[f] for f in EXPORT_FIELDS}
        | {
            "at": datetime.fromisoformat(r["at"]),
            "credits": Credits(r["credits"]),
            "custom_domain": bool(r["custom_domain"]),
        }
        for r in rows
    ]
    expected = io.StringIO(newline="")
    write(generic, fmt, expected, list(EXPORT_FIELDS))
    fast = [
        (
            r["id"],
            r["at"],
            json.dumps([r[f] for f in middle]) if packed else tuple(r[f] for f in middle),
            r["key"],
            r["note"],
            r["corrects"],
        )
        for r in rows
    ]
    got = io.StringIO(newline="")
    n = write_events([fast[:3], fast[3:]], fmt, got, shape_fields)
    assert n == len(rows)
    assert got.getvalue() == expected.getvalue()


def test_an_import_stages_each_row_as_it_reads_it(cli):
    """Staging holds no batch of the file's rows: its peak is the same for 20,000 rows as for 2,000 (a batch
    of 10,000 held 4 MB of them, and a server's executemany of it as much again in the driver)."""
    import tracemalloc

    from credits_cli.services import Session
    from credits_cli.store.staging import ROW

    def rows(n):
        for i in range(n):
            values = dict.fromkeys(ROW)
            values.update(
                at=f"2026-03-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
                pool="message",
                action="message",
                quantity=1,
                custom_domain=0,
                credits_milli=1000,
                app=f"app {i}",
                fingerprint=f"{i:064x}",
                src_id=i,
                corrects=None,
            )
            yield i + 2, values

    session = Session(db=str(cli.db), now=NOW)
    store = session.store
    peaks = []
    try:
        for n in (2_000, 20_000):
            store.stage_begin()
            tracemalloc.start()
            try:
                store.stage_rows(rows(n))
                peaks.append(tracemalloc.get_traced_memory()[1])
            finally:
                tracemalloc.stop()
            assert store.staged_count() == n
            assert store.staged_event(n - 1)["app"] == f"app {n - 1}"
    finally:
        store.stage_end()
        session.close()
    assert peaks[1] - peaks[0] < 300_000, peaks


def test_import_refuses_what_the_plan_at_the_rows_instant_does_not_allow_as_log_does(cli, tmp_path):
    """Automations and custom-domain email need a plan feature: `log` refuses them on the free plan, and so
    does an import of the same uses (named by line and field, nothing imported)."""
    now = "2026-11-21T12:00:00Z"
    assert cli("init", "--plan", "free", "--start", "2026-11-01T00:00:00Z", now=now).exit_code == 0
    path = tmp_path / "feat.csv"
    path.write_text(
        "at,pool,action,quantity,credits,custom_domain\n"
        "2026-11-20T10:00:00Z,integration,automation,1,1,false\n"
        "2026-11-20T10:00:00Z,integration,SendEmail,1,2,true\n"
        "2026-11-20T10:00:00Z,integration,SendEmail,1,1,false\n"
    )
    before = cli.dump()
    r = cli("import", str(path), now=now)
    assert r.exit_code == 2, r.stderr
    assert "line 2: action: automation needs a plan with 'automations'" in r.stderr
    assert "line 3: custom_domain: needs a plan with" in r.stderr and "line 4" not in r.stderr
    assert cli.dump() == before
    for args in (["log", "automation"], ["log", "SendEmail", "--custom-domain"]):
        assert cli(*args, now=now).exit_code == 2


# --- what a spreadsheet writes back ---------------------------------------------------------------


def _as_a_spreadsheet_saves_it(text: str) -> bytes:
    """The export's CSV as spreadsheets re-save it: a BOM, booleans in capitals, numbers re-formatted
    (trailing zeros, scientific notation, spaces), every cell quoted, rows of empty cells at the end."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = rows[0]
    out = io.StringIO(newline="")
    w = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    w.writerow(header)
    for i, row in enumerate(rows[1:]):
        cells = dict(zip(header, row, strict=True))
        cells["custom_domain"] = cells["custom_domain"].title() if i % 2 else cells["custom_domain"].upper()
        cells["credits"] = [
            f" {cells['credits']} ",
            cells["credits"] + ("0" if "." in cells["credits"] else ".000"),
            f"{cells['credits']}E+00" if "." not in cells["credits"] else cells["credits"],
        ][i % 3]
        cells["quantity"] = [cells["quantity"] + ".0", f"{cells['quantity']}.00E+00", cells["quantity"]][i % 3]
        w.writerow([cells[c] for c in header])
    return b"\xef\xbb\xbf" + out.getvalue().encode() + b",,,,,,,,\r\n\r\n  \r\n"


def test_import_takes_back_what_a_spreadsheet_writes(source, tmp_path, new_db):
    path = tmp_path / "saved.csv"
    path.write_bytes(_as_a_spreadsheet_saves_it(source("export", now=NOW).stdout))
    data = path.read_bytes()
    assert all(x in data for x in (b'"TRUE"', b'"False"', b'.000"', b'E+00"', b'.0"', b'" '))
    copy = fresh(new_db)
    r = copy("import", str(path), now=NOW)
    assert r.exit_code == 0, r.stderr
    assert reports(copy) == reports(source)


@pytest.mark.parametrize(
    "field,value",
    [
        ("custom_domain", "yes"),
        ("custom_domain", "TRUE!"),
        ("credits", "1,3"),
        ("credits", "1 300"),
        ("credits", "1.3e-5"),
        ("credits", "12%"),
        ("credits", "1e999"),
        ("quantity", "2.5"),
        ("quantity", "2E-1"),
        ("quantity", "0x10"),
        ("credits", "nan"),
        ("seconds", "3.0.0"),
    ],
)
def test_import_still_refuses_garbage_by_line_and_field(source, tmp_path, field, value, new_db):
    rows = list(csv.DictReader(io.StringIO(source("export", now=NOW).stdout, newline="")))
    rows[2][field] = value
    copy, before, r = import_rows(tmp_path, new_db, rows)
    assert r.exit_code == 2, (r.stdout, r.stderr)
    assert f"bad.csv line 4: {field}:" in r.stderr and "Traceback" not in r.stderr
    assert copy.dump() == before


def test_text_a_spreadsheet_would_read_as_a_value_is_quoted_and_comes_back_exactly(cli, tmp_path, new_db):
    texts = ["0042", "1/2", "TRUE", "false", "50%", "(12)", ".5", "$5", "1.300", "12:30", "2026-01-31", "1E3"]
    assert cli("init", "--plan", "builder", "--start", "2026-11-01T00:00:00Z", now=NOW).exit_code == 0
    for text in texts:
        assert cli("log", "UploadFile", "--note", text, "--key", text, "--app", text, now=NOW).exit_code == 0
    out = cli("export", now=NOW).stdout
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    assert [r["note"] for r in rows] == ["'" + t for t in texts]
    assert all(r["key"] == r["app"] == r["note"] for r in rows)
    assert rows[0]["at"] == "2026-11-10T00:00:00Z" and rows[0]["credits"] == "1"  # values are not quoted
    assert cli("daily", "--csv", "--since", "2026-11-10", now=NOW).stdout.splitlines()[1].startswith("2026-11-10,")
    path = tmp_path / "e.csv"
    path.write_text(out)
    copy = Cli(new_db("copy"))
    assert copy("init", "--plan", "builder", "--start", "2026-11-01T00:00:00Z", now=NOW).exit_code == 0
    assert copy("import", str(path), now=NOW).exit_code == 0
    assert [e["note"] for e in copy.json("events", "--limit", "0", now=NOW)][::-1] == texts


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
def test_import_dash_reads_stdin(source, tmp_path, fmt, new_db):
    out = source("export", "--format", fmt, now=NOW).stdout
    copy = fresh(new_db)
    r = copy("import", "-", now=NOW, input=out.encode())
    assert r.exit_code == 0, r.stderr
    assert "read: added" in r.stdout
    assert reports(copy) == reports(source)
    r = copy("import", "-", "--json", now=NOW, input=out.encode())
    assert json.loads(r.stdout)["added"] == 0


def test_import_and_topup_quiet_print_nothing_and_errors_still_show(source, tmp_path, new_db):
    out = source("export", now=NOW).stdout
    copy = fresh(new_db)
    r = copy("import", "-", "-q", now=NOW, input=out)
    assert (r.exit_code, r.stdout, r.stderr) == (0, "", "")
    assert reports(copy) == reports(source)
    r = copy("import", "-", "--quiet", now=NOW, input=out.replace("SendEmail", "Teleport"))
    assert r.exit_code == 2 and r.stdout == "" and "Teleport" in r.stderr
    r = copy("topup", "--pool", "message", "--packs", "1", "-q", now=NOW)
    assert (r.exit_code, r.stdout, r.stderr) == (0, "", "")
    assert copy.json("grants", now=NOW)[-1]["source"] == "topup"
    r = copy("topup", "--pool", "message", "--packs", "9", "--quiet", now=NOW)
    one_line_error(r, field="--packs")
    one_line_error(copy("import", "-", "-q", "--json", now=NOW, input=out), field="--quiet")
    one_line_error(copy("topup", "--pool", "message", "--packs", "1", "-q", "--json", now=NOW), field="--quiet")


def test_export_bom_starts_a_csv_with_a_byte_order_mark_that_import_takes(source, tmp_path, new_db):
    path = tmp_path / "bom.csv"
    assert source("export", "--bom", "-o", str(path), now=NOW).exit_code == 0
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfid,at,") and data[3:] == source("export", now=NOW).stdout_bytes
    copy = fresh(new_db)
    assert copy("import", str(path), now=NOW).exit_code == 0
    assert reports(copy) == reports(source)
    for fmt in ("json", "jsonl", "journal", "xlsx"):
        one_line_error(source("export", "--format", fmt, "--bom", "-o", str(tmp_path / "x"), now=NOW), field="--bom")
    assert not (tmp_path / "x").exists()
