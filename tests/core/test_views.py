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
    norms = np.linalg.norm(batch, axis=1)  # (B, C)
    expected = np.einsum("bwi,bwj->bij", batch, batch) / np.maximum(norms, 1e-8)[:, :, None] / np.maximum(
        norms, 1e-8)[:, None, :]
    np.testing.assert_allclose(out, expected, atol=1e-4)
    np.testing.assert_allclose(out, out.transpose(0, 2, 1), atol=1e-6)
    assert (np.abs(out) <= 1 + 1e-5).all()
