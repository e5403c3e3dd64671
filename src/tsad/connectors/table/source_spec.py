"""The ``datasets.<name>.source`` block: which keys it takes, their forms, validated into a ``TableSpec``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SOURCE_KEYS = ("kind", "train", "test", "split", "format", "timestamp", "label", "channels", "exclude_channels",
               "entities", "exclude", "csv", "parties", "alignment")


@dataclass(frozen=True)
class TimeSpec:
    """The time index: a column of timestamps or integer steps, or the row numbers (``column`` None)."""

    column: str | None = None
    kind: str = "timestamp"      # timestamp | step
    format: str | None = None    # strptime format of text timestamps (None: inferred from the first value)
    unit: str | None = None      # epoch numbers: s | ms | us | ns


@dataclass(frozen=True)
class LabelSpec:
    """The label column and its declared values (compared as canonical text, see ``canonical_value``)."""

    column: str
    anomaly: tuple[str, ...] = ("1",)
    normal: tuple[str, ...] = ("0",)
    shown: str = ""  # the declared values as written, for messages


@dataclass(frozen=True)
class CsvSpec:
    """How CSV files are laid out."""

    sep: str | None = None       # None: tab for .tsv files, a comma otherwise
    decimal: str = "."
    encoding: str = "utf8"
    skip_lines: int = 0          # lines before the header


@dataclass(frozen=True)
class SplitSpec:
    """How a series is cut in time when there are no test files: a leading fraction or a time (``at``)."""

    fraction: float | None = None
    at: Any = None


@dataclass(frozen=True)
class PartySpec:
    """One party of a vertically federated dataset: its own files of its own channels (``parties.<name>``)."""

    name: str
    train: tuple[str, ...]
    test: tuple[str, ...] | None


@dataclass(frozen=True)
class TableSpec:
    """A validated ``datasets.<name>.source`` block (see ``table_spec``)."""

    dataset: str
    train: tuple[str, ...]
    test: tuple[str, ...] | None
    split: SplitSpec | None
    format: str | None
    time: TimeSpec
    label: LabelSpec | None
    channels: tuple[str, ...] | None
    exclude_channels: tuple[str, ...]
    entities: Any
    exclude: Any
    csv: CsvSpec
    parties: tuple[PartySpec, ...] = ()  # train and test are empty then: each party has its own files
    tolerance: str | None = None         # parties' timestamps match within it (None: exactly)

    def key(self, name: str) -> str:
        """The configuration key of a setting, for messages."""
        return f"datasets.{self.dataset}.source.{name}"


def table_spec(source: Mapping[str, Any], dataset: str) -> TableSpec:
    """Validate a ``datasets.<name>.source`` block.

    Args:
        source: The block. Keys: ``train`` (required) and ``test``: a file, a list of files (pieces of one
            series, in time order), a folder or a glob (one entity per file, named after the file without its
            suffix, or after its path below the glob's fixed prefix when the files lie in several folders);
            ``split``: ``{fraction: f}`` or ``{at: time or step}`` when there is no ``test``;
            ``format``: ``csv`` or ``parquet`` (default: from each file's suffix); ``timestamp``: a column
            name, ``{column, format, unit, kind}`` (``kind: step`` for an integer step column, ``unit`` for
            epoch numbers) or null for row numbers; ``label``: a column name (anomaly 1, normal 0) or
            ``{column, anomaly: [...], normal: [...]}``; ``channels`` and ``exclude_channels``: names or shell
            patterns (default: every numeric column); ``entities`` and ``exclude``: entity names or patterns
            (folders and globs); ``csv``: ``{sep, decimal, encoding, skip_lines}``; ``kind``: ``table``;
            ``parties``: ``{<party>: {train, test}}`` in place of ``train`` and ``test``, each party's own files
            of its own channels (a vertically federated plant), matched on their timestamps, exactly or within
            ``alignment: {tolerance: "500ms"}``.
        dataset: The dataset's name, for messages.

    Raises:
        ValueError: An unknown key or a value of the wrong form, naming the key.
    """
    where = f"datasets.{dataset}.source"
    if not isinstance(source, Mapping):
        raise ValueError(f"{where} must be a mapping of settings, got {source!r}")
    unknown = sorted(set(source) - set(SOURCE_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; known keys: {list(SOURCE_KEYS)}")
    if source.get("kind", "table") != "table":
        raise ValueError(f"{where}.kind: only 'table' (CSV or Parquet files) is known, got {source['kind']!r}")
    parties = _parties(source.get("parties"), f"{where}.parties", source)
    if parties:
        train, test = (), () if parties[0].test is not None else None
    else:
        if source.get("train") in (None, "", []):
            raise ValueError(f"{where}.train: required: a file, a list of files, a folder or a glob (or parties)")
        train = _paths(source["train"], f"{where}.train")
        test = _paths(source["test"], f"{where}.test") if source.get("test") not in (None, "", []) else None
    split = _split(source.get("split"), f"{where}.split")
    if test is None and split is None:
        raise ValueError(f"{where}: give test files (test) or a split of the training files (split: "
                         "{fraction: 0.7} or {at: '2024-03-01 00:00'})")
    if test is not None and split is not None:
        raise ValueError(f"{where}: give either test or split, not both")
    file_format = source.get("format")
    if file_format not in (None, "csv", "parquet"):
        raise ValueError(f"{where}.format must be csv, parquet or null (from the suffix), got {file_format!r}")
    return TableSpec(
        dataset=dataset, train=train, test=test, split=split, format=file_format,
        time=_time(source.get("timestamp"), f"{where}.timestamp"),
        label=_label(source.get("label"), f"{where}.label"),
        channels=_names(source.get("channels"), f"{where}.channels"),
        exclude_channels=_names(source.get("exclude_channels"), f"{where}.exclude_channels") or (),
        entities=source.get("entities"), exclude=source.get("exclude"),
        csv=_csv(source.get("csv"), f"{where}.csv"), parties=parties,
        tolerance=_tolerance(source.get("alignment"), f"{where}.alignment", parties))


def _paths(value: Any, where: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str | Path) else value
    if not isinstance(items, list | tuple) or not items or not all(isinstance(i, str | Path) for i in items):
        raise ValueError(f"{where} must be a path (file, folder or glob) or a list of file paths, got {value!r}")
    return tuple(str(i) for i in items)


def _parties(value: Any, where: str, source: Mapping[str, Any]) -> tuple[PartySpec, ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping) or not value:
        raise ValueError(f"{where} must map each party's name to {{train, test}}, got {value!r}")
    both = sorted({"train", "test"} & set(source))
    if both:
        raise ValueError(f"{where.rsplit('.', 1)[0]}: {both} and parties exclude each other; give each party's files "
                         f"under {where}.<party>.train and .test")
    parties = []
    for name, files in value.items():
        at = f"{where}.{name}"
        if not isinstance(files, Mapping) or files.get("train") in (None, "", []):
            raise ValueError(f"{at}: party {name!r} has no files; give {at}.train (and {at}.test, or a split)")
        unknown = sorted(set(files) - {"train", "test"})
        if unknown:
            raise ValueError(f"{at}: unknown key(s) {unknown}; a party takes train and test")
        test = _paths(files["test"], f"{at}.test") if files.get("test") not in (None, "", []) else None
        parties.append(PartySpec(name=str(name), train=_paths(files["train"], f"{at}.train"), test=test))
    with_test = [p.name for p in parties if p.test is not None]
    if with_test and len(with_test) != len(parties):
        without = next(p.name for p in parties if p.test is None)
        raise ValueError(f"{where}.{without}: no test files, but party {with_test[0]!r} has some; give every party "
                         "test files, or none and a split")
    return tuple(parties)


def _tolerance(value: Any, where: str, parties: tuple[PartySpec, ...]) -> str | None:
    if value is None:
        return None
    if not parties:
        raise ValueError(f"{where}: alignment matches the timestamps of parties; declare parties or leave it out")
    if not isinstance(value, Mapping) or set(value) - {"tolerance"}:
        raise ValueError(f"{where} must be {{tolerance: null or a duration such as '500ms'}}, got {value!r}")
    tolerance = value.get("tolerance")
    if tolerance is None:
        return None
    try:
        if pd.Timedelta(tolerance) < pd.Timedelta(0):
            raise ValueError("negative")
    except (ValueError, TypeError) as error:
        raise ValueError(f"{where}.tolerance must be a duration such as '500ms' or '2s' (or null: exact), got "
                         f"{tolerance!r}") from error
    return str(tolerance)


def _split(value: Any, where: str) -> SplitSpec | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or len(value) != 1 or next(iter(value)) not in ("fraction", "at"):
        raise ValueError(f"{where} must be {{fraction: f}} or {{at: time or step}}, got {value!r}")
    if "fraction" in value:
        fraction = value["fraction"]
        if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction < 1:
            raise ValueError(f"{where}.fraction must be a number in (0, 1), got {fraction!r}")
        return SplitSpec(fraction=float(fraction))
    return SplitSpec(at=value["at"])


def _time(value: Any, where: str) -> TimeSpec:
    if value is None:
        return TimeSpec()
    if isinstance(value, str):
        return TimeSpec(column=value.strip())
    if not isinstance(value, Mapping) or not isinstance(value.get("column"), str):
        raise ValueError(f"{where} must be a column name, {{column, format, unit, kind}} or null, got {value!r}")
    unknown = sorted(set(value) - {"column", "format", "unit", "kind"})
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; known: column, format, unit, kind")
    kind = value.get("kind", "timestamp")
    if kind not in ("timestamp", "step"):
        raise ValueError(f"{where}.kind must be timestamp or step, got {kind!r}")
    unit = value.get("unit")
    if unit not in (None, "s", "ms", "us", "ns"):
        raise ValueError(f"{where}.unit must be s, ms, us or ns (epoch numbers), got {unit!r}")
    if kind == "step" and (unit or value.get("format")):
        raise ValueError(f"{where}: a step column takes neither format nor unit")
    return TimeSpec(column=value["column"].strip(), kind=kind, format=value.get("format"), unit=unit)


def _label(value: Any, where: str) -> LabelSpec | None:
    if value is None:
        return None
    if isinstance(value, str):
        return LabelSpec(column=value.strip(), shown="anomaly [1], normal [0]")
    if not isinstance(value, Mapping) or not isinstance(value.get("column"), str):
        raise ValueError(f"{where} must be a column name, {{column, anomaly, normal}} or null, got {value!r}")
    unknown = sorted(set(value) - {"column", "anomaly", "normal"})
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; known: column, anomaly, normal")
    anomaly, normal = value.get("anomaly", [1]), value.get("normal", [0])
    anomaly, normal = ([v] if not isinstance(v, list | tuple) else list(v) for v in (anomaly, normal))
    if not anomaly:
        raise ValueError(f"{where}.anomaly: give at least one value")
    both = {canonical_value(v) for v in anomaly} & {canonical_value(v) for v in normal}
    if both:
        raise ValueError(f"{where}: {sorted(both)} declared both anomalous and normal")
    return LabelSpec(column=value["column"].strip(), anomaly=tuple(canonical_value(v) for v in anomaly),
                     normal=tuple(canonical_value(v) for v in normal), shown=f"anomaly {anomaly}, normal {normal}")


def _names(value: Any, where: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = value.split() if isinstance(value, str) else value  # --params cannot hold a comma
    if not isinstance(items, list | tuple) or not items:
        raise ValueError(f"{where} must be a list of column names or patterns (or null), got {value!r}")
    return tuple(str(i).strip() for i in items)


def _csv(value: Any, where: str) -> CsvSpec:
    value = dict(value or {})
    unknown = sorted(set(value) - {"sep", "decimal", "encoding", "skip_lines"})
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; known: sep, decimal, encoding, skip_lines")
    spec = CsvSpec(**value)
    if spec.sep is not None and len(spec.sep) != 1 or spec.decimal not in (".", ","):
        raise ValueError(f"{where}: sep must be one character and decimal '.' or ',', got {value}")
    if not isinstance(spec.skip_lines, int) or spec.skip_lines < 0:
        raise ValueError(f"{where}.skip_lines must be a whole number >= 0, got {spec.skip_lines!r}")
    return spec


def canonical_value(value: Any) -> str:
    """A label value as comparable text: numbers by value (``1``, ``1.0`` and ``"1"`` agree), booleans as
    ``true``/``false``, other text stripped and case-folded (``Attack`` and ``attack`` agree)."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
    else:
        text = str(value).strip()
        try:
            number = float(text)
        except ValueError:
            return text.casefold()
    if math.isfinite(number) and number == int(number):
        return str(int(number))
    return repr(number)
