"""Errors as plain exception classes that know nothing of the CLI.

Each carries the exit code the CLI maps it to (documented in the README):
0 done, 1 anything unexpected, 2 bad input or usage, 3 refused because credits
(or a cap) are not enough, or by a rule of the platform (a plan's app limit ...),
4 not allowed: the connected role may not do this on a team's ledger (PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (`credits log`'s start-up)
if TYPE_CHECKING:
    from .domain.money import Credits

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2
EXIT_REFUSED = 3
EXIT_NOT_ALLOWED = 4


class CreditsError(Exception):
    """Base class: a message for the user and an exit code."""

    exit_code = EXIT_UNEXPECTED
    code = "error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
        self.details: list[str] = []  # lines printed before the message (e.g. every bad row of a file)


class BadInput(CreditsError):
    """The caller gave something invalid; nothing was changed.

    `field` is the domain's word for what was wrong ("model", "count", "at"); the
    CLI names it as the user gave it (`name_fields`). A message that names other
    fields too is a function of the naming: `lambda name: f"give {name('seconds')} N"`.
    """

    exit_code = EXIT_BAD_INPUT
    code = "bad_input"

    def __init__(self, field: str, message: str | Callable[[Callable[[str], str]], str]):
        self._field, self._reason = field, message
        super().__init__("")
        self.name_fields(str)

    def name_fields(self, name: Callable[[str], str]) -> None:
        """Name the field, and any field the message mentions, with `name(domain word)`."""
        self.field = name(self._field) if self._field else self._field
        reason = self._reason(name) if callable(self._reason) else self._reason
        self.message = f"{self.field}: {reason}" if self.field else reason
        self.args = (self.message,)

    def renamed(self, field: str) -> BadInput:
        """The same error about another field (a ledger opened for `copy`'s DEST is refused as --db's would be)."""
        return type(self)(field, self._reason)


class KeyConflict(BadInput):
    """An idempotency key was reused with another payload."""

    code = "key_conflict"


class Refused(CreditsError):
    """Not enough credits (or a cap reached), or a plan's limit: nothing was recorded."""

    exit_code = EXIT_REFUSED
    code = "refused"

    def __init__(self, message: str, *, pool: str, short: Credits | None, resets_at=None, limit: str = "pool"):
        super().__init__(message)
        self.pool = pool
        self.short = short  # credits missing (None: not a matter of credits)
        self.resets_at = resets_at
        self.limit = limit  # what was not enough: "pool" (its credits), "daily_cap", "budget" or "apps" (max_apps)


class NotAllowed(CreditsError):
    """The role connected to a team's ledger may not do this (a member running an admin's command, or a role
    that is not in the team): nothing was changed."""

    exit_code = EXIT_NOT_ALLOWED
    code = "not_allowed"

    def __init__(self, message: str, *, role: str | None = None):
        super().__init__(f"not allowed: {message}")
        self.role = role
