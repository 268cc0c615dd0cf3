import json
import sqlite3
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from credits_cli.cli.app import app


class Cli:
    """Runs `credits` in-process against a private database, like a user would."""

    def __init__(self, db_path):
        self.db = db_path
        self.runner = CliRunner()

    def __call__(self, *args, now=None, env=None, input=None):
        full_env = {
            "CREDITS_DB": str(self.db),
            "CREDITS_NOW": now,
            "CREDITS_WORKSPACE": None,
            "CREDITS_CATALOG": None,
            "NO_COLOR": "1",
        }
        full_env.update(env or {})
        return self.runner.invoke(app, [str(a) for a in args], env=full_env, input=input)

    def json(self, *args, now=None, env=None):
        r = self(*args, "--json", now=now, env=env)
        assert r.exit_code == 0, (r.exit_code, r.stdout, r.stderr)
        return json.loads(r.stdout, parse_float=Decimal)

    def dump(self, outbox: bool = False) -> str:
        """Every row of the database, to prove a failed command changed nothing.

        The notification outbox is left out unless asked for: a refusal records
        nothing in the ledger but does tell the owner (once a cycle).
        """
        if not self.db.exists():
            return ""
        conn = sqlite3.connect(self.db)
        try:
            return "\n".join(
                line
                for line in conn.iterdump()
                if outbox
                or not (
                    line.startswith('INSERT INTO "notifications"')
                    or line.startswith("INSERT INTO \"seal_heads\" VALUES('notifications'")
                )
            )
        finally:
            conn.close()


@pytest.fixture
def cli(tmp_path):
    return Cli(tmp_path / "credits.db")


def one_line_error(result, *, code=2, field=None):
    """The error contract: exit code, one line on stderr naming what was wrong, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("credits: "), lines
    assert "Traceback" not in result.stderr + result.stdout
    if field:
        assert field in lines[0], lines[0]
    return lines[0]
