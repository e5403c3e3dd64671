"""Threshold strategies: known tail quantiles, references, hand cases and properties.

libspot 3.1.0 (Siffer's own SPOT library) is the reference for POT and SPOT; like the metric references it is
installed by `make setup` into <venv>/test-references (see tests/core/test_metrics.py).
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tsad.core import thresholds
from tsad.core.thresholds import Strategy, ThresholdError, base, fit, strategy
from tsad.core.thresholds.distri_tail import DistriTailNoiseOptions, distri_tail_noise_threshold
from tsad.core.thresholds.dynamic import ewma, prune_sequences
from tsad.core.thresholds.pot import PotOptions, _tail_quantile, fit_gpd, fit_pot, gpd_log_likelihood

REFERENCES = Path(sys.prefix) / "test-references"


def reference(module: str):
    if REFERENCES.is_dir() and str(REFERENCES) not in sys.path:
        sys.path.append(str(REFERENCES))
    if os.environ.get("CI"):
        return importlib.import_module(module)
    return pytest.importorskip(module, reason=f"reference {module} not installed: run `make setup`")


def fit_threshold(scores: np.ndarray, strategy: str, **options) -> float:
    return fit(scores, strategy, **options).value


def test_quantile_flags_the_requested_share_of_normal_scores():
    scores = np.random.default_rng(0).normal(size=100_000)
    value = fit_threshold(scores, "quantile", q=0.99)
    assert (scores >= value).mean() == pytest.approx(0.01, abs=1e-3)


def test_k_sigma():
    scores = np.random.default_rng(1).normal(3.0, 2.0, size=200_000)
    assert fit_threshold(scores, "k_sigma", k=3) == pytest.approx(9.0, abs=0.05)


def test_unknown_strategy_option_and_bad_input_are_refused():
    with pytest.raises(ValueError, match="unknown threshold strategy"):
        fit_threshold(np.ones(3), "magic")
    with pytest.raises(ValueError, match="finite"):
        fit_threshold(np.array([1.0, np.nan]), "quantile")
    with pytest.raises(ValueError, match=r"has no option\(s\) \['k'\]"):
        fit_threshold(np.ones(3), "quantile", k=3)
    with pytest.raises(ValueError, match="persistence"):
        fit_threshold(np.ones(3), "quantile", persistence=0)
    with pytest.raises(ValueError, match=r"'quantile' needs option\(s\) \['q'\]"):  # defaults.yml holds q's default
        fit_threshold(np.ones(3), "quantile")
    with pytest.raises(ValueError, match="unknown GPD fitting method 'moments'"):
        fit_threshold(np.ones(3), "pot", method="moments")


def test_a_strategy_is_one_registered_class(monkeypatch):
    monkeypatch.setattr(base, "STRATEGIES", dict(base.STRATEGIES))  # registered for this test only

    @strategy("median_mad")
    class MedianMad(Strategy):
        @dataclasses.dataclass(frozen=True)
        class Options:
            k: float = 5.0

        def fit(self, scores, options):
            median = np.median(scores)
            return float(median + options.k * np.median(np.abs(scores - median))), {}

    scores = np.random.default_rng(12).normal(size=2000)
    fitted = fit(scores, "median_mad", k=4, persistence=2)
    assert fitted.value == pytest.approx(np.median(scores) + 4 * np.median(np.abs(scores - np.median(scores))))
    back = thresholds.from_record(thresholds.to_record({"": fitted}), "")
    np.testing.assert_array_equal(thresholds.apply(scores, back).flags, thresholds.persistent(scores >= back.value, 2))
    channels = thresholds.fit_channels(np.column_stack([scores, 2 * scores]), "median_mad", channels=["a", "b"])
    assert channels.fitted[0].value == fit(scores, "median_mad").value
    with pytest.raises(ValueError, match=r"'median_mad' has no option\(s\) \['q'\]"):
        fit(scores, "median_mad", q=0.5)
    with pytest.raises(ValueError, match="registered twice"):
        strategy("median_mad")(MedianMad)


# --------------------------------------------------------------------------------------------------- POT / SPOT
@pytest.mark.parametrize("method", ["grimshaw", "mle"])
def test_pot_recovers_known_tail_quantiles(method):
    q = 1e-4
    exponential = np.random.default_rng(2).exponential(size=400_000)
    assert fit_threshold(exponential, "pot", q=q, level=0.98, method=method) == pytest.approx(-np.log(q), rel=0.03)
    # Lomax: P(X > x) = (1 + x)^-3, a heavy tail with GPD shape 1/3.
    lomax = np.random.default_rng(3).random(400_000) ** (-1 / 3) - 1
    tail = fit_pot(lomax, PotOptions(q=q, level=0.98, method=method))
    assert tail.gamma == pytest.approx(1 / 3, abs=0.05)
    assert tail.quantile == pytest.approx(q ** (-1 / 3) - 1, rel=0.1)
    # Uniform: a bounded tail (shape -1), which Grimshaw's roots alone miss.
    uniform = np.random.default_rng(4).random(400_000)
    assert fit_threshold(uniform, "pot", q=q, level=0.98, method=method) == pytest.approx(1 - q, abs=2e-4)


def test_grimshaw_is_the_maximum_likelihood():
    peaks = np.random.default_rng(5).pareto(4.0, size=3000)
    grimshaw, mle = fit_gpd(peaks, "grimshaw"), fit_gpd(peaks, "mle")
    assert grimshaw == pytest.approx(mle, rel=1e-3)
    assert gpd_log_likelihood(peaks, *grimshaw) >= gpd_log_likelihood(peaks, *mle) - 1e-6


def test_pot_matches_libspot():
    libspot = reference("libspot")
    for seed in range(3):
        scores = np.random.default_rng(seed).gamma(2.0, size=50_000)
        spot = libspot.Spot(q=1e-4, level=0.98, max_excess=100_000)
        spot.fit(scores)
        # libspot takes its initial threshold with another quantile rule; on its peaks, the fits agree, and ours is
        # at least as likely (libspot's root finder stops earlier).
        initial = spot.excess_threshold
        peaks = scores[scores > initial] - initial
        gamma, sigma = fit_gpd(peaks, "grimshaw")
        assert gpd_log_likelihood(peaks, gamma, sigma) >= \
            gpd_log_likelihood(peaks, spot.gamma, spot.sigma) - 1e-6
        quantile = _tail_quantile(initial, gamma, sigma, q=1e-4, n=len(scores), n_peaks=len(peaks))
        assert quantile == pytest.approx(spot.anomaly_threshold, rel=5e-3)
        assert fit_threshold(scores, "pot", q=1e-4, level=0.98) == pytest.approx(spot.anomaly_threshold, rel=0.02)


def test_spot_follows_the_stream_like_libspot():
    libspot = reference("libspot")
    rng = np.random.default_rng(7)
    calibration, stream = rng.exponential(size=20_000), rng.exponential(1.3, size=20_000)
    stream[12_000:12_020] += 15  # a burst far in the tail
    fitted = fit(calibration, "spot", q=1e-3, level=0.98)
    run = thresholds.apply(stream, fitted)
    spot = libspot.Spot(q=1e-3, level=0.98, max_excess=100_000)
    spot.fit(calibration)
    alarms = np.array([spot.step(x) for x in stream]) == libspot.ANOMALY
    assert run.flags[12_000:12_020].all()
    assert abs(int(run.flags.sum()) - int(alarms.sum())) <= 0.05 * alarms.sum() + 2
    assert run.threshold[-1] == pytest.approx(spot.anomaly_threshold, rel=0.02)
    # The threshold moves with the heavier stream, and only at scores above the initial threshold.
    assert run.threshold[-1] > fitted.value
    changes = np.flatnonzero(np.diff(run.threshold)) + 1
    assert np.all(stream[changes - 1] > fitted.state["initial"])


def test_pot_refuses_too_few_peaks_and_too_large_a_risk():
    with pytest.raises(ThresholdError, match="fewer than 10"):
        fit_threshold(np.random.default_rng(8).random(200), "pot", level=0.99)
    with pytest.raises(ThresholdError, match="below the share of peaks"):
        fit_threshold(np.random.default_rng(8).random(10_000), "pot", q=0.05, level=0.98)


# --------------------------------------------------------------------------------------------------- DistriTailNoise2Th
def histogram_scores(counts: list[int]) -> np.ndarray:
    """Scores whose 60-bin histogram on [0, 60] has exactly these counts (bin i holds values near i + 0.5)."""
    values = np.concatenate([np.full(c, i + 0.5) for i, c in enumerate(counts)] + [[0.0, 60.0]])
    return values


def test_distri_tail_noise_by_hand():
    # 60 bins of width 1 on [0, 60]: a falling tail (bins 1..20 drop by 10 each), flat zeros, a bump from bin 40.
    counts = [1000] + [200 - 10 * i for i in range(20)] + [0] * 19 + [20, 40, 60, 80] + [0] * 16
    scores = histogram_scores(counts)
    assert len(counts) == 60
    # c = counts[1:]; d[k] = c[k+1] - c[k] = -10 for k < 19, then -10 (10 -> 0), 0 ..., +20 at k = 38 (bin 40).
    # averaged[i] = mean(d[i .. i+4]): -10 while i <= 15, then -8, -6, -4 (i = 18), ... The first average above -5
    # is i = 18 (-4); the next three (-2, 0, 0) hold, so the rise is found at i = 18.
    original = fit_threshold(scores, "distri_tail_noise_2th", bin_offset="original", mean_mul_coefficient=1e9)
    aligned = fit_threshold(scores, "distri_tail_noise_2th", bin_offset="aligned", mean_mul_coefficient=1e9)
    assert original == np.nextafter(19.0, np.inf)  # edges[1:][18]
    assert aligned == np.nextafter(24.0, np.inf)  # edges[18 + 5 + 1]
    copy = scores.copy()
    fit_threshold(scores, "distri_tail_noise_2th")
    np.testing.assert_array_equal(scores, copy)  # the input is not clipped in place


def test_distri_tail_noise_error_or_fallback_without_a_rise():
    scores = histogram_scores([5000] + [4000 - 60 * i for i in range(59)])  # falls by 60 per bin: no rise
    with pytest.raises(ThresholdError, match="no rise"):
        fit_threshold(scores, "distri_tail_noise_2th")
    value = fit_threshold(scores, "distri_tail_noise_2th", on_failure="max")
    assert not (scores >= value).any()


def test_distri_tail_noise_flags_strictly_above_the_repository_threshold():
    rng = np.random.default_rng(9)
    scores = np.concatenate([rng.exponential(size=20_000), rng.normal(8, 0.3, 500)])
    value = distri_tail_noise_threshold(scores, DistriTailNoiseOptions())
    assert value == fit_threshold(scores, "distri_tail_noise_2th")
    np.testing.assert_array_equal(scores >= value, scores > np.nextafter(value, -np.inf))


# --------------------------------------------------------------------------------------------------- per channel
def bumped_channels(seed: int = 9, n: int = 20_000) -> np.ndarray:
    """Three channels: an exponential bulk plus a secondary bump of 500 scores near 8 (the seed's picture)."""
    rng = np.random.default_rng(seed)
    return np.column_stack([np.concatenate([rng.exponential(size=n), rng.normal(8 + c, 0.3, 500)]) for c in range(3)])


def test_distri_tail_noise_per_feature_finds_each_bump_and_combines_by_the_rule():
    scores = bumped_channels()
    fitted = thresholds.fit_channels(scores, "distri_tail_noise_2th", channels=["a", "b", "c"])
    # Each channel gets its own DistriTailNoise2Th threshold, between the bulk and its bump.
    own = np.array([distri_tail_noise_threshold(column, DistriTailNoiseOptions()) for column in scores.T])
    assert fitted.channels == ("a", "b", "c") and [f.value for f in fitted.fitted] == list(own)
    assert all(5 < value < 8 + c for c, value in enumerate(own))
    # Flags: OR over channels (the seed), or at least k of the F channels, each channel flagging scores >= its value.
    probe = np.array([[0.0, 0.0, 0.0], [9.0, 0.0, 0.0], [9.0, 10.0, 0.0], [9.0, 10.0, 11.0]])
    np.testing.assert_array_equal(thresholds.apply_channels(probe, fitted).flags, [False, True, True, True])
    two = thresholds.fit_channels(scores, "distri_tail_noise_2th", channels=["a", "b", "c"], combine="k_of_f", k=2)
    np.testing.assert_array_equal(thresholds.apply_channels(probe, two).flags, [False, False, True, True])
    per_channel = scores >= own
    np.testing.assert_array_equal(thresholds.apply_channels(scores, fitted).flags, per_channel.any(axis=1))
    np.testing.assert_array_equal(thresholds.apply_channels(scores, two).flags, per_channel.sum(axis=1) >= 2)
    # The decision for plots: the k-th largest score / threshold, flagged exactly when it reaches 1.
    run = thresholds.apply_channels(scores, two)
    np.testing.assert_array_equal(run.decision >= 1, run.flags)
    assert np.all(run.threshold == 1.0)


def test_per_channel_persistence_acts_on_each_channel_before_combining():
    each = thresholds.FittedThreshold("quantile", 1.0, {"q": 0.5, "persistence": 2})
    fitted = thresholds.ChannelThreshold(("a", "b"), (each, each))
    # a and b alternate above the threshold: the OR of the raw exceedances persists, neither channel does.
    scores = np.array([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0], [2.0, 0.0]])
    np.testing.assert_array_equal(thresholds.apply_channels(scores, fitted).flags, [False, False, False, True])


