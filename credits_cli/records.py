"""Frozen records: what `@dataclass(frozen=True)` gives this project, without importing dataclasses.

`credits log` runs from a shell script after every AI call. Importing
dataclasses imports inspect (with ast, dis and tokenize), and each dataclass
writes its methods with several exec calls and an inspect.signature: together
about a fifth of a `log`'s wall time (a `log --dry-run` takes 92 ms with
dataclasses, 74 ms with records). A record writes its __init__ with one exec;
equality, hashing, repr and immutability are shared functions. Fields are the
class's annotations, in order; a default is a class attribute, or
`field(default_factory=...)`. Type checkers see a record as a frozen dataclass
(`dataclass_transform`), so its constructor and fields are checked.
"""

from __future__ import annotations

# typing.TYPE_CHECKING without importing typing at run time (`credits log` does not otherwise
# load it: about 3 ms of its start-up). Type checkers read the name itself as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar, dataclass_transform

    _T = TypeVar("_T")
else:

    def dataclass_transform(**_kwargs):
        return lambda decorator: decorator


_MISSING = object()


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make):
        self.make = make


def field(*, default_factory: Callable[[], _T]) -> _T:
    return _Factory(default_factory)  # type: ignore[return-value]  # record() replaces it by the factory's value


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


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: type[_T]) -> type[_T]:
    names = tuple(cls.__dict__.get("__annotations__", {}))
    ns: dict[str, Any] = {"_MISSING": _MISSING, "_set": object.__setattr__}
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
    made: Any = cls  # the class as this function rewrites it; checkers see the result through dataclass_transform
    made.__init__ = init
    made.__record_fields__ = names
    made.__eq__, made.__hash__, made.__repr__ = _eq, _hash, _repr
    made.__setattr__, made.__delattr__ = _frozen, _frozen
    return cls


def replace(obj: _T, **changes: Any) -> _T:
    """A copy of a record with some fields changed (dataclasses.replace)."""
    names = obj.__record_fields__  # type: ignore[attr-defined]  # set by record()
    for name in changes:
        if name not in names:
            raise TypeError(f"{obj.__class__.__name__} has no field {name!r}")
    return obj.__class__(**{n: changes[n] if n in changes else getattr(obj, n) for n in names})
