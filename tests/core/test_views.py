"""Views of windows: the cosine matrices a multimodal detector reads."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tsad.core.views import cosine_matrices


@settings(deadline=None, max_examples=50)
@given(arrays(np.float32, st.tuples(st.integers(1, 4), st.integers(2, 8), st.integers(1, 5)),
              elements=st.floats(-10, 10, width=32)))
def test_cosine_matrices_are_the_channels_cosines(batch):
    out = cosine_matrices(torch.from_numpy(batch)).numpy()
    for window, matrix in zip(batch.astype(np.float64), out):  # per window, as MGAN's public code computes it
        norms = np.linalg.norm(window, axis=0)
        np.testing.assert_allclose(matrix, window.T @ window / (np.outer(norms, norms) + 1e-10), atol=1e-6)
    np.testing.assert_allclose(out, out.transpose(0, 2, 1), atol=1e-6)
    assert (np.abs(out) <= 1 + 1e-5).all()


def test_a_zero_channel_has_a_zero_row_and_a_constant_one_stays_finite():
    window = np.random.default_rng(0).random((1, 12, 4)).astype(np.float32)
    window[0, :, 1] = 0.0
    window[0, :, 2] = 0.5
    out = cosine_matrices(torch.from_numpy(window)).numpy()[0]
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[1], 0.0)
    np.testing.assert_array_equal(out[:, 1], 0.0)
    np.testing.assert_allclose(np.diag(out)[[0, 2, 3]], 1.0, atol=1e-6)
