"""The options of each stage, typed: the configuration loader checks every dataset's and experiment's blocks with
these before any node runs, so a misspelled or mistyped parameter stops the run naming its key.

The values are written once, in ``conf/base/parameters/defaults.yml``; these classes hold none (every field is
required there), only the names and types. Model options are each method's config dataclass; threshold options
each strategy's ``Options``; evaluation options ``tsad.core.evaluation.EvaluationOptions``.
"""

from __future__ import annotations

import dataclasses
from typing import Literal


@dataclasses.dataclass(frozen=True)
class CleaningOptions:
    nan_policy: Literal["error", "fill", "drop"]
    max_fill_fraction: float
    drop_constant: bool
    constant_evidence: Literal["discrete"] | list[str]
    evidence_tolerance: float
    gdn_recipe: bool
    downsample: int
    drop_first: str | int | None


@dataclasses.dataclass(frozen=True)
class ScalingOptions:
    method: Literal["minmax", "zscore"]


@dataclasses.dataclass(frozen=True)
class FeatureSelectionOptions:
    reference: str | None
    rho: float
    top_k: int | None
    min_grade: float | None


@dataclasses.dataclass(frozen=True)
class WindowingOptions:
    window: int
    stride: int
    validation_fraction: float
    fit_stride: int | None = None  # training windows every fit_stride rows (default: stride), TAnoGAN's protocol


@dataclasses.dataclass(frozen=True)
class ZeroLabelOptions:
    train_split: float  # the leading share of each test series used for training (ingestion.zero_label)


@dataclasses.dataclass(frozen=True)
class InferenceOptions:
    ignore_columns: list[str]


@dataclasses.dataclass(frozen=True)
class ScoringOptions:
    aggregation: Literal["mean", "max", "last"]
    stride: int | Literal["window"] | None


DATA_STAGES = {"cleaning": CleaningOptions, "scaling": ScalingOptions, "feature_selection": FeatureSelectionOptions,
               "windowing": WindowingOptions, "inference": InferenceOptions}
EXPERIMENT_STAGES = {"scoring": ScoringOptions}
