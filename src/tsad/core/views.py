"""Named views of a batch of windows, besides the values themselves, computed on the batch's device.

A detector declares the views it reads (``Detector.views``) and gets them per batch from
``Detector.window_views``, so a method that reads a window in several modalities needs no change to the stage
pipelines, and no view is ever materialised for the whole series. Each view is a function of a (B, W, C) float
tensor; registering one is one entry in ``VIEWS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the views take tensors; importing this module must not import torch
    import torch


def cosine_matrices(batch: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """(B, C, C) cosine similarities between the channels of each window, each channel a W-vector, not centred:
    C(X) = XᵀX / (‖x_i‖ ‖x_j‖ + eps) (MGAN's inter-variable modality, methods.md §2.2, with its 1e-10 guard), so a
    channel that is all zeros has similarity 0 to every channel. One batched matrix product per batch."""
    norms = batch.norm(dim=1)  # (B, C)
    return (batch.transpose(1, 2) @ batch) / (norms.unsqueeze(2) * norms.unsqueeze(1) + eps)


VIEWS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"cosine": cosine_matrices}
