"""The first use of the `default` workspace: one rule for every command (docs/guide.md, `credits init`).

The workspace is created inside the command's own transaction, kept only when the command
succeeds, and announced once on stderr, whichever command it is."""

import pytest

NOW = "2026-05-04T10:00:00Z"
NOTICE = "created workspace 'default' on the free plan, cycles anchored at 2026-05-04T10:00:00Z"


@pytest.mark.parametrize(
    "args",
    [
        ["balance"],
        ["balance", "--json"],
        ["status"],
        ["apps"],
        ["members", "--json"],
        ["actions", "--csv"],
        ["daily"],
        ["daily", "--csv"],
        ["events"],
        ["events", "--limit", "0", "--csv"],
        ["forecast"],
        ["grants"],
        ["notifications"],
        ["budget", "list"],
        ["alert", "list"],
        ["advise"],
        ["log", "SendEmail"],
        ["grant", "--pool", "message", "--credits", "5", "--reason", "welcome"],
    ],
)
def test_every_command_creates_default_the_same_way_and_says_so_once(cli, args):
    r = cli(*args, now=NOW)
    assert r.exit_code == 0, (r.stdout, r.stderr)
    assert r.stderr.count("created workspace") == 1 and NOTICE in r.stderr, r.stderr
    assert cli.workspaces() == ["default"]
    again = cli(*args, now=NOW)
    assert "created workspace" not in again.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["apps", "--since", "yesterday-ish"],
        ["daily", "--pool", "bananas"],
        ["events", "--limit", "-3"],
        ["log", "SendEmail", "--dry-run"],
        ["log", "GenerateVideo", "--seconds", "999"],
        ["show", "7"],
        ["topup", "--pool", "message", "--packs", "1"],
    ],
)
def test_a_command_that_fails_or_only_quotes_leaves_no_workspace(cli, args):
    r = cli(*args, now=NOW)
    assert "created workspace" not in r.stderr
    assert cli.workspaces() == []


def test_quiet_keeps_the_notice_off_stderr_but_the_workspace_is_made(cli):
    r = cli("log", "SendEmail", "-q", now=NOW)
    assert r.exit_code == 0 and r.stderr == "" and r.stdout == ""
    assert cli.workspaces() == ["default"]


@pytest.mark.parametrize(
    "args,first_line",
    [
        (["apps", "--csv"], "app,credits,share,events"),
        (["daily", "--csv"], "date,credits,events"),
        (["events", "--csv"], "id,at,pool,action,model,scope,quantity,seconds,chars,custom_domain,credits,"),
        (["members", "--json"], "[]"),
        (["events", "--json"], "[]"),
    ],
)
def test_the_notice_stays_off_the_data_on_stdout(cli, args, first_line):
    r = cli(*args, now=NOW)
    assert r.exit_code == 0 and NOTICE in r.stderr
    assert r.stdout.startswith(first_line) and "created workspace" not in r.stdout
