import numpy as np
import pytest

from tsad.core.thresholds import fit_threshold


def test_quantile_flags_the_requested_share_of_normal_scores():
    scores = np.random.default_rng(0).normal(size=100_000)
    value = fit_threshold(scores, "quantile", q=0.99)
    assert (scores >= value).mean() == pytest.approx(0.01, abs=1e-3)


def test_k_sigma():
    scores = np.random.default_rng(1).normal(3.0, 2.0, size=200_000)
    assert fit_threshold(scores, "k_sigma", k=3) == pytest.approx(9.0, abs=0.05)


def test_unknown_strategy_and_bad_input_are_refused():
    with pytest.raises(ValueError, match="unknown threshold strategy"):
        fit_threshold(np.ones(3), "magic")
    with pytest.raises(ValueError, match="finite"):
        fit_threshold(np.array([1.0, np.nan]), "quantile")
