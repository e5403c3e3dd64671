"""Custom Kedro datasets of tsad."""

from tsad.datasets.checkpoint_dataset import DetectorCheckpointDataset
from tsad.datasets.entity_folders import NabFolderDataset, SmdFolderDataset, TelemanomFolderDataset, UcrArchiveDataset
from tsad.datasets.record_files import CicidsDataset, KddCupDataset, PsmDataset
from tsad.datasets.registered_model_dataset import RegisteredModelDataset
from tsad.datasets.swat_datasets import SimulatedSwatDataset, SwatExportDataset
from tsad.datasets.table_source import TableSourceDataset
from tsad.datasets.wadi_datasets import SimulatedWadiDataset, WadiExportDataset

__all__ = ["DetectorCheckpointDataset", "RegisteredModelDataset",
           "NabFolderDataset", "SmdFolderDataset", "TelemanomFolderDataset", "UcrArchiveDataset",
           "SimulatedSwatDataset", "SwatExportDataset",
           "CicidsDataset", "KddCupDataset", "PsmDataset", "SimulatedWadiDataset", "WadiExportDataset",
           "TableSourceDataset"]
