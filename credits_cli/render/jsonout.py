"""JSON with exact decimal numbers, and a use case's result as JSON.

The stdlib encoder knows no Decimal and a float would print 1.2999999 one day;
this small encoder writes amounts (`domain.money.Credits`) as exact JSON numbers
(1.3) and instants as ISO 8601 UTC strings. A result (a record, `records.record`)
is written as an object of its fields in their order, a field named after a
Python keyword with a trailing underscore (`from_`) under the keyword; a result
whose JSON is not simply its fields is written by its view (render/views.py; log's
is here, so that `credits log --json` and `--batch` import no module `log -q` does not).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from decimal import Decimal

from ..domain.cycles import iso
from ..domain.money import Credits

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (`credits log` does not load it)
if TYPE_CHECKING:
    from ..services import LogResult

__all__ = ["Credits", "data", "dumps", "fields"]


_TEXT = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(x, ensure_ascii=False), one encoder for all
_STR = json.encoder.encode_basestring  # what _TEXT does with a str, called directly (C): every key and text value
_KEYS: dict = {}  # a key's JSON text: result lines repeat the same few keys
_CONSTANTS = {None: "null", True: "true", False: "false"}


def _number(milli: int) -> str:
    sign = "-" if milli < 0 else ""
    whole, frac = divmod(abs(milli), 1000)
    return f"{sign}{whole}.{frac:03d}".rstrip("0").rstrip(".") if frac else f"{sign}{whole}"


def dumps(obj, indent: int | None = 2) -> str:
    return _encode(obj, indent, 0)


def _encode(obj, indent, level) -> str:
    kind = type(obj)
    if kind is str:
        return _STR(obj)
    if obj is None or kind is bool:
        return _CONSTANTS[obj]
    if kind is Credits:  # before int: a result line's amounts (`log --batch` writes thousands)
        return _number(obj)
    if kind is int:
        return str(obj)
    if kind is dict:
        if not obj:
            return "{}"
        pad, inner = _pads(indent, level)
        items = [(_KEYS.get(k) or _key(k)) + ": " + _encode(v, indent, level + 1) for k, v in obj.items()]
        return "{" + inner + ("," + (inner or " ")).join(items) + pad + "}"
    if kind is list or kind is tuple:
        if not obj:
            return "[]"
        pad, inner = _pads(indent, level)
        return "[" + inner + ("," + (inner or " ")).join(_encode(v, indent, level + 1) for v in obj) + pad + "]"
    if isinstance(obj, Decimal):
        if not obj.is_finite():
            raise ValueError(f"cannot write {obj} as JSON")
        return format(obj, "f")
    if isinstance(obj, datetime):
        return _TEXT(iso(obj))
    if hasattr(kind, "__record_fields__"):
        return _encode(data(obj), indent, level)
    if isinstance(obj, (bool, str)):
        return _TEXT(obj)
    if isinstance(obj, int):
        return str(int(obj))
    if isinstance(obj, dict):
        return _encode(dict(obj), indent, level)
    if isinstance(obj, (list, tuple)):
        return _encode(list(obj), indent, level)
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


_UNSEEN = object()
_VIEWS: dict = {}  # a result type -> its view (render/views.py), or None: written as its fields
_FIELDS: dict = {}  # a record type -> its (field, key) pairs, in order


def data(result):
    """A result (a record) as the JSON value it is written as: its view's value, or its fields."""
    view = _VIEWS.get(type(result), _UNSEEN)
    if view is _UNSEEN:
        view = _VIEWS[type(result)] = _view_of(type(result))
    return fields(result) if view is None else view(result)


def _view_of(kind: type):
    services = sys.modules.get(_SERVICES)
    if services is not None and kind is services.LogResult:
        return log_result
    from .views import view_of  # when a command first writes a result as JSON

    return view_of(kind)


def fields(result) -> dict:
    """A record's fields by the keys JSON writes them under (`from_` under "from"), in order."""
    names = _FIELDS.get(type(result))
    if names is None:
        names = _FIELDS[type(result)] = tuple((n, n.removesuffix("_")) for n in type(result).__record_fields__)
    return {key: getattr(result, name) for name, key in names}


# --- the view of `credits log`'s result ---------------------------------------------------------

_SERVICES = __name__.rsplit(".", 2)[0] + ".services"


def log_result(r: LogResult) -> dict:
    """`credits log`: the event (its quote flattened), the pool after it, what paid, the alerts it fired."""
    return {
        "id": r.id,
        "action": r.quote.action,
        "model": r.quote.model,
        "scope": r.quote.scope,
        "pool": r.quote.pool,
        "quantity": r.quote.count,
        "credits": r.quote.credits,
        "available": r.balance.available,
        "at": r.at,
        "app": r.app,
        "member": r.member,
        "key": r.key,
        "replayed": r.replayed,
        "dry_run": r.dry_run,
        "paid_by": [{"grant": x["grant"], "source": x["source"], "credits": x["credits"]} for x in r.paid_by],
        "next_reset": r.balance.cycle.end,
        "alerts": [a["message"] for a in r.alerts],
    }


def _key(k) -> str:
    text = _STR(str(k))
    if type(k) is str and len(_KEYS) < 1024:
        _KEYS[k] = text
    return text


def _pads(indent, level):
    if indent is None:
        return "", ""
    return "\n" + " " * (indent * level), "\n" + " " * (indent * (level + 1))