def test_per_channel_records_round_trip_and_bad_rules_are_refused():
    scores = bumped_channels()
    options = {"q": 1e-3, "persistence": 2}
    fitted = {"m1": thresholds.fit_channels(scores, "spot", options, channels=["a", "b", "c"]),
              "m2": thresholds.fit_channels(scores[::2], "spot", options, channels=["a", "b", "c"])}
    record = thresholds.to_record(fitted)
    assert record["per_channel"] == {"combine": "any", "k": 1} and record["persistence"] == 2
    assert set(record["values"]["m1"]) == {"a", "b", "c"} and set(record["state"]["m2"]) == {"a", "b", "c"}
    back = thresholds.from_record(record, "m1")
    assert back == fitted["m1"]
    np.testing.assert_array_equal(thresholds.apply_channels(scores, back).flags,
                                  thresholds.apply_channels(scores, fitted["m1"]).flags)
    with pytest.raises(ValueError, match="unknown per-channel combination 'all'"):
        thresholds.fit_channels(scores, "quantile", {"q": 0.9}, combine="all")
    with pytest.raises(ValueError, match="k=2 needs combine: k_of_f"):
        thresholds.fit_channels(scores, "quantile", {"q": 0.9}, combine="any", k=2)
    with pytest.raises(ValueError, match="k=4 can never flag: there are 3 channels"):
        thresholds.fit_channels(scores, "quantile", {"q": 0.9}, combine="k_of_f", k=4)
    with pytest.raises(ValueError, match=r"need \(T, 3\) channel scores"):
        thresholds.apply_channels(scores[:, :2], back)
    falling = histogram_scores([5000] + [4000 - 60 * i for i in range(59)])  # no rise in its tail
    rng = np.random.default_rng(3)
    bump = np.concatenate([rng.exponential(size=len(falling) - 500), rng.normal(8, 0.3, 500)])
    with pytest.raises(ThresholdError, match="channel 'falling': DistriTailNoise2Th found no rise"):
        thresholds.fit_channels(np.column_stack([bump, falling]), "distri_tail_noise_2th", channels=["bump", "falling"])


