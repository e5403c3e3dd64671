"""The files of one side of a declared dataset, found without reading them: a file, pieces of one series, or one
entity per file of a folder or a glob."""

from __future__ import annotations

import glob
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tsad.connectors.entities import natural_key
from tsad.connectors.table.source_spec import TableSpec
from tsad.core.errors import DataFormatError
from tsad.core.frames import SINGLE

CSV_SUFFIXES = (".csv", ".csv.gz", ".txt", ".txt.gz", ".tsv", ".tsv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
PATTERN_CHARACTERS = frozenset("*?[")  # a path or a name holding one of these is a shell pattern


@dataclass(frozen=True)
class Layout:
    """Where one side's data is: a single series in one or more pieces, or one file per entity."""

    multi: bool
    files: dict[str, list[Path]]  # entity ("" for a single series) -> its files, in order
    location: str


def list_files(paths: Sequence[str], spec: TableSpec, key: str) -> Layout:
    """Find the files of ``paths`` (a ``TableSpec.train``/``test``), without reading them.

    Raises:
        DataFormatError: A missing file or folder, a glob or folder with no data file, a folder inside a list,
            or two files with the same entity name (``a.csv`` and ``a.parquet``), naming the configuration key.

    Entities are named after their file without its suffix; when a glob's files lie in several folders
    (``rig/*/*.csv``), after their path below the glob's fixed prefix (``valve_a/0``).
    """
    suffixes = _suffixes(spec.format)
    if len(paths) == 1 and (Path(paths[0]).is_dir() or PATTERN_CHARACTERS & set(paths[0])):
        found = _entity_files(paths[0], suffixes, spec.format, key)
        return Layout(multi=True, files={name: [path] for name, path in found.items()}, location=paths[0])
    pieces: list[Path] = []
    for item in paths:
        matches = sorted(glob.glob(item), key=natural_key) if PATTERN_CHARACTERS & set(item) else [item]
        if not matches:
            raise DataFormatError(f"{item}: no file matches ({key})")
        for match in matches:
            path = Path(match)
            if path.is_dir():
                raise DataFormatError(f"{path}: a folder inside a list of files ({key}); give the folder alone "
                                      "for one entity per file")
            if not path.exists():
                raise DataFormatError(f"{path}: file not found ({key}; relative paths start at the project root)")
            pieces.append(path)
    return Layout(multi=False, files={SINGLE: pieces}, location=" + ".join(map(str, pieces)))


def _suffixes(file_format: str | None) -> tuple[str, ...]:
    return {"csv": CSV_SUFFIXES, "parquet": PARQUET_SUFFIXES}.get(file_format or "", CSV_SUFFIXES + PARQUET_SUFFIXES)


def _entity_files(location: str, suffixes: tuple[str, ...], file_format: str | None, key: str) -> dict[str, Path]:
    folder = Path(location)
    if folder.is_dir():
        candidates = [p for p in folder.iterdir() if p.is_file()]
        # a format named explicitly reads every file of the folder, whatever its suffix
        candidates = [p for p in candidates if file_format or p.name.lower().endswith(suffixes)]
        root = folder
    else:
        root = _fixed_prefix(folder)
        if not root.is_dir():
            raise DataFormatError(f"{root}: folder not found ({key}; the part of {location} before its first pattern)")
        candidates = [Path(p) for p in glob.glob(location, recursive=True) if Path(p).is_file()]
    # One folder: entities are the file names; several (data/rig/*/*.csv): their paths below the fixed prefix, so
    # that valve_a/0.csv and valve_b/0.csv stay apart.
    spans_folders = len({p.parent for p in candidates}) > 1
    found: dict[str, Path] = {}
    for path in candidates:
        name = _stem(path.relative_to(root).as_posix() if spans_folders else path.name, suffixes)
        if name in found:
            raise DataFormatError(f"{location}: both {found[name]} and {path} would be entity {name!r}; "
                                  f"keep one of them ({key})")
        found[name] = path
    if not found:
        raise DataFormatError(f"{location}: no data file ({', '.join(suffixes)}) found ({key})")
    return {name: found[name] for name in sorted(found, key=natural_key)}


def _fixed_prefix(pattern: Path) -> Path:
    """The folder a glob starts from: its leading parts without pattern characters (``data/rig`` of
    ``data/rig/*/*.csv``)."""
    fixed = []
    for part in pattern.parts[:-1]:
        if PATTERN_CHARACTERS & set(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def _stem(name: str, suffixes: tuple[str, ...]) -> str:
    for suffix in sorted(suffixes, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    suffix = Path(name).suffix  # a format named explicitly: any suffix (the folders of a path kept)
    return name[: -len(suffix)] if suffix else name


def file_format_of(path: Path, spec: TableSpec) -> str:
    """``csv`` or ``parquet``: the configured format, else the file's suffix."""
    if spec.format:
        return spec.format
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    raise DataFormatError(f"{path}: unknown file type; name it .csv, .csv.gz, .txt, .tsv or .parquet, or set "
                          f"{spec.key('format')}")
