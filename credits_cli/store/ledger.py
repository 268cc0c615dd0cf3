"""The store a use case receives: one object holding every statement credits runs.

`Ledger` is assembled from one part a subject; each part is a class in its own
module of this package, all sharing the connection and transaction state of
`base.Store`. A PostgreSQL store would be a second assembly beside this one,
overriding what the engines do differently.

`credits log` is started by scripts after every AI call and needs two parts
(entries, with the budgets and alerts a log checks, and reports). The others
(budgets and alerts as managed, forecasts' history; coupons and shares; an
import's staging; check's audit; a copy's reads and writes) are imported when one of their methods is
first asked for: the object then becomes the whole assembly, the same state
kept. Importing them up front cost `credits log` several ms of its 80.
A type checker sees the whole assembly from the start.
"""

from __future__ import annotations

import os

from . import db
from .queries import Reports
from .repo import Entries

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (`credits log`'s start-up)
if TYPE_CHECKING:
    from .audit import Audit
    from .copying import Copying
    from .foresight import Foresight
    from .offers import Offers
    from .staging import Staging

    class _Parts(Entries, Reports, Foresight, Offers, Staging, Audit, Copying):
        pass
else:

    class _Parts(Entries, Reports):
        def __getattr__(self, name: str):
            """A method of a part not imported yet: import the rest of the assembly, then look again."""
            if name.startswith("__"):
                raise AttributeError(name)
            whole = _whole(type(self))
            if isinstance(self, whole):
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            self.__class__ = whole
            return getattr(self, name)


class Ledger(_Parts):
    """The ledger on SQLite."""

    @classmethod
    def open(cls, path: str | os.PathLike, given: bool = False) -> Ledger:
        """Open (creating if needed) the ledger at `path`, migrated (see db.connect); a PostgreSQL URL
        opens the ledger on that server (store/pg.py)."""
        if db.is_url(os.fspath(path)):
            from .pg import PgLedger

            return PgLedger.open(path)
        return cls(db.connect(path, given=given), os.fspath(path))

    @classmethod
    def reader(cls, path: str) -> Ledger | None:
        """The ledger at `path` (a file or a URL) opened only to read, as it is: None when there is none there
        (or one of another schema). Nothing is created, migrated or written (shell completion reads names)."""
        if db.is_url(path):
            from .pg import PgLedger

            return PgLedger.reader(path)
        conn = db.connect_reader(os.path.expanduser(path))
        return None if conn is None else cls(conn, path)


_WHOLE: dict[type, type] = {}


def _whole(cls: type) -> type:
    """`cls` with every part: the assembly a type checker sees as Ledger."""
    if cls not in _WHOLE:
        from .audit import Audit
        from .copying import Copying
        from .foresight import Foresight
        from .offers import Offers
        from .staging import Staging

        if issubclass(cls, (Foresight, Offers, Staging, Audit, Copying)):
            return cls
        _WHOLE[cls] = type(
            cls.__name__, (cls, Foresight, Offers, Staging, Audit, Copying), {"__module__": cls.__module__}
        )
    return _WHOLE[cls]
