"""Choosing the torch device: CUDA when present, the CPU otherwise."""

from __future__ import annotations


def resolve_device(requested: str = "auto") -> str:
    """``"auto"`` gives ``"cuda"`` when torch sees a GPU, else ``"cpu"``; any other value is checked and kept."""
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {requested!r} was requested but torch sees no CUDA device")
    return requested
