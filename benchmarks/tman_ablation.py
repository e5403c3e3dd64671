"""Ablation of TMAN's open choices on cleaned data (not a test): the evidence behind docs/tman_ablation.md.

Each variant changes one choice of a base configuration (``--base``: TMAN's defaults before the study, or the
current ones), trains on normal data, and is scored on the test split with the stage pipeline's own functions:
per-entity scaler fitted on training data, validation tail carved from training, window scores mapped to
timestamps (mean), F1 at the 0.995-quantile of validation scores. No label is used for any choice except the
reported metrics.

The checkpoint choices are read from the same training run: the last epoch, the epoch with the best validation
reconstruction loss, and the epoch whose scores best separate validation windows from the same windows with one
channel swapped for another time's values (``channel_swap_auc``: label-free, within the normal range). The score
weights (direct / cross residuals) are read from the same run too.

Input: a dataset's cleaned splits as the data pipeline writes them (``kedro run --pipelines=data_<ds>``):
    python benchmarks/tman_ablation.py --clean data/02_intermediate/swat --seeds 0 1 --out swat.csv
    python benchmarks/tman_ablation.py --clean data/02_intermediate/smd --entities machine-1-1 machine-2-1 ...
    python benchmarks/tman_ablation.py --smoke      # two variants on the tiny simulated plant, one epoch, no CSV
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import yaml
from smoke import parse_args

from tsad.core import thresholds
from tsad.core.cleaning import constant_channels
from tsad.core.frames import LABEL, split_entities
from tsad.core.metrics import pr_auc, precision_recall_f1, roc_auc
from tsad.core.preprocessing import scale as apply_scaler
from tsad.core.windows import WindowedSeries
from tsad.datasets.swat.files import SWAT_TAGS
from tsad.models.pca import PcaConfig, PcaDetector
from tsad.models.tman import TmanConfig, TmanDetector
from tsad.pipelines.cleaning.nodes import fit_scaler
from tsad.pipelines.windowing.nodes import split_validation
from tsad.simulators.swat_plant import simulate_preset

# The defaults before this study (conf/base/parameters/methods/tman.yml at 2026-11-26).
OLD_BASE = {"backbone": "lstm", "hidden_size": 64, "latent_size": 32, "symmetric": True, "adversarial_weight": None,
            "epochs": 10, "batch_size": 256, "learning_rate": 1e-3}
VARIANTS: dict[str, dict[str, Any]] = {
    "base": {},
    "one_way (USAD pair)": {"model": {"symmetric": False}},
    "adversarial off": {"model": {"adversarial_weight": 0.0}},
    "adversarial 0.1 fixed": {"model": {"adversarial_weight": 0.1}},
    "tcn": {"model": {"backbone": "tcn"}},
    "dense": {"model": {"backbone": "dense"}},
    "lstm": {"model": {"backbone": "lstm"}},
    "symmetric": {"model": {"symmetric": True}},
    "adversarial schedule (USAD 1 - 1/n)": {"model": {"adversarial_weight": None}},
    "latent 8": {"model": {"latent_size": 8}},
    "hidden 16, latent 8": {"model": {"hidden_size": 16, "latent_size": 8}},
    "dropout 0.2": {"model": {"dropout": 0.2}},
    "window 30": {"window": 30},
    "window 60": {"window": 60},
    "zscore": {"scaling": "zscore", "model": {"sigmoid_output": False}},
}
SCORES = {"direct+cross (0.5/0.5)": (0.5, 0.5), "direct only": (1.0, 0.0), "cross only": (0.0, 1.0)}


class _Recorder(TmanDetector):
    """TMAN that keeps each epoch's weights and a label-free separation statistic on validation windows."""

    probe: tuple[np.ndarray, np.ndarray]
    epochs_seen: list[dict[str, Any]]

    def _evaluate(self, windows: np.ndarray, epoch: int) -> float:
        loss = super()._evaluate(windows, epoch)
        clean, swapped = (self._components(w) for w in self.probe)
        separation = roc_auc(np.r_[np.zeros(len(clean)), np.ones(len(swapped))],
                             np.r_[clean @ [0.5, 0.5], swapped @ [0.5, 0.5]])
        self.epochs_seen.append({"epoch": epoch + 1, "val_loss": loss, "separation": separation,
                                 "state": {k: copy.deepcopy(m.state_dict()) for k, m in self.modules_.items()}})
        return loss

    def _components(self, windows: np.ndarray) -> np.ndarray:
        """(direct, cross) residuals per window, as the score combines them."""
        for module in self.modules_.values():
            module.eval()
        out = []
        with torch.inference_mode():
            for start in range(0, len(windows), 4096):
                batch = torch.from_numpy(np.ascontiguousarray(windows[start:start + 4096]))
                out.append(torch.stack(self.score_parts(batch), 1))
        for module in self.modules_.values():
            module.train()
        return torch.cat(out).double().numpy()


