import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tsad.core.frames import GAP
from tsad.core.windows import WindowedSeries, n_windows, sliding_windows, to_timestamps, window_labels

geometry = st.integers(1, 30).flatmap(
    lambda w: st.tuples(st.just(w), st.integers(1, 12), st.integers(w, w + 80)))


@given(geometry, st.integers(1, 4))
def test_window_count_and_content(geo, channels):
    window, stride, length = geo
    series = np.arange(length * channels, dtype=np.float32).reshape(length, channels)
    windows = sliding_windows(series, window, stride)
    assert windows.shape == ((length - window) // stride + 1, window, channels) == (n_windows(length, window, stride),
                                                                                    window, channels)
    j = len(windows) - 1
    np.testing.assert_array_equal(windows[j], series[j * stride: j * stride + window])


def test_windows_are_views_not_copies():
    series = np.zeros((10_000, 8), dtype=np.float32)
    windows = sliding_windows(series, 100, 1)
    assert np.shares_memory(windows, series)
    assert not windows.flags.writeable
    assert windows.base is not None


def test_shorter_than_a_window_is_refused():
    with pytest.raises(ValueError, match="fewer than one window"):
        sliding_windows(np.zeros((5, 2)), 6)


@given(geometry)
def test_window_labels_mark_any_anomalous_point(geo):
    window, stride, length = geo
    labels = np.zeros(length, dtype=np.int8)
    labels[length // 2] = 1
    expected = np.array([labels[j * stride: j * stride + window].max() for j in range(n_windows(length, window,
                                                                                                  stride))])
    np.testing.assert_array_equal(window_labels(labels, window, stride), expected)


@given(geometry, st.sampled_from(["mean", "max"]), st.integers(0, 2**32 - 1))
def test_to_timestamps_covers_every_point_and_matches_a_direct_loop(geo, aggregation, seed):
    window, stride, length = geo
    count = n_windows(length, window, stride)
    scores = np.random.default_rng(seed).random(count)
    out = to_timestamps(scores, window, stride, length, aggregation)
    assert out.shape == (length,) and np.isfinite(out).all()
    reduce = np.mean if aggregation == "mean" else np.max
    for t in range(length):
        covering = [scores[j] for j in range(count) if j * stride <= t < j * stride + window]
        expected = reduce(covering) if covering else scores[min(t // stride, count - 1)]
        assert out[t] == pytest.approx(expected)


def test_to_timestamps_rejects_a_wrong_count():
    with pytest.raises(ValueError, match="scores given"):
        to_timestamps(np.zeros(3), 5, 1, 10)


def test_windowed_series_keeps_labels_and_index(test_frame):
    ws = WindowedSeries.from_frame(test_frame, window=10, stride=2)
    assert ws.channels == tuple(c for c in test_frame.columns if c != "label")
    assert ws.windows.shape == (n_windows(len(test_frame), 10, 2), 10, 5)
    assert ws.window_labels.max() == 1
    assert len(ws.to_timestamps(np.zeros(len(ws.windows)))) == len(test_frame.index)


def gapped_frame(lengths: list[int], labelled: bool = True) -> pd.DataFrame:
    """Stretches of rows between dropped ones: ``gap_before`` is 1 on the first row of every stretch but the first."""
    total = sum(lengths)
    frame = pd.DataFrame({"a": np.arange(total, dtype=np.float32), "b": -np.arange(total, dtype=np.float32)},
                         index=pd.Index(np.arange(total) * 2, name="step"))
    frame[GAP] = np.zeros(total, dtype=np.int8)
    frame.iloc[np.cumsum(lengths)[:-1], frame.columns.get_loc(GAP)] = 1
    if labelled:
        frame["label"] = (np.arange(total) % 7 == 0).astype(np.int8)
    return frame


@given(st.lists(st.integers(1, 25), min_size=1, max_size=6), st.integers(1, 8), st.integers(1, 4),
       st.sampled_from(["mean", "max"]))
def test_windows_never_span_a_gap_and_scores_map_back_stretch_by_stretch(lengths, window, stride, aggregation):
    frame = gapped_frame(lengths)
    long = [n for n in lengths if n >= window]
    if not long:
        with pytest.raises(ValueError, match="none of them as long as one window"):
            WindowedSeries.from_frame(frame, window, stride)
        return
    series = WindowedSeries.from_frame(frame, window, stride)
    # rows of stretches shorter than a window are left out; the rest keep their stretches
    kept = np.concatenate([np.arange(start, start + n) for start, n in zip(np.cumsum([0, *lengths])[:-1], lengths)
                           if n >= window])
    np.testing.assert_array_equal(series.values[:, 0], kept)
    assert series.channels == ("a", "b") and series.n_timestamps == sum(long)
    expected = [sliding_windows(series.values[s:e], window, stride) for s, e in
                zip(series.stretch_bounds[:-1], series.stretch_bounds[1:])]
    np.testing.assert_array_equal(series.windows, np.concatenate(expected))
    # every row of a window is one stretch's: consecutive original positions
    assert (np.diff(series.windows[:, :, 0], axis=1) == 1).all()
    labels = np.concatenate([window_labels(series.labels[s:e], window, stride) for s, e in
                             zip(series.stretch_bounds[:-1], series.stretch_bounds[1:])])
    np.testing.assert_array_equal(series.window_labels, labels)
    scores = np.random.default_rng(0).random(len(series.windows))
    mapped = series.to_timestamps(scores, aggregation)
    counts = [n_windows(n, window, stride) for n in long]
    direct = [to_timestamps(part, window, stride, n, aggregation)
              for part, n in zip(np.split(scores, np.cumsum(counts)[:-1]), long)]
    np.testing.assert_allclose(mapped, np.concatenate(direct))


def test_a_series_without_gaps_keeps_its_zero_copy_view(test_frame):
    series = WindowedSeries.from_frame(test_frame.assign(**{GAP: np.int8(0)}), window=10)
    assert series.breaks == () and np.shares_memory(series.windows, series.values)
    np.testing.assert_array_equal(series.window_starts, np.arange(len(test_frame) - 9))
