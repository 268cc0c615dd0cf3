"""The configuration file, and where each setting in force comes from.

A setting is taken from the first of: its option on the command line, its environment variable, the
configuration file, the default. The file is TOML: `config.toml` in the user configuration directory
(platformdirs': `~/.config/credits/` on Linux) or the file the variable CREDITS_CONFIG names:

    db = "~/ledgers/credits.db"    # or a postgresql:// URL
    workspace = "team"
    catalog = "my-prices.toml"     # a relative path is taken from the file's directory
    timezone = "Europe/Paris"      # the zone reports use by default (else each workspace's own)

`credits log` reads it on its lean path, so this module imports nothing heavy: finding the file is a few
string operations and one `open`, and a file of plain `key = "text"` lines is read without tomllib.
"""

from __future__ import annotations

import os
import re
import sys

from .errors import BadInput
from .records import record

ENV = "CREDITS_CONFIG"
KEYS = ("db", "workspace", "catalog", "timezone")
_PATHS = ("db", "catalog")  # file names: a relative one is the configuration file's directory's


@record
class Setting:
    """One setting in force: its value (None: the default, see `in_force`) and where it came from."""

    value: str | None
    from_: str  # "option", "env", "file" or "default"


@record
class ConfigFile:
    """The configuration file: where it is, who named it ("env": CREDITS_CONFIG, or "default"), and whether it
    exists."""

    value: str
    from_: str
    exists: bool


@record
class Settings:
    """The settings in force (`credits config`; JSON: each {"value", "from"}, and "file")."""

    db: Setting
    workspace: Setting
    catalog: Setting
    timezone: Setting
    file: ConfigFile

    def session(self) -> dict[str, str | None]:
        """The global options' values as a `Session` takes them (None: the default)."""
        return {"db": self.db.value, "workspace": self.workspace.value, "catalog": self.catalog.value}


def user_config_dir() -> str:
    """The user configuration directory of credits: platformdirs' `user_config_dir("credits")`.

    On Linux it is worked out here as platformdirs does for the usual environment (an absolute
    XDG_CONFIG_HOME, else HOME/.config): importing platformdirs would cost every `credits log` about
    8 ms. Anything else asks platformdirs; a test checks that both agree.
    """
    if sys.platform == "linux":
        xdg, home = os.environ.get("XDG_CONFIG_HOME", ""), os.environ.get("HOME", "")
        if os.path.isabs(xdg):
            return os.path.join(xdg, "credits")
        if not xdg.strip() and os.path.isabs(home):
            return os.path.join(home, ".config", "credits")
    from platformdirs import user_config_dir

    return user_config_dir("credits", appauthor=False)


def locate() -> tuple[str, str]:
    """The configuration file's path, and who named it: "env" (CREDITS_CONFIG) or "default"."""
    named = os.environ.get(ENV)
    if named is None:
        return os.path.join(user_config_dir(), "config.toml"), "default"
    if not named.strip():
        raise BadInput(ENV, "is set but empty (unset it for the default)")
    return os.path.expanduser(named), "env"


def read() -> tuple[ConfigFile, dict[str, str]]:
    """The configuration file and its settings by key, checked: bad input (exit 2) names the file, the key and
    what is wrong. A file at the default place that does not exist is no file; one CREDITS_CONFIG names must
    exist."""
    path, named = locate()
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        if named == "env":
            raise BadInput(ENV, f"no such file {path!r}") from None
        return ConfigFile(path, named, False), {}
    except OSError as e:
        raise BadInput(path, f"cannot read it: {e.strerror}") from None
    return ConfigFile(path, named, True), _checked(path, _parse(path, raw))


def _parse(path: str, raw: bytes) -> dict:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(path, "is not UTF-8 text") from None
    plain = _plain(text)
    if plain is not None:
        return plain
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise BadInput(path, f"is not TOML: {e}") from None


