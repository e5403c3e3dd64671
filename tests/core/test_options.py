"""Typed option blocks: unknown, missing and mistyped parameters are refused by name."""

import dataclasses
from typing import Literal

import pytest

from tsad.core.options import from_mapping


@dataclasses.dataclass
class Block:
    count: int
    rate: float | None = None
    mode: Literal["a", "b"] = "a"
    sizes: tuple[int, ...] = (1,)
    names: list[str] = dataclasses.field(default_factory=list)


def test_accepts_what_parameters_files_hold():
    block = from_mapping(Block, {"count": 3, "rate": 1, "mode": "b", "sizes": [2, 3], "names": ["x"]}, "w")
    assert block == Block(3, 1, "b", [2, 3], ["x"])  # an int is a float; a list is a tuple
    assert from_mapping(Block, {"count": 3, "rate": None}, "w").rate is None


@pytest.mark.parametrize(("values", "message"), [
    ({"count": 1, "cuont": 2}, r"w: unknown parameter\(s\) \['cuont'\]"),
    ({}, r"w: missing parameter\(s\) \['count'\]"),
    ({"count": True}, r"w\.count: expected int, got bool True"),
    ({"count": 1.5}, r"w\.count: expected int, got float 1\.5"),
    ({"count": 1, "rate": "fast"}, r"w\.rate: expected float or null, got str 'fast'"),
    ({"count": 1, "mode": "c"}, r"w\.mode: expected"),
    ({"count": 1, "sizes": [1, "2"]}, r"w\.sizes: expected a list of int"),
    ({"count": 1, "names": "x"}, r"w\.names: expected a list of str"),
])
def test_refuses_by_name(values, message):
    with pytest.raises((TypeError, ValueError), match=message):
        from_mapping(Block, values, "w")
