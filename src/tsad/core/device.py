"""Choosing the torch device: CUDA when present, the CPU otherwise."""

from __future__ import annotations

import functools


def resolve_device(requested: str = "auto") -> str:
    """``"auto"`` gives ``"cuda"`` when torch sees a GPU, else ``"cpu"``; any other value is checked and kept."""
    import torch  # noqa: PLC0415 - torch on first use: the config loader imports this module

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {requested!r} was requested but torch sees no CUDA device")
    return requested


@functools.cache
def _default_threads() -> int:
    import torch  # noqa: PLC0415 - torch on first use: the config loader imports this module

    return torch.get_num_threads()  # torch's own default, read once: one thread per physical core


def use_threads(threads: int | None = None) -> int:
    """Set the CPU threads torch computes with and return the count.

    Results depend on it: a reduction split over another number of threads adds its floats in another order. None
    gives torch's default for this machine (one thread per physical core), also after another count was set.
    """
    import torch  # noqa: PLC0415 - torch on first use: the config loader imports this module

    count = _default_threads() if threads is None else int(threads)
    if count < 1:
        raise ValueError(f"threads must be a positive count or null (one per physical core), got {threads}")
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    return count
