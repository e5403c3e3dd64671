"""GANF: Graph-Augmented Normalizing Flows (Dai & Chen, ICLR 2022; ../shared/docs/methods.md §5.2).

A shared LSTM(1 → 32) reads each sensor's series of the window; a graph convolution mixes the sensors' states along
one static learnable adjacency ``A ∈ [0, 1]^{K×K}`` (entry [k, j]: sensor k's influence on j); a conditional MAF gives
``log p(x_{k,t} | c_{k,t})`` under N(0, 1) (blocks in ``tsad.models.graph_flows``). The loss is
``−mean log p + ½ρ·h(A)² + α·h(A)`` with NOTEARS' ``h(A) = tr(exp(A∘A)) − K``, so that A is driven to a DAG;
the score of a window is ``−mean_{k,t} log p``. Adam lr 2e-3, weight decay 5e-4 on the network and none on A,
gradients of the network clipped to ±1, A clamped to [0, 1] after each step, initialised xavier-uniform, absolute,
zero diagonal (the public ``train_water.py``).

The augmented Lagrangian, epoch by epoch. The original runs (with ``n_epochs = 1``)::

    for outer in range(max_iter):                  # 20
        while rho < rho_max:                       # 1e16
            train one epoch (a fresh Adam)
            if h > 0.5 * h_old: rho *= 10 else: break
        h_old = h; alpha += rho * h
        if h_old <= h_tol or rho >= rho_max: break # 1e-4
    train 30 more epochs (ρ and α fixed)

Here each epoch of the shared loop is one pass of that inner loop: after the epoch, ``h(A)`` of the clamped A decides
(ρ ×10 and another epoch of the same outer iteration; else, or once ρ reaches ``rho_max``, α += ρh and the next outer
iteration), until ``h ≤ h_tol``, ``ρ ≥ rho_max`` or ``max_iter`` outer iterations; the remaining epochs keep ρ and α
fixed (the original's 30 more: ``epochs`` is the total, 50 by default). ρ, α, h_old, the outer iteration and whether
the Lagrangian has ended are buffers of the ``lagrangian`` module, so each epoch's checkpoint holds them and a resumed
run continues exactly. Deviations: h is that of A after the epoch (the original keeps the last batch's, computed
before its step); one Adam is kept throughout (the original starts a fresh one for every inner epoch); the epoch
kept is the one with the lowest validation loss, which is the validation NLL plus the penalty under the updated ρ and
α (the original picks the lowest validation NLL among its last 30 epochs), so an epoch whose A is still far from a
DAG is not preferred.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from tsad.models.graph_flows import (
    ConditionalMAF,
    GraphConvolution,
    GraphFlowConfig,
    GraphFlowDetector,
    dag_penalty,
    sensor_lstm,
)


@dataclasses.dataclass
class GanfConfig(GraphFlowConfig):
    """GANF options (defaults documented in conf/base/parameters/methods/ganf.yml).

    Attributes:
        rho_init: Initial ρ of the augmented Lagrangian (1).
        alpha_init: Initial α (0).
        rho_max: ρ at which the Lagrangian stops (1e16).
        h_tol: Acyclicity ``h(A)`` at which it stops (1e-4).
        max_iter: Most outer iterations (updates of α) (20).
    """

    epochs: int = 50
    batch_size: int = 512
    rho_init: float = 1.0
    alpha_init: float = 0.0
    rho_max: float = 1e16
    h_tol: float = 1e-4
    max_iter: int = 20


class GanfNet(nn.Module):
    """LSTM, GNN over the static graph A, conditional MAF under N(0, 1)."""

    def __init__(self, channels: int, hidden: int, n_blocks: int, unmasked_input: bool):
        super().__init__()
        self.rnn = nn.LSTM(1, hidden, batch_first=True)
        self.gcn = GraphConvolution(hidden)
        self.flow = ConditionalMAF(n_blocks, hidden, hidden, torch.zeros(channels), unmasked_input)
        graph = nn.init.xavier_uniform_(torch.empty(channels, channels)).abs().fill_diagonal_(0.0)
        self.graph = nn.Parameter(graph)

    def log_prob(self, windows: torch.Tensor) -> torch.Tensor:
        series = windows.transpose(1, 2)  # (N, K, L)
        return self.flow.log_prob(series, self.gcn(sensor_lstm(self.rnn, series), self.graph))


class Lagrangian(nn.Module):
    """The augmented Lagrangian's state, as buffers (checkpointed with the modules)."""

    def __init__(self, rho: float, alpha: float):
        super().__init__()
        for name, value in (("rho", rho), ("alpha", alpha), ("h_old", float("inf")), ("h", float("nan")),
                            ("outer_iteration", 0.0), ("finished", 0.0)):
            self.register_buffer(name, torch.tensor(value, dtype=torch.float64))


