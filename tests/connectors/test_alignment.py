"""Parties' rows matched on their timestamps (``tsad.connectors.alignment``)."""

import numpy as np
import pandas as pd
import pytest

from tsad.connectors.alignment import align_parties


def test_an_unaligned_party_is_aligned_and_its_dropped_rows_counted():
    index = pd.date_range("2024-01-01", periods=20, freq="1s")
    utility = pd.DataFrame({"a": np.arange(20.0)}, index=index)
    contractor = pd.DataFrame({"b": np.arange(20.0) * 10}, index=index).drop(index[[3, 7, 8]])  # rows it lacks
    vendor = pd.DataFrame({"c": -np.arange(20.0)}, index=index + pd.Timedelta("200ms"))  # its clock is late
    aligned, dropped = align_parties({"utility": utility, "contractor": contractor, "vendor": vendor}, "500ms")
    assert dropped == {"utility": 3, "contractor": 0, "vendor": 3}
    assert list(aligned.columns) == ["a", "b", "c"] and len(aligned) == 17
    np.testing.assert_array_equal(aligned["b"], aligned["a"] * 10)
    np.testing.assert_array_equal(aligned["c"], -aligned["a"])
    exact, dropped = align_parties({"utility": utility, "vendor": vendor})  # no tolerance: no timestamp matches
    assert exact.empty and dropped == {"utility": 20, "vendor": 20}


def test_steps_align_exactly_and_a_tolerance_needs_timestamps():
    utility = pd.DataFrame({"a": np.arange(5.0)}, index=pd.Index(np.arange(5), name="step"))
    vendor = pd.DataFrame({"b": np.arange(4.0)}, index=pd.Index(np.arange(1, 5), name="step"))
    aligned, dropped = align_parties({"utility": utility, "vendor": vendor})
    assert list(aligned.index) == [1, 2, 3, 4] and dropped == {"utility": 1, "vendor": 0}
    with pytest.raises(ValueError, match="party 'utility': a tolerance needs timestamps"):
        align_parties({"utility": utility, "vendor": vendor}, "1s")
