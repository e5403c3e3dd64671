"""The learned sensor graph's summary (mean over the test windows, change during the top events) and its nodes in
the pipelines of graph-learning detectors only."""

import numpy as np
import pandas as pd
import pytest
from conftest import evaluation_params

from tsad.core import thresholds
from tsad.core.windows import WindowedSeries
from tsad.models.base import Detector
from tsad.pipeline_registry import learns_graph
from tsad.pipelines.compose import model_pipeline
from tsad.pipelines.reporting.sensor_graph import MEAN, covering_windows, plot_sensor_graph, sensor_graph_table


class KnownGraph(Detector):
    """Test double: window b's graph is [k, j] = mean of channel k over the window, for every j."""

    graph_learned = True

    def _fit(self, windows_train, windows_val):
        pass

    def _score_windows(self, windows):
        return np.abs(windows).mean(axis=(1, 2))

    def _window_graphs(self, windows):
        return np.repeat(windows.mean(axis=1)[:, :, None], windows.shape[2], axis=2).astype(np.float64)

    def _state_tensors(self):
        return {}

    def _load_state_tensors(self, tensors):
        pass


def one_series(n: int = 200, window: int = 20, stride: int = 10):
    rng = np.random.default_rng(0)
    values = rng.normal(size=(n, 3)).astype(np.float32)
    values[100:110, 1] += 8.0  # an event in channel b
    frame = pd.DataFrame(values, columns=["a", "b", "c"], index=pd.RangeIndex(n, name="step"))
    series = WindowedSeries.from_frame(frame, window, stride)
    model = KnownGraph.from_params({"device": "cpu"}).fit(series.windows)
    detector = {"channels": ["a", "b", "c"], "entities": {"": model.state()}}
    scores = pd.DataFrame({"score": np.abs(values).mean(axis=1).astype(np.float64)}, index=series.index)
    record = thresholds.to_record({"": thresholds.fit(np.linspace(0.0, 1.5, 101), "quantile", q=0.99)})
    return series, detector, scores, record


def test_the_mean_graph_and_the_change_during_the_strongest_event():
    series, detector, scores, record = one_series()
    table = sensor_graph_table(detector, {"": series}, scores, record,
                               evaluation_params(report={"top_events": 1, "context": 5}))
    windows = series.windows
    expected_mean = windows.mean(axis=1).mean(axis=0)  # [k, j] = channel k's mean, for every j
    mean = table[table["graph"] == MEAN].pivot(index="source", columns="target", values="weight")
    np.testing.assert_allclose(mean.loc["b", ["a", "b", "c"]], np.full(3, expected_mean[1]), rtol=1e-6)
    event = table[table["graph"] == "event 1"]
    peak = int(event["peak"].iloc[0])
    assert 100 <= peak < 110  # the strongest test event is the spike in channel b
    covering = covering_windows(series, peak)
    np.testing.assert_array_equal(covering, np.flatnonzero((series.window_starts <= peak)
                                                           & (peak < series.window_starts + 20)))
    assert len(covering) == 2 and (event["windows"] == 2).all()
    change = event.pivot(index="source", columns="target", values="change")
    np.testing.assert_allclose(change.loc["b", "c"], windows[covering].mean(axis=(0, 1))[1] - expected_mean[1],
                               rtol=1e-6)
    assert change.loc["b", "c"] > 1.0 and table[table["graph"] == MEAN]["change"].isna().all()
    assert list(table.columns) == ["entity", "graph", "peak", "windows", "source", "target", "weight", "change"]
    figure = plot_sensor_graph(table)
    titles = [axes.get_title() for axes in figure.axes if axes.get_title()]
    assert titles[0].startswith("mean graph over 19 test windows")
    assert titles[1].startswith(f"event 1 at {peak}: change from the mean")
    assert [label.get_text() for label in figure.axes[0].get_yticklabels()] == ["a", "b", "c"]


def test_a_detector_without_a_graph_refuses_to_give_one():
    class NoGraph(KnownGraph):
        graph_learned = False

    series, *_ = one_series()
    with pytest.raises(NotImplementedError, match="learns no sensor graph"):
        NoGraph.from_params({"device": "cpu"}).fit(series.windows).window_graphs(series.windows)


def test_the_graph_nodes_are_in_the_pipelines_of_graph_learning_detectors_only():
    methods = {"flowdouble": {"model": {"detector": f"{__name__}.KnownGraph"}}, "pca": {}}
    assert learns_graph("flowdouble", methods, {}, "swat") and not learns_graph("pca", methods, {}, "swat")
    # a dataset may pick another class for a method
    per_dataset = {"swat": {"methods": {"pca": {"model": {"detector": f"{__name__}.KnownGraph"}}}}}
    assert learns_graph("pca", methods, per_dataset, "swat")
    graph = model_pipeline("flowdouble", "swat", "zero_label", graph=True)
    assert {"swat.flowdouble.zero_label.sensor_graph", "swat.flowdouble.zero_label.sensor_graph_plot"} <= \
        graph.all_outputs()
    assert not any("sensor_graph" in name for name in model_pipeline("pca", "swat").all_outputs())
