"""DistriTailNoise2Th, the Transformer repository's histogram-tail rule (../shared/docs/methods.md §3.6), without
its side effects (no input mutation, no plot) and with its bin offset as an option. The ``distri_tail_noise_2th``
strategy (``strategies.py``) uses it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tsad.core.thresholds.base import ThresholdError, check_scores


@dataclasses.dataclass(frozen=True)
class DistriTailNoiseOptions:
    """Options of DistriTailNoise2Th; the repository's names: difTh, avgNum, meanMulCoefficient, binNum, followNum.

    Attributes:
        dif_th: Smallest smoothed count difference that counts as the tail no longer falling.
        avg_num: Bins in the moving average of the differences.
        mean_mul_coefficient: Clip scores at this multiple of their mean.
        bin_num: Histogram bins.
        follow_num: Averages that must stay at or above ``dif_th``, the first included.
        bin_offset: ``original`` reproduces the repository, whose threshold is the upper edge of the first bin
            of the averaged window, ``avg_num`` bins left of the bin whose count made the average rise;
            ``aligned`` takes the lower edge of that bin.
        on_failure: ``error`` raises ThresholdError when no rise is found; ``max`` falls back to the largest
            (clipped) score, so that nothing of the fitting data is flagged.
    """

    dif_th: float = -5.0
    avg_num: int = 5
    mean_mul_coefficient: float = 100.0
    bin_num: int = 60
    follow_num: int = 4
    bin_offset: str = "aligned"
    on_failure: str = "error"

    def __post_init__(self) -> None:
        if self.bin_offset not in ("original", "aligned"):
            raise ValueError(f"bin_offset must be 'original' or 'aligned', got {self.bin_offset!r}")
        if self.on_failure not in ("error", "max"):
            raise ValueError(f"on_failure must be 'error' or 'max', got {self.on_failure!r}")
        if self.avg_num < 1 or self.follow_num < 1 or self.bin_num < self.avg_num + 3:
            raise ValueError(f"need avg_num >= 1, follow_num >= 1 and bin_num >= avg_num + 3, got {self.avg_num}, "
                             f"{self.follow_num}, {self.bin_num}")


def distri_tail_noise_threshold(scores: np.ndarray, options: DistriTailNoiseOptions) -> float:
    """The threshold where a bump starts in the tail of the label-free scores' histogram.

    Scores are clipped at ``mean_mul_coefficient`` times their mean (on a copy); their histogram has ``bin_num``
    bins; the first bin is dropped; the differences of consecutive counts are averaged over ``avg_num`` bins; the
    first average above ``dif_th`` whose next ``follow_num - 1`` averages are all at least ``dif_th`` marks the rise.

    Returns:
        A value v with flags ``scores >= v`` equal to the repository's ``scores > th``.

    Raises:
        ThresholdError: No rise is found and ``on_failure`` is ``error``.
    """
    scores = check_scores(scores)
    dif_th, avg_num, bin_num, follow_num = options.dif_th, options.avg_num, options.bin_num, options.follow_num
    clipped = np.minimum(scores, scores.mean() * options.mean_mul_coefficient)
    counts, edges = np.histogram(clipped, bins=bin_num)
    differences = np.diff(counts[1:].astype(np.float64))
    averaged = np.lib.stride_tricks.sliding_window_view(differences, avg_num).mean(axis=1)
    holds = np.concatenate((averaged >= dif_th, np.ones(follow_num - 1, dtype=bool)))
    sustained = np.lib.stride_tricks.sliding_window_view(holds, follow_num).all(axis=1)
    rises = np.flatnonzero((averaged > dif_th) & sustained)
    if len(rises) == 0:
        if options.on_failure == "max":
            return float(np.nextafter(clipped.max(), np.inf))
        raise ThresholdError(
            f"DistriTailNoise2Th found no rise in the tail of the histogram of {len(scores)} scores "
            f"(range {clipped.min():.6g} to {clipped.max():.6g}, {bin_num} bins): no moving average of {avg_num} "
            f"count differences exceeds dif_th={dif_th} for {follow_num} bins; raise dif_th, change bin_num, or set "
            "on_failure: max")
    first = int(rises[0])
    # averaged[i] spans the differences i .. i + avg_num - 1 of counts[1:], i.e. counts[i + 1 .. i + avg_num + 1].
    edge = first + 1 if options.bin_offset == "original" else min(first + avg_num + 1, bin_num)
    return float(np.nextafter(edges[edge], np.inf))
