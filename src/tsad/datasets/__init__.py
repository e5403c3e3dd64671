"""Kedro datasets of tsad, and one home package per built-in dataset (``tsad.datasets.registry`` collects them).

The catalog names the classes below ``tsad.datasets.<Class>`` (users' own catalogs too, so the names stay; a new
dataset's entries may name its class by its module instead). Each is imported on first use: importing one
dataset's package (the SWaT simulator importing SWaT's schema, say) then imports no other dataset's, and this
package's own import runs no cycle through the simulators that the simulated sources import.
"""

from __future__ import annotations

import importlib
from typing import Any

# class name -> the module defining it, relative to this package
_CLASSES = {
    "DetectorCheckpointDataset": "checkpoint_dataset",
    "RunModelBundleDataset": "checkpoint_dataset",
    "RegisteredModelDataset": "registered_model_dataset",
    "TableSourceDataset": "table_source",
    "SimulatedSwatDataset": "swat.sources",
    "SwatExportDataset": "swat.sources",
    "SimulatedWadiDataset": "wadi.sources",
    "WadiExportDataset": "wadi.sources",
    "SmdFolderDataset": "smd.sources",
    "TelemanomFolderDataset": "telemanom.sources",
    "NabFolderDataset": "nab.sources",
    "UcrArchiveDataset": "ucr.sources",
    "PsmDataset": "psm.sources",
    "KddCupDataset": "kddcup99.sources",
    "CicidsDataset": "cicids2017.sources",
}
__all__ = list(_CLASSES)


def __getattr__(name: str) -> Any:
    if name not in _CLASSES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_CLASSES[name]}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_CLASSES))
