import numpy as np
import pandas as pd
import pytest

from tsad.core import cleaning
from tsad.core.errors import DataFormatError
from tsad.core.frames import GAP, channel_columns, validate_typed_frame


def test_non_finite_values_stop_with_column_and_row(train_frame):
    frame = train_frame.copy()
    frame.iloc[17, 2] = np.inf
    frame.attrs = {"source": "plant.csv"}
    with pytest.raises(DataFormatError, match=r"plant.csv: column 'c2', row 17"):
        cleaning.fill_non_finite(frame, "training data", "error")


def test_fill_is_bounded_and_counted(train_frame):
    frame = train_frame.copy()
    frame.iloc[[0, 5, 6], 1] = np.nan
    filled, counts = cleaning.fill_non_finite(frame, "training data", "fill", max_fill_fraction=0.01)
    assert counts == {"c1": 3}
    assert np.isfinite(filled["c1"]).all()
    assert filled["c1"].iloc[5] == frame["c1"].iloc[4] and filled["c1"].iloc[0] == frame["c1"].iloc[1]
    assert frame["c1"].isna().sum() == 3  # the input is not mutated
    frame.iloc[:100, 1] = np.nan
    with pytest.raises(DataFormatError, match=r"more than cleaning.max_fill_fraction \(0.01\) allows; raise "
                                              r"cleaning.max_fill_fraction, or set cleaning.nan_policy: drop"):
        cleaning.fill_non_finite(frame, "training data", "fill", max_fill_fraction=0.01)


def test_drop_removes_the_rows_and_marks_the_row_after_each_dropped_stretch(train_frame):
    frame = train_frame.iloc[:12].copy()
    frame.iloc[[0, 4, 5], 1] = np.nan
    frame.iloc[9, 3] = -np.inf
    dropped, counts = cleaning.apply_nan_policy(frame, "training data", "drop")
    assert counts == {"rows": 4, "stretches": 3}
    assert dropped.index.equals(frame.index[[1, 2, 3, 6, 7, 8, 10, 11]])
    # the leading stretch leaves nothing before it to cut from; each later one marks the row after it
    assert dropped[GAP].tolist() == [0, 0, 0, 1, 0, 0, 1, 0] and dropped[GAP].dtype == np.int8
    assert channel_columns(dropped) == channel_columns(frame)
    validate_typed_frame(dropped, "dropped")
    with pytest.raises(DataFormatError, match="column 'gap_before' is reserved"):  # a channel of that name
        validate_typed_frame(frame.assign(**{GAP: np.float32(0)}), "raw")
    again, counts = cleaning.apply_nan_policy(dropped, "test data", "drop")  # marks kept, nothing more to drop
    assert counts == {} and again[GAP].tolist() == dropped[GAP].tolist()
    assert "dropped 4 rows with a non-finite value in 3 stretch(es)" in \
        cleaning.describe_nan_treatment("training data", "drop", {"rows": 4, "stretches": 3})


def test_drop_of_every_row_and_an_unknown_policy_are_refused(train_frame):
    frame = train_frame.iloc[:5].copy()
    frame.iloc[:, 0] = np.nan
    with pytest.raises(DataFormatError, match="every row has a non-finite value; cleaning.nan_policy: drop leaves"):
        cleaning.apply_nan_policy(frame, "training data", "drop")
    with pytest.raises(DataFormatError, match="set cleaning.nan_policy to 'fill' .* or to 'drop'"):
        cleaning.apply_nan_policy(frame, "training data", "error")
    with pytest.raises(ValueError, match=r"unknown nan_policy 'skip'; use one of \['error', 'fill', 'drop'\]"):
        cleaning.apply_nan_policy(frame, "training data", "skip")


def test_downsampling_keeps_a_gap_inside_a_block():
    frame = pd.DataFrame({"a": np.arange(20, dtype=np.float32), GAP: np.zeros(20, dtype=np.int8)})
    frame.iloc[13, 1] = 1
    assert cleaning.downsample_median(frame, 10)[GAP].tolist() == [0, 1]


def test_constant_channels(train_frame):
    assert cleaning.constant_channels(train_frame.assign(c3=np.float32(1))) == ["c3"]


def test_gdn_downsample_takes_block_median_and_label_max():
    index = pd.date_range("2021-01-01", periods=25, freq="s")
    frame = pd.DataFrame({"a": np.arange(25, dtype=np.float32), "label": np.zeros(25, dtype=np.int8)}, index=index)
    frame.iloc[13, 1] = 1
    out = cleaning.downsample_median(frame, 10)
    assert list(out["a"]) == [4.5, 14.5] and list(out["label"]) == [0, 1]
    assert list(out.index) == [index[0], index[10]]


def test_drop_head_by_duration_and_rows(train_frame):
    assert len(cleaning.drop_head(train_frame, "10min")) == len(train_frame) - 600
    assert len(cleaning.drop_head(train_frame, 50)) == len(train_frame) - 50
    with pytest.raises(DataFormatError, match="leaves no rows"):
        cleaning.drop_head(train_frame, "1D")


def test_typed_frame_contract(train_frame):
    validate_typed_frame(train_frame, "x")
    with pytest.raises(DataFormatError, match="duplicated index at row 3"):
        validate_typed_frame(train_frame.iloc[[0, 1, 2, 2, 3]], "x")
    with pytest.raises(DataFormatError, match="unsorted index at row 2"):
        validate_typed_frame(train_frame.iloc[[0, 2, 1]], "x")
    with pytest.raises(DataFormatError, match="'label', row 4"):
        validate_typed_frame(train_frame.assign(label=np.where(np.arange(len(train_frame)) == 4, 3, 0)), "x")
    with pytest.raises(DataFormatError, match="no rows"):
        validate_typed_frame(train_frame.iloc[:0], "x")


def test_evidence_channels_by_pattern_or_by_whole_value():
    values = {"P101": 1.0, "PIT501": 0.0, "MV201": {"a": 0.0, "b": 2.0}, "AIT201": 7.25}
    assert cleaning.evidence_channels(values, ["P[0-9]*", "MV*"]) == ["P101", "MV201"]  # not the gauge PIT501
    assert cleaning.evidence_channels(values, "discrete") == ["P101", "PIT501", "MV201"]
    assert cleaning.evidence_channels(values, []) == []
    with pytest.raises(ValueError, match="constant_evidence must be 'discrete' or a list"):
        cleaning.evidence_channels(values, "P*")