def test_k_sigma_and_the_k_of_f_rule_keep_their_own_k():
    fitted = thresholds.fit_channels(bumped_channels(), "k_sigma", {"k": 4}, combine="k_of_f", k=2)
    assert fitted.required == 2 and all(channel.options == {"k": 4} for channel in fitted.fitted)


# --------------------------------------------------------------------------------------------------- dynamic
def test_dynamic_threshold_finds_the_burst_and_prunes_small_sequences():
    rng = np.random.default_rng(10)
    errors = np.abs(rng.normal(size=20_000))
    errors[5000:5100] += 6.0
    fitted = fit(errors, "dynamic", span=10, error_buffer=5)
    smoothed = ewma(errors, 10)
    assert smoothed[5020:5100].min() > fitted.value > np.quantile(smoothed[:4000], 0.999)
    run = thresholds.apply(errors, fitted)
    flagged = np.flatnonzero(run.flags)
    assert flagged.min() >= 5000 - 5 and flagged.max() <= 5100 + 40 and run.flags[5010:5100].all()


def test_pruning_by_hand():
    decision = np.zeros(30)
    decision[2:4], decision[10:12], decision[20:22] = 10.0, 9.5, 5.0
    decision[25] = 4.9  # the largest unflagged value
    flags = decision >= 5.0
    # Maxima 10, 9.5, 5 then 4.9: drops 0.05, 0.47, 0.02; the last drop of at least 0.13 is after 9.5.
    kept = prune_sequences(decision, flags, 0.13)
    np.testing.assert_array_equal(np.flatnonzero(kept), [2, 3, 10, 11])


