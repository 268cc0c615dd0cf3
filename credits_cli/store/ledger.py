"""The store a use case receives: one object holding every statement credits runs.

`Ledger` is assembled from one part a subject; each part is a class in its own
module of this package, all sharing the connection and transaction state of
`base.Store`. A PostgreSQL store would be a second assembly beside this one,
overriding what the engines do differently.
"""

from __future__ import annotations

import os

from . import db
from .audit import Audit
from .foresight import Foresight
from .offers import Offers
from .queries import Reports
from .repo import Entries
from .staging import Staging


class Ledger(Entries, Reports, Foresight, Offers, Staging, Audit):
    """The ledger on SQLite."""

    @classmethod
    def open(cls, path: str | os.PathLike, given: bool = False) -> Ledger:
        """Open (creating if needed) the ledger at `path`, migrated (see db.connect)."""
        return cls(db.connect(path, given=given), os.fspath(path))
