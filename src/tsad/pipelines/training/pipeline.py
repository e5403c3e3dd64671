"""Training stage: ``windows_train`` + ``windows_val`` (+ the data's ``cleaning_report``: a VFL method's
default parties) -> ``detector`` checkpoint, ``train_history`` and the detector's ``detector_artifacts``."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from tsad.pipelines.training.nodes import fit_detector


def training_template() -> Pipeline:
    return Pipeline([
        Node(fit_detector, ["windows_train", "windows_val", "params:model", "cleaning_report"],
             ["detector", "train_history", "detector_artifacts"], name="fit_detector"),
    ])
