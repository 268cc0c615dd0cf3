"""sample_data/: importable, and as rich as its README says."""

import subprocess
import sys
from pathlib import Path

SAMPLE = Path(__file__).parent.parent / "sample_data"
NOW = "2026-11-20T18:00:00Z"


def test_sample_is_what_the_generator_makes():
    made = subprocess.run([sys.executable, str(SAMPLE / "generate.py")], capture_output=True, check=True).stdout
    assert made == (SAMPLE / "events.csv").read_bytes()


def test_sample_imports_and_covers_every_action_model_member_and_app(cli):
    assert (
        cli("init", "--plan", "builder", "--start", "2026-09-14T09:00:00Z", now="2026-09-14T09:00:00Z").exit_code == 0
    )
    out = cli.json("import", str(SAMPLE / "events.csv"), now=NOW)
    assert out["added"] == out["rows"] > 1000
    actions = cli.json("actions", "--since", "2026-09-14", now=NOW) + cli.json(
        "actions", "--pool", "message", "--since", "2026-09-14", now=NOW
    )
    assert {a["action"] for a in actions} == {a["action"] for a in cli.json("prices")}
    models = {(a["action"], a["model"]) for a in actions if a["model"]}
    assert models == {(x, m) for x in ("invokeLLM", "agent") for m in ("automatic", "gemini-3-flash", "gpt-5")}
    assert {m["member"] for m in cli.json("members", "--since", "2026-09-14", now=NOW)} == {
        "ana",
        "bob",
        "cy",
        None,
    }  # automations run on their own
    assert {a["app"] for a in cli.json("apps", "--since", "2026-09-14", now=NOW)} == {
        "crm",
        "newsletter",
        "support-bot",
        "landing",
    }
    days = cli.json("daily", "--since", "2026-09-14", now=NOW)
    assert days[0]["date"] == "2026-09-14" and days[-1]["date"] == "2026-11-20" and len(days) > 62  # > 2 cycles