def channel_swapped(windows: np.ndarray, seed: int) -> np.ndarray:
    """Each window with one random channel replaced by the same channel in another random window."""
    rng = np.random.default_rng(seed)
    out = np.array(windows, copy=True)
    rows, channels = np.arange(len(out)), rng.integers(0, out.shape[2], len(out))
    donors = (rows + rng.integers(len(out) // 4, 3 * len(out) // 4, len(out))) % len(out)
    out[rows, :, channels] = windows[donors, :, channels]
    return out


def latest(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(sorted((folder / f"{name}.parquet").glob("*/*.parquet"))[-1])


def simulated_swat(n_normal: int, preset: str, seed: int = 2015) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The simulated plant's normal and attack files (``preset``'s attack part, ``n_normal`` normal rows) as
    clean splits: float tags, a 0/1 label, channels constant in training dropped."""
    plant = simulate_preset(preset, seed=seed, n_normal=n_normal)
    train, test = (frame[list(SWAT_TAGS)].astype(np.float32) for frame in (plant.normal, plant.attack))
    constant = constant_channels(train)
    test = test.drop(columns=constant).assign(**{LABEL: (plant.attack["label"] != "Normal").to_numpy(np.int8)})
    return train.drop(columns=constant), test


def pca_reference(train: pd.DataFrame, test: pd.DataFrame, *, window: int, fit_stride: int) -> dict[str, float]:
    """PCA (the project's defaults) on the same scaled windows, scored the same way: the baseline to beat."""
    scaler = fit_scaler(train, {"method": "minmax"})
    fit, val = split_validation(apply_scaler(train, scaler), {"window": window, "validation_fraction": 0.2})
    test_series = WindowedSeries.from_frame(apply_scaler(test, scaler), window)
    val_series = WindowedSeries.from_frame(val, window)
    pca = PcaDetector(PcaConfig()).fit(WindowedSeries.from_frame(fit, window, fit_stride).windows)
    val_scores = val_series.to_timestamps(pca.decision_function(val_series.windows), "mean")
    test_scores = test_series.to_timestamps(pca.decision_function(test_series.windows), "mean")
    flags = thresholds.apply(test_scores, thresholds.fit(val_scores, "quantile", q=0.995)).flags
    labels = test_series.labels
    return {"roc_auc": roc_auc(labels, test_scores), "pr_auc": pr_auc(labels, test_scores),
            "f1": precision_recall_f1(labels, flags)[2]}


def run_one(train: pd.DataFrame, test: pd.DataFrame, variant: dict[str, Any], base: dict[str, Any], *, seed: int,
            fit_stride: int) -> list[dict[str, Any]]:
    window, scaling = variant.get("window", 12), variant.get("scaling", "minmax")
    scaler = fit_scaler(train, {"method": scaling})
    train_s, test_s = apply_scaler(train, scaler), apply_scaler(test, scaler)
    fit, val = split_validation(train_s, {"window": window, "validation_fraction": 0.2})
    fit_w = WindowedSeries.from_frame(fit, window, fit_stride).windows
    val_series, test_series = WindowedSeries.from_frame(val, window), WindowedSeries.from_frame(test_s, window)
    config = TmanConfig(**(base | variant.get("model", {})), seed=seed, device="cpu", progress=False, patience=0,
                        restore_best=False)
    detector = _Recorder(config)
    detector.probe = (val_series.windows, channel_swapped(val_series.windows, seed))
    detector.epochs_seen = []
    started = time.perf_counter()
    detector.fit(fit_w, val_series.windows)
    train_time = time.perf_counter() - started
    seen = detector.epochs_seen
    choices = {"last": seen[-1], "best val loss": min(seen, key=lambda e: e["val_loss"]),
               "best channel-swap separation": max(seen, key=lambda e: e["separation"])}
    labels = test_series.labels
    rows = []
    for choice, snapshot in choices.items():
        for name, module in detector.modules_.items():
            module.load_state_dict(snapshot["state"][name])
        val_parts, test_parts = detector._components(val_series.windows), detector._components(test_series.windows)
        for score_name, weights in SCORES.items():
            val_scores = val_series.to_timestamps(val_parts @ weights, "mean")
            test_scores = test_series.to_timestamps(test_parts @ weights, "mean")
            fitted = thresholds.fit(val_scores, "quantile", q=0.995)
            flags = thresholds.apply(test_scores, fitted).flags
            rows.append({"checkpoint": choice, "epoch": snapshot["epoch"], "score": score_name,
                         "roc_auc": roc_auc(labels, test_scores), "pr_auc": pr_auc(labels, test_scores),
                         "f1": precision_recall_f1(labels, flags)[2], "train_s": train_time})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--clean", type=Path, help="folder of clean_train/clean_test.parquet versions")
    source.add_argument("--simulate-swat", type=int, metavar="N_NORMAL",
                        help="simulate the SWaT plant (--preset) with N_NORMAL normal rows instead")
    parser.add_argument("--preset", default="default", help="the simulated plant's preset (its attack part)")
    parser.add_argument("--entities", nargs="*", default=None)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS))
    parser.add_argument("--base", choices=["old", "current"], default="old")
    parser.add_argument("--fit-stride", type=int, default=1, help="train on every n-th window (speed)")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="override the base model, e.g. adversarial_weight=0.1 backbone=tcn (YAML values)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, help="CSV of every row (required but for --smoke)")
    args = parse_args(parser, smoke={"simulate_swat": 2_000, "preset": "tiny", "variants": ["base", "adversarial off"],
                                     "base": "current", "epochs": 1, "fit_stride": 4, "threads": 1})
    if args.clean is None and args.simulate_swat is None:
        parser.error("one of --clean or --simulate-swat is required")
    if args.out is None and not args.smoke:
        parser.error("--out is required")
    torch.set_num_threads(args.threads)
    base = dict(OLD_BASE) if args.base == "old" else {  # --base current: TmanConfig's defaults
        key: value for key, value in dataclasses.asdict(TmanConfig()).items()
        if key not in {"method", "seed", "device", "threads", "progress", "checkpoint_dir", "resume", "patience",
                       "restore_best"}}
    if args.epochs:
        base["epochs"] = args.epochs
    base |= {key: yaml.safe_load(value) for key, value in (item.split("=", 1) for item in args.set)}
    if args.clean:
        trains = split_entities(latest(args.clean, "clean_train"))
        tests = split_entities(latest(args.clean, "clean_test"))
    else:
        trains, tests = ({None: frame} for frame in simulated_swat(args.simulate_swat, args.preset))
    entities = args.entities or list(trains)
    rows = []
    for entity in entities:
        train, test = trains[entity].drop(columns=[LABEL], errors="ignore"), tests[entity]
        pca = pca_reference(train, test, window=12, fit_stride=args.fit_stride)
        rows.append({"variant": "PCA (reference)", "entity": entity or "-", "seed": 0, "checkpoint": "-",
                     "score": "-"} | pca)
        print(f"{'PCA (reference)':<24} {entity or '-':<14}: ROC {pca['roc_auc']:.3f} PR {pca['pr_auc']:.3f} "  # noqa: T201
              f"F1 {pca['f1']:.3f}", flush=True)
    for name in args.variants:
        for entity in entities:
            for seed in args.seeds:
                train, test = trains[entity].drop(columns=[LABEL], errors="ignore"), tests[entity]
                for row in run_one(train, test, VARIANTS[name], base, seed=seed, fit_stride=args.fit_stride):
                    rows.append({"variant": name, "entity": entity or "-", "seed": seed} | row)
                    if args.out:
                        args.out.parent.mkdir(parents=True, exist_ok=True)
                        pd.DataFrame(rows).to_csv(args.out, index=False)
                last = [r for r in rows if r["checkpoint"] == "last" and r["score"].startswith("direct+cross")][-1]
                print(f"{name:<24} {entity or '-':<14} seed {seed}: ROC {last['roc_auc']:.3f} PR {last['pr_auc']:.3f} "  # noqa: T201
                      f"F1 {last['f1']:.3f} ({last['train_s']:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