# A line of the plainest TOML, all a configuration file of credits needs: `key = "text"` (or 'text'), a
# comment, or nothing. A file of such lines is read here; any other (and any line whose reading could differ
# from TOML's: an escape, a control character, a CR, a key given twice) by tomllib, which costs every
# `credits log` about 6 ms to import. A property test checks that both read every file alike.
# (A pattern, compiled by `re` when a file is first read: without a file, `credits log` does not pay for it.)
_CONTROL = r"\x00-\x08\x0a-\x1f\x7f"  # TOML's control characters: all but tab
_LINE = (
    r"[ \t]*(?:([A-Za-z0-9_-]+)[ \t]*=[ \t]*"  # a bare key =
    rf"""(?:"([^"\\{_CONTROL}]*)"|'([^'{_CONTROL}]*)')[ \t]*)?"""  # "text" without escapes, or 'text'
    rf"(?:#[^{_CONTROL}]*)?"  # a comment
)


def _plain(text: str) -> dict[str, str] | None:
    """The settings of a file of plain lines (see _LINE), or None: let tomllib read it."""
    if "\r" in text:
        return None
    found: dict[str, str] = {}
    for line in text.split("\n"):
        m = re.fullmatch(_LINE, line)
        if m is None or (m[1] is not None and m[1] in found):
            return None
        if m[1] is not None:
            found[m[1]] = m[2] if m[2] is not None else m[3]
    return found


def _checked(path: str, data: dict) -> dict[str, str]:
    """The file's settings by key: each known, text, and valid for its key."""
    for key in data:
        if key not in KEYS:
            raise BadInput(path, f"{key!r} is not a setting (the keys are {', '.join(KEYS)})")
    values = {}
    for key, value in data.items():
        if not isinstance(value, str):
            raise BadInput(f"{path}: {key}", f"must be text in quotes, not {_kind(value)}")
        try:
            values[key] = _valid(key, value, path)
        except BadInput as e:
            raise e.renamed(f"{path}: {key}") from None
    return values


def _valid(key: str, value: str, path: str) -> str:
    """The value as the session takes it: a path from the file's directory, a workspace's name, a zone's."""
    if not value.strip():
        raise BadInput(key, "is empty")
    if key in _PATHS:
        from .store.db import is_url

        if key == "db" and is_url(value):
            return value
        return os.path.join(os.path.dirname(path), os.path.expanduser(value))
    if key == "workspace":
        from .services import check_workspace_name

        return check_workspace_name(value)
    from .domain.cycles import parse_zone

    return str(parse_zone(value))  # its name as the zone database spells it


def _kind(value) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (true or false)"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return "a date or time"


def settle(given: dict[str, str | None], command_line: set[str] | frozenset[str]) -> Settings:
    """The settings in force. `given`: the global options' values from the command line or their variables
    (None: neither); `command_line`: the names of those given on the command line."""
    file, in_file = read()

    def one(key: str) -> Setting:
        if given.get(key) is not None:
            return Setting(given[key], "option" if key in command_line else "env")
        if key in in_file:
            return Setting(in_file[key], "file")
        return Setting(None, "default")

    return Settings(one("db"), one("workspace"), one("catalog"), one("timezone"), file)


def in_force(settings: Settings) -> Settings:
    """The settings as `credits config` shows them: a default ledger's path (a workspace's name) as the default
    makes it, and a server's URL without its password. The built-in catalog and each workspace's own zone
    stay None."""
    from .records import replace
    from .store.db import default_path, is_url

    db = settings.db
    if db.value is None:
        db = Setting(default_path(), db.from_)
    elif is_url(db.value):
        from .store.pg import redact

        db = Setting(redact(db.value), db.from_)
    workspace = settings.workspace
    if workspace.value is None:
        from .services import DEFAULT_WORKSPACE

        workspace = Setting(DEFAULT_WORKSPACE, workspace.from_)
    return replace(settings, db=db, workspace=workspace)
