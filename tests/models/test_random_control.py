"""The random control: the random method's window scores and the evaluation's control of a score frame, both drawn by
the random detector from generators seeded by (seed, ...)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import entity_frame, score_frame

from tsad.models.random_control import RandomDetector


def test_window_scores_come_from_the_seed_alone():
    detector = RandomDetector.from_params({"seed": 5}).fit(np.zeros((40, 12, 3), np.float32))
    scores = detector.decision_function(np.ones((300, 12, 3), np.float32))
    np.testing.assert_array_equal(scores, np.random.default_rng(5).random(300))


def test_the_control_of_a_score_frame_draws_per_split_and_entity():
    scores = entity_frame({"a": score_frame(n=500, seed=1), "b": score_frame(n=700, seed=2)})
    control = RandomDetector.from_params({"seed": 7}).score_like(scores, split=1)
    assert control.index.equals(scores.index) and list(control.columns) == ["score", "label"]
    np.testing.assert_array_equal(control["label"], scores["label"])
    for position, entity in enumerate(("a", "b")):
        expected = np.random.default_rng([7, 1, position]).random(len(scores.loc[entity]))
        np.testing.assert_array_equal(control.loc[entity, "score"], expected)


def test_channel_scores_get_their_own_generator():
    frame = score_frame(n=400, labelled=False)
    with_channels = frame.assign(**{"score.x": 1.0, "score.y": 2.0})
    detector = RandomDetector.from_params({"seed": 3})
    plain, control = detector.score_like(frame, split=0), detector.score_like(with_channels, split=0)
    pd.testing.assert_series_equal(control["score"], plain["score"])  # drawn as without channels
    np.testing.assert_array_equal(control[["score.x", "score.y"]].to_numpy(),
                                  np.random.default_rng([3, 0, 0, 1]).random((400, 2)))
