"""Typed option blocks: dataclasses whose field types are checked, so a mistyped parameter is refused by name.

Python's dataclasses do not check types; ``check_types`` does, for the types parameters files can hold (bool, int,
float, str, None, lists and tuples of them, dicts, literals and unions of these). An int is a float; a bool is not
an int.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any


def check_types(options: Any, where: str) -> None:
    """Raise TypeError naming ``where.<field>`` for the first field whose value does not match its annotation."""
    hints = typing.get_type_hints(type(options))
    for field in dataclasses.fields(options):
        value = getattr(options, field.name)
        if not _matches(value, hints[field.name]):
            raise TypeError(f"{where}.{field.name}: expected {_describe(hints[field.name])}, got "
                            f"{type(value).__name__} {value!r}")


def from_mapping(cls: type[Any], values: Mapping[str, Any], where: str) -> Any:
    """``cls(**values)`` for a dataclass, refusing unknown keys and missing ones by name, then checking types."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"{where}: unknown parameter(s) {unknown}; known: {sorted(names)}")
    required = [f.name for f in dataclasses.fields(cls) if f.name not in values
                and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if required:
        raise ValueError(f"{where}: missing parameter(s) {required}")
    options = cls(**dict(values))
    check_types(options, where)
    return options


_SCALARS = {
    type(None): lambda value: value is None,
    bool: lambda value: isinstance(value, bool),
    int: lambda value: isinstance(value, int) and not isinstance(value, bool),
    float: lambda value: isinstance(value, (int, float)) and not isinstance(value, bool),
    dict: lambda value: isinstance(value, Mapping),
    Any: lambda value: True,
}


def _matches(value: Any, hint: Any) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in args)
    if origin is typing.Literal:
        return value in args
    if origin in (list, tuple):  # parameters files give lists for tuples
        items = args[:1] if origin is list or (len(args) == 2 and args[1] is Ellipsis) else ()
        return isinstance(value, (list, tuple)) and all(_matches(item, items[0]) for item in value if items)
    check = _SCALARS.get(origin or hint)
    if check is not None:
        return check(value)
    # Other classes by isinstance; an annotation parameters cannot express (a callable ...) is not checked.
    return isinstance(value, hint) if isinstance(hint, type) else True


def _describe(hint: Any) -> str:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_describe(arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return "null"
    if typing.get_origin(hint) in (list, tuple) and typing.get_args(hint):
        return f"a list of {_describe(typing.get_args(hint)[0])}"
    return getattr(hint, "__name__", str(hint))