# --------------------------------------------------------------------------------------------------- persistence
@given(arrays(np.bool_, st.integers(1, 300)), st.integers(1, 6))
def test_persistence_is_a_trailing_run(exceed, m):
    expected = np.array([t >= m - 1 and exceed[t - m + 1:t + 1].all() for t in range(len(exceed))], dtype=bool)
    np.testing.assert_array_equal(thresholds.persistent(exceed, m), expected)


@given(arrays(np.float64, st.integers(1, 300), elements=st.floats(0, 1)), st.integers(1, 6), st.floats(0, 1),
       st.floats(0, 1))
def test_persistent_scores_threshold_like_flags_and_a_higher_threshold_never_flags_more(scores, m, a, b):
    low, high = min(a, b), max(a, b)
    np.testing.assert_array_equal(thresholds.persistent(scores >= low, m),
                                  thresholds.persistent_scores(scores, m) >= low)
    flag = {t: thresholds.apply(scores, thresholds.FittedThreshold("quantile", t, {"q": 0.5, "persistence": m})).flags
            for t in (low, high)}
    assert not np.any(flag[high] & ~flag[low])


def test_persistence_in_fit_and_records():
    rng = np.random.default_rng(11)
    scores = rng.random(1000)
    fitted = fit(scores, "quantile", q=0.9, persistence=3)
    assert fitted.value == fit_threshold(scores, "quantile", q=0.9)  # persistence only acts when flagging
    record = thresholds.to_record({"a": fitted, "b": fit(scores[:500], "quantile", q=0.9, persistence=3)})
    assert record["persistence"] == 3 and set(record["values"]) == {"a", "b"} and "state" not in record
    assert thresholds.from_record(record, "a") == fitted
    spot = thresholds.to_record({"": fit(rng.exponential(size=5000), "spot", q=1e-3)})
    assert set(spot["state"][""]) == {"initial", "peaks", "n"}