class GanfDetector(GraphFlowDetector):
    """GANF: a static learned sensor graph pushed to a DAG; score ``−mean log p`` of the window."""

    name = "ganf"
    config_class = GanfConfig
    config: GanfConfig

    @classmethod
    def test_config(cls) -> GanfConfig:
        return GanfConfig(device="cpu", epochs=3, batch_size=128, hidden_size=8, progress=False)

    def _build(self) -> dict[str, nn.Module]:
        c = self.config
        return {"ganf": GanfNet(self.n_channels_, c.hidden_size, c.n_blocks, c.unmasked_input),
                "lagrangian": Lagrangian(c.rho_init, c.alpha_init)}

    def _log_prob(self, batch: torch.Tensor) -> torch.Tensor:
        return self.modules_["ganf"].log_prob(batch)

    def _graphs(self, batch: torch.Tensor) -> torch.Tensor:
        return self.modules_["ganf"].graph.expand(len(batch), -1, -1)

    def _weight_decay_free(self) -> list[nn.Parameter]:
        return [self.modules_["ganf"].graph]

    def _after_step(self) -> None:
        with torch.no_grad():
            self.modules_["ganf"].graph.clamp_(0.0, 1.0)

    def _losses(self, batch: torch.Tensor, epoch: int) -> dict[str, torch.Tensor]:
        state = self.modules_["lagrangian"]
        h = dag_penalty(self.modules_["ganf"].graph)
        return super()._losses(batch, epoch) | {"lagrangian": 0.5 * state.rho.float() * h * h + state.alpha.float() * h}

    def _validation_loss(self, batch: torch.Tensor, epoch: int) -> torch.Tensor:
        state = self.modules_["lagrangian"]
        h = dag_penalty(self.modules_["ganf"].graph)
        return super()._validation_loss(batch, epoch) + 0.5 * state.rho.float() * h * h + state.alpha.float() * h

    def _run_epoch(self, windows: np.ndarray, epoch: int, path: Path | None) -> dict[str, float]:
        losses = super()._run_epoch(windows, epoch, path)
        state = self.modules_["lagrangian"]
        with torch.no_grad():
            h = dag_penalty(self.modules_["ganf"].graph.double())
        state.h.fill_(h)
        if not state.finished:
            self._update_lagrangian(state, float(h))
        return losses | {"dag_h": float(h), "rho": float(state.rho), "alpha": float(state.alpha)}

    def _update_lagrangian(self, state: Lagrangian, h: float) -> None:
        """One inner pass of the original's loop ended with acyclicity ``h``: raise ρ, or update α (module doc)."""
        c = self.config
        if h > 0.5 * float(state.h_old):
            state.rho.mul_(10.0)
            if float(state.rho) < c.rho_max:
                return  # another epoch of this outer iteration
        state.h_old.fill_(h)
        state.alpha.add_(state.rho * h)
        state.outer_iteration.add_(1.0)
        if h <= c.h_tol or float(state.rho) >= c.rho_max or int(state.outer_iteration) >= c.max_iter:
            state.finished.fill_(1.0)

    def artifacts(self) -> dict[str, pd.DataFrame]:
        """The learned graph A (channels × channels, by channel position): entry [k, j] is sensor k's influence on j."""
        if self.window_ is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted")
        graph = self.modules_["ganf"].graph.detach().double().cpu().numpy()
        labels = [str(k) for k in range(len(graph))]  # Parquet wants string column names
        return {"graph": pd.DataFrame(graph, index=labels, columns=labels)}
