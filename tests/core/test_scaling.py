import numpy as np
import pytest

from tsad.core.scaling import apply_scaler, fit_scaler


@pytest.mark.parametrize("method", ["minmax", "zscore"])
def test_statistics_come_from_training_rows_only(train_frame, test_frame, method):
    scaler = fit_scaler(train_frame, method)
    wild_test = test_frame.copy()
    wild_test["c0"] *= 1000  # whatever the test data does, the scaler is the training one
    assert fit_scaler(train_frame, method) == scaler
    scaled_train = apply_scaler(train_frame, scaler)
    values = scaled_train[scaler["columns"]].to_numpy(dtype=np.float64)
    if method == "minmax":
        np.testing.assert_allclose(values.min(0), 0, atol=1e-6)
        np.testing.assert_allclose(values.max(0), 1, atol=1e-6)
    else:
        np.testing.assert_allclose(values.mean(0), 0, atol=1e-5)
        np.testing.assert_allclose(values.std(0), 1, atol=1e-4)
    scaled_test = apply_scaler(wild_test, scaler)
    assert scaled_test["c0"].abs().max() > 10  # not re-fitted on test data
    assert "label" in scaled_test.columns and scaled_test["label"].equals(wild_test["label"])


def test_constant_channel_gets_unit_scale(train_frame):
    frame = train_frame.assign(c1=np.float32(4.0))
    scaler = fit_scaler(frame)
    assert scaler["scale"][1] == 1.0
    assert (apply_scaler(frame, scaler)["c1"] == 0).all()