def test_band_flags_strictly_inside_the_validation_quantiles_and_round_trips():
    fitting = np.arange(101, dtype=float)  # quantiles are the values themselves
    fitted = fit(fitting, "band", q=0.9, upper_q=0.99)
    assert (fitted.value, fitted.state) == (90.0, {"upper": 99.0})
    scores = np.array([89.0, 90.0, 90.5, 98.9, 99.0, 150.0])
    np.testing.assert_array_equal(thresholds.apply(scores, fitted).flags, [0, 0, 1, 1, 0, 0])
    record = thresholds.to_record({"": fitted})
    assert record["state"] == {"": {"upper": 99.0}}
    again = thresholds.from_record(record, "")
    np.testing.assert_array_equal(thresholds.apply(scores, again).flags, [0, 0, 1, 1, 0, 0])
    open_above = fit(fitting, "band", q=0.9)
    np.testing.assert_array_equal(thresholds.apply(scores, open_above).flags, [0, 0, 1, 1, 1, 1])


def test_band_prunes_isolated_single_positives_as_the_public_code_does():
    fitted = fit(np.arange(101, dtype=float), "band", q=0.5, prune_single=True)
    scores = np.array([99, 10, 99, 10, 99, 99, 10, 99], dtype=float)
    # the first and last points have one neighbour and stay; the isolated one at 2 goes; the pair at 4-5 stays
    np.testing.assert_array_equal(thresholds.apply(scores, fitted).flags, [1, 0, 0, 0, 1, 1, 0, 1])


@pytest.mark.parametrize("options", [{"q": 1.0}, {"q": 0.9, "upper_q": 0.8}, {"q": 0.5, "upper_q": 1.5}, {}])
def test_band_refuses_an_empty_or_unbounded_band(options):
    with pytest.raises(ValueError, match="band|needs option"):
        fit(np.arange(10.0), "band", **options)


@given(arrays(np.float64, st.integers(3, 60), elements=st.floats(-1e3, 1e3)), st.floats(0, 0.9), st.floats(0, 0.1))
def test_band_flags_are_the_quantile_flags_below_the_upper_edge(scores, q, width):
    fitted = fit(scores, "band", q=q, upper_q=min(1.0, q + width + 1e-3))
    lower, upper = fitted.value, fitted.state["upper"]
    np.testing.assert_array_equal(thresholds.apply(scores, fitted).flags, (scores > lower) & (scores < upper))
