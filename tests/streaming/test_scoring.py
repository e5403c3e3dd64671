"""Streamed rows in chunks of any size get exactly the flags (and the scores) of the whole series scored at once."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from conftest import entity_frame, synthetic_series
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tsad.core.preprocessing import departures, preprocess
from tsad.core.score_frames import entity_flagging
from tsad.pipelines.serving.nodes import prepare_model_input, score_features, score_new_data
from tsad.serving import rows_from_frame
from tsad.streaming.scoring import Geometry, StreamingError, StreamScorer

from .helpers import EVIDENCE_ROWS, evidence_case, model_bundle, split


def variant(bundle: dict, *, aggregation="mean", stride=None, persistence=1, downsample=1, band_prune=False) -> dict:
    out = copy.deepcopy(bundle)
    out["scoring"] = {"aggregation": aggregation, "stride": stride}
    out["threshold"]["persistence"] = persistence
    out["preprocessing"]["cleaning"]["downsample"] = downsample
    if band_prune:
        value = next(iter(out["threshold"]["values"].values()))
        out["threshold"] = {"strategy": "band", "q": 0.99, "upper_q": None, "prune_single": True,
                            "persistence": persistence, "values": {"": value}, "state": {"": {"upper": None}}}
    return out


def whole(bundle: dict, frame: pd.DataFrame) -> pd.DataFrame:
    pre = bundle["preprocessing"]
    return score_features(preprocess(frame, pre, "test"), bundle, departures(frame, pre["cleaning"], "test"))


def streamed(bundle: dict, frame: pd.DataFrame, chunks: list[int], entity: str = "") -> tuple[np.ndarray, ...]:
    scorer, outs, at = StreamScorer(bundle), [], 0
    while at < len(frame):
        size = chunks[len(outs) % len(chunks)] if chunks else 1
        out = scorer.add(entity, frame.iloc[at:at + size])
        outs.append(out)
        at += size
    outs += scorer.flush()
    outs = [o for o in outs if o is not None]
    return (np.concatenate([o.times for o in outs]), np.concatenate([o.scores for o in outs]),
            np.concatenate([o.flags for o in outs]))


VARIANTS = [dict(), dict(aggregation="last"), dict(aggregation="max", stride=3), dict(persistence=3),
            dict(downsample=4), dict(band_prune=True, persistence=2), dict(aggregation="mean", stride=5, downsample=2)]


@pytest.mark.parametrize("options", VARIANTS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
@settings(deadline=None, max_examples=4, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunks=st.lists(st.integers(1, 40), min_size=1, max_size=6))
def test_streamed_flags_and_scores_are_the_whole_series(single, options, chunks):
    bundle, frame = single
    bundle = variant(bundle, **options)
    reference = whole(bundle, frame)
    times, scores, flags = streamed(bundle, frame, chunks)
    assert len(times) == len(reference)  # every row scored once, in order (a partial last block dropped as in batch)
    assert (times == reference.index.to_numpy()).all()
    np.testing.assert_array_equal(flags, reference["flag"].to_numpy().astype(bool))
    np.testing.assert_allclose(scores, reference["score"].to_numpy(), rtol=1e-6, atol=1e-9)


def test_an_evidence_channel_departing_flags_its_rows_in_pipeline_registered_model_and_stream():
    """The pump constant (off) in training is kept as evidence: the rows where it runs are flagged alike by the
    pipeline's evaluation, the registered model and the stream, persistence notwithstanding; a change within the
    tolerance, and the non-evidence constant channel, flag nothing of their own."""
    out, bundle, rows = evidence_case()
    pipeline = entity_flagging(out["scores_test"], out["threshold"], "").flags
    model_input = rows_from_frame(rows, bundle["preprocessing"]["input_format"])  # as a client sends them
    registered = score_new_data(prepare_model_input(model_input, bundle), bundle)
    _, _, stream = streamed(bundle, rows, [17, 5])
    np.testing.assert_array_equal(registered["flag"].to_numpy().astype(bool), pipeline)
    np.testing.assert_array_equal(stream, pipeline)
    departed = np.zeros(len(rows), dtype=bool)
    departed[EVIDENCE_ROWS] = True
    np.testing.assert_array_equal(registered["departed"].to_numpy() > 0, departed)
    np.testing.assert_array_equal(out["scores_test"]["departed.P101"].to_numpy() > 0, departed)
    assert pipeline[EVIDENCE_ROWS].all()
    assert [c for c in registered.columns if c.startswith("departed")] == ["departed.P101", "departed"]
    without = copy.deepcopy(bundle)  # the same model with no evidence channel: the score alone flags
    without["preprocessing"]["cleaning"]["constant_evidence"] = []
    by_score = whole(without, rows)["flag"].to_numpy().astype(bool)
    assert not by_score[400]  # a lone departure: the score's persistence of 3 would not flag it
    np.testing.assert_array_equal(pipeline, by_score | departed)
    assert "`P101`" in out["evaluation_report"] and "16 of 500 test rows" in out["evaluation_report"]


def test_the_flags_are_there_to_compare(single):
    """The comparison above means something: the test series has flagged and unflagged rows."""
    bundle, frame = single
    flags = whole(bundle, frame)["flag"].to_numpy()
    assert 0 < flags.sum() < len(flags)


def test_rows_are_emitted_once_every_covering_window_has_arrived(single):
    bundle, frame = single
    scorer = StreamScorer(bundle)  # mean over windows of 12: a row is final 11 rows later
    assert scorer.add("", frame.iloc[:11]) is None
    first = scorer.add("", frame.iloc[11:23])
    assert len(first) == 12 and first.times[-1] == frame.index[11]
    assert scorer.pending() == 11
    predictor = StreamScorer(variant(bundle, aggregation="last"))  # next-step scores: final on arrival
    assert len(predictor.add("", frame.iloc[:30])) == 30


def test_the_buffer_stays_bounded(single):
    bundle, frame = single
    scorer = StreamScorer(bundle)
    for i in range(len(frame)):
        scorer.add("", frame.iloc[i:i + 1])
    geometry = scorer.geometry
    assert len(scorer.entities[""].buffer) <= geometry.context + geometry.lookahead + geometry.stride + 1


def test_entities_are_buffered_apart():
    parts = {name: split(synthetic_series(1000, seed=seed, anomalies=False), 600)
             for name, seed in (("a", 1), ("b", 3))}
    bundle, test = model_bundle(entity_frame({k: v[0] for k, v in parts.items()}),
                           entity_frame({k: v[1] for k, v in parts.items()}))
    reference = whole(bundle, test)
    scorer, outs = StreamScorer(bundle), {"a": [], "b": []}
    for start in range(0, 400, 7):  # interleaved arrivals
        for name in ("b", "a"):
            part = test.xs(name, level="entity").iloc[start:start + 7]
            outs[name].append(scorer.add(name, part))
    for out in scorer.flush():
        outs[out.entity].append(out)
    for name in ("a", "b"):
        flags = np.concatenate([o.flags for o in outs[name] if o is not None])
        np.testing.assert_array_equal(flags, reference.xs(name, level="entity")["flag"].to_numpy().astype(bool))


@pytest.mark.parametrize("strategy", ["spot", "dynamic"])
def test_strategies_that_need_the_whole_series_are_refused(single, strategy):
    bundle = copy.deepcopy(single[0])
    bundle["threshold"]["strategy"] = strategy
    with pytest.raises(StreamingError, match=rf"'{strategy}' cannot be streamed"):
        Geometry.of(bundle)


def test_a_new_model_scores_the_buffered_rows(single):
    """Switching to a model with the same row format keeps the buffer: nothing is lost, no row is scored twice."""
    bundle, frame = single
    reference = whole(bundle, frame)
    scorer = StreamScorer(bundle)
    outs = [scorer.add("", frame.iloc[:100])]
    scorer.use(copy.deepcopy(bundle))
    outs += [scorer.add("", frame.iloc[100:])] + scorer.flush()
    flags = np.concatenate([o.flags for o in outs if o is not None])
    np.testing.assert_array_equal(flags, reference["flag"].to_numpy().astype(bool))


def test_a_series_shorter_than_a_window_is_not_scored_and_said_so(single, caplog):
    bundle, frame = single
    scorer = StreamScorer(bundle)
    assert scorer.add("", frame.iloc[:5]) is None
    assert scorer.flush() == []
    assert "last 5 row(s) are fewer than one window (12)" in caplog.text


def test_a_model_that_reads_other_rows_starts_afresh(single, caplog):
    bundle, frame = single
    scorer = StreamScorer(bundle)
    scorer.add("", frame.iloc[:50])
    other = copy.deepcopy(bundle)
    other["preprocessing"]["cleaning"]["downsample"] = 2
    scorer.use(other)
    assert scorer.entities == {} and "the new model reads other rows" in caplog.text
