"""Custom Kedro datasets of tsad."""

from tsad.datasets.checkpoint_dataset import DetectorCheckpointDataset
from tsad.datasets.swat_datasets import SimulatedSwatDataset, SwatExportDataset

__all__ = ["DetectorCheckpointDataset", "SimulatedSwatDataset", "SwatExportDataset"]
