"""Frozen records: what `@dataclass(frozen=True)` gives this project, without importing dataclasses.

`credits log` runs from a shell script after every AI call. Importing
dataclasses imports inspect (with ast, dis and tokenize), and each dataclass
writes its methods with several exec calls and an inspect.signature: together
about a third of a `log`'s start-up. A record writes its __init__ with one exec;
equality, hashing, repr and immutability are shared functions. Fields are the
class's annotations, in order; a default is a class attribute, or
`field(default_factory=...)`.
"""

from __future__ import annotations

_MISSING = object()


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make):
        self.make = make


def field(*, default_factory):
    return _Factory(default_factory)


def _values(self) -> tuple:
    return tuple(getattr(self, n) for n in self.__record_fields__)


def _eq(self, other):
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _values(self) == _values(other)


def _hash(self):
    return hash(_values(self))


def _repr(self):
    inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__record_fields__)
    return f"{self.__class__.__qualname__}({inner})"


def _frozen(self, name, value=None):
    raise AttributeError(f"cannot assign to field {name!r}: {self.__class__.__name__} is frozen")


def record(cls):
    names = tuple(cls.__dict__.get("__annotations__", {}))
    ns = {"_MISSING": _MISSING, "_set": object.__setattr__}
    params, body = [], []
    for n in names:
        default = cls.__dict__.get(n, _MISSING)
        if isinstance(default, _Factory):
            ns[f"_make_{n}"] = default.make
            params.append(f"{n}=_MISSING")
            body.append(f"    _set(self, {n!r}, _make_{n}() if {n} is _MISSING else {n})")
            delattr(cls, n)
        else:
            if default is not _MISSING:
                ns[f"_default_{n}"] = default
                params.append(f"{n}=_default_{n}")
            elif any("=" in p for p in params):
                raise TypeError(f"{cls.__name__}: field {n!r} without a default follows one with a default")
            else:
                params.append(n)
            body.append(f"    _set(self, {n!r}, {n})")
    exec(f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(body) or "    pass"), ns)
    init = ns["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init
    cls.__record_fields__ = names
    cls.__eq__, cls.__hash__, cls.__repr__ = _eq, _hash, _repr
    cls.__setattr__, cls.__delattr__ = _frozen, _frozen
    return cls


def replace(obj, **changes):
    """A copy of a record with some fields changed (dataclasses.replace)."""
    for name in changes:
        if name not in obj.__record_fields__:
            raise TypeError(f"{obj.__class__.__name__} has no field {name!r}")
    return obj.__class__(**{n: changes[n] if n in changes else getattr(obj, n) for n in obj.__record_fields__})
