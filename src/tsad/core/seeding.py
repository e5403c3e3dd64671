"""One place that seeds every random number generator a run uses."""

from __future__ import annotations

import random

import numpy as np


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) and ask torch for deterministic kernels where it can."""
    import torch  # noqa: PLC0415 - torch on first use: the config loader imports this module

    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002  (third-party code may still use the legacy global generator)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
