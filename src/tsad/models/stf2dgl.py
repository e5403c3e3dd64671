"""STF²-DGL: spatio-temporal fusion flow with dynamic graph learning (../shared/docs/methods.md §5.1).

No paper or code of STF²-DGL was found; this is the composition §5.1 suggests from its verified relatives (GANF,
MTGFlow, USD), and every choice is ours, a parameter with a documented default:

- Multi-scale temporal encoder: one LSTM(1 → H) per dilation d in ``dilations`` (1, 2, 4), each shared by all sensors
  and run causally over the d interleaved sub-series of each sensor's window (step t reads t − d, t − 2d, ...: a
  dilated RNN), all sensors, windows and phases at once; the scales are concatenated and fused by a Linear to H = 32
  per (sensor, step).
- Dynamic graph per window from the FUSED embeddings: per-step query and key projections, scores summed over the
  steps (the dot product of the flattened embeddings, projection shared by the steps) and scaled, softmax over the
  source sensor (columns sum to 1), dropout while training. Optionally mixed with a learned static graph:
  ``A = (1 − w)·A_dynamic + w·A_static``, A_static ∈ [0, 1] as GANF's (xavier-uniform absolute init, zero diagonal,
  clamped after each step, no weight decay), column-normalised before mixing. ``static_graph_weight`` w is 0 by
  default: the graph is purely dynamic, as MTGFlow's.
- Flow: MTGFlow's entity-aware conditional MAF, conditioned on GANF's graph convolution of the fused embeddings.
- Loss: ``−mean log p + graph_weight · R(A)`` with R ``entropy`` (mean entropy of A's columns over the batch: favours
  graphs where each sensor listens to few others; the default, λ_g = 0.01), ``dag`` (NOTEARS' penalty of the static
  part; needs w > 0) or ``none``; plus, with ``contrastive_weight`` > 0, USD's soft-contrastive term (§5.4, below).
- Score: ``−mean_{k,t} log p`` of the window.

USD's soft-contrastive term (off by default): each training window is mixed with a neighbour,
``x_aug = a·x + (1 − a)·x_nb`` with ``a ~ U(0, mixup_alpha)``, the neighbour drawn uniformly from the
``knn_neighbours`` nearest training windows by their last rows (exact ``torch.cdist`` of the batch's last rows
against all training windows' last rows; USD searches the rows with NNDescent and mixes each row with a neighbour
row). Both go through the flow (NLL over [x; x_aug]); a projection head (time-averaged GNN output per sensor,
flattened, Linear → ReLU → Linear to ``projection_size``) gives latents, and the loss adds
``contrastive_weight · (L_pos + contrastive_negative_weight · L_neg)``: two-way BCE between Student-t similarities P
of the originals in input space (ν = 100) and Q between original and augmented latents (ν = 0.01), on the diagonal
pairs (L_pos, ×½) and the off-diagonal ones (L_neg, ×½). Squared distances are averaged over the dimensions (USD's
sums give similarities that underflow to 0 for windows of a few thousand values).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from tsad.models.graph_flows import (
    ConditionalMAF,
    GraphConvolution,
    GraphFlowConfig,
    GraphFlowDetector,
    column_normalised_attention,
    dag_penalty,
    entity_means,
)

_REGULARISERS = ("entropy", "dag", "none")
_NU_INPUT, _NU_LATENT = 100.0, 0.01  # USD's Student-t degrees of freedom (input space, latent space)


@dataclasses.dataclass
class Stf2dglConfig(GraphFlowConfig):
    """STF²-DGL options (all ours; defaults documented in conf/base/parameters/methods/stf2dgl.yml).

    Attributes:
        dilations: One causal LSTM per dilation (the multi-scale temporal encoder).
        graph_dropout: Dropout on the dynamic graph while training (MTGFlow's 0.2).
        static_graph_weight: w in ``A = (1 − w)·A_dynamic + w·A_static``, in [0, 1]; 0: purely dynamic.
        exclude_self: No sensor sends itself a message (both graphs' diagonals 0): a value's density is conditioned
            on the other sensors at t and on its own past, never on a state that has read the value itself.
        graph_regularizer: ``entropy`` (mean column entropy of A), ``dag`` (NOTEARS on the static part; needs
            static_graph_weight > 0) or ``none``.
        graph_weight: λ_g, the regulariser's weight.
        entity_aware: MTGFlow's base N(μ_k, 1), μ_k ~ N(0, 1) from the seed; false: N(0, 1).
        contrastive_weight: Weight of USD's soft-contrastive term (its w_po); 0 turns it and the augmentation off.
        contrastive_negative_weight: Weight of the negative pairs relative to the positive ones (USD's w_ne / w_po).
        knn_neighbours: The mixup partner is one of this many nearest training windows (USD's k, 10).
        mixup_alpha: ``a ~ U(0, mixup_alpha)`` weighs the window against its neighbour (USD's default 0.5).
        projection_size: Width of the contrastive latent (USD's 100).
    """

    dilations: list[int] = dataclasses.field(default_factory=lambda: [1, 2, 4])
    graph_dropout: float = 0.2
    static_graph_weight: float = 0.0
    exclude_self: bool = True
    graph_regularizer: str = "entropy"
    graph_weight: float = 0.01
    entity_aware: bool = True
    contrastive_weight: float = 0.0
    contrastive_negative_weight: float = 5.0
    knn_neighbours: int = 10
    mixup_alpha: float = 0.5
    projection_size: int = 100


class MultiScaleEncoder(nn.Module):
    """Causal dilated LSTMs over each sensor's series, fused per (sensor, step) by a Linear."""

    def __init__(self, hidden: int, dilations: list[int]):
        super().__init__()
        self.dilations = list(dilations)
        self.rnns = nn.ModuleList(nn.LSTM(1, hidden, batch_first=True) for _ in self.dilations)
        self.fuse = nn.Linear(hidden * len(self.dilations), hidden)

    def forward(self, series: torch.Tensor) -> torch.Tensor:
        """Embeddings (N, K, L, H) of sensor series (N, K, L)."""
        n, k, length = series.shape
        flat = series.reshape(n * k, length)
        scales = [dilated_lstm(rnn, flat, dilation) for rnn, dilation in zip(self.rnns, self.dilations, strict=True)]
        return self.fuse(torch.cat(scales, dim=-1)).reshape(n, k, length, -1)


def dilated_lstm(rnn: nn.LSTM, series: torch.Tensor, dilation: int) -> torch.Tensor:
    """States (M, L, H) of an LSTM run over series (M, L) at ``dilation``: step t's state has read t, t − d, ...

    The series is left-padded with zeros to a multiple of d and cut into its d interleaved phases, which run as
    M·d sequences of one LSTM call.
    """
    m, length = series.shape
    pad = (-length) % dilation
    steps = (length + pad) // dilation
    phases = F.pad(series, (pad, 0)).reshape(m, steps, dilation).transpose(1, 2).reshape(m * dilation, steps, 1)
    h, _ = rnn(phases)
    return h.reshape(m, dilation, steps, -1).transpose(1, 2).reshape(m, steps * dilation, -1)[:, pad:]


class Stf2dglNet(nn.Module):
    """Multi-scale encoder, dynamic (and static) graph, GNN, entity-aware conditional MAF, projection head."""

    def __init__(self, channels: int, config: Stf2dglConfig):
        super().__init__()
        hidden = config.hidden_size
        self.static_weight = config.static_graph_weight
        self.exclude_self = config.exclude_self
        self.encoder = MultiScaleEncoder(hidden, config.dilations)
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.graph_dropout = nn.Dropout(config.graph_dropout)
        static = nn.init.xavier_uniform_(torch.empty(channels, channels)).abs().fill_diagonal_(0.0)
        self.static_graph = nn.Parameter(static)
        self.gcn = GraphConvolution(hidden)
        means = entity_means(channels, config.seed) if config.entity_aware else torch.zeros(channels)
        self.flow = ConditionalMAF(config.n_blocks, hidden, hidden, means, config.unmasked_input)
        self.projection = nn.Sequential(nn.Linear(channels * hidden, config.projection_size), nn.ReLU(),
                                        nn.Linear(config.projection_size, config.projection_size))

    def graph(self, embeddings: torch.Tensor) -> torch.Tensor:
        """The per-window graph (N, K, K) of fused embeddings (N, K, L, H)."""
        dynamic = self.graph_dropout(column_normalised_attention(embeddings, self.query, self.key, self.exclude_self))
        if self.static_weight == 0:
            return dynamic
        static = self.static_graph
        if self.exclude_self and len(static) > 1:
            static = static * (1 - torch.eye(len(static), device=static.device))
        static = static / (static.sum(dim=0, keepdim=True) + 1e-8)
        return (1 - self.static_weight) * dynamic + self.static_weight * static

    def forward(self, windows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """log p (N, K, L), graph (N, K, K) and graph-aggregated embeddings (N, K, L, H) of windows (N, L, K)."""
        series = windows.transpose(1, 2)
        embeddings = self.encoder(series)
        graph = self.graph(embeddings)
        condition = self.gcn(embeddings, graph)
        return self.flow.log_prob(series, condition), graph, condition

    def latent(self, condition: torch.Tensor) -> torch.Tensor:
        """Contrastive latents (N, P): the time-averaged condition of every sensor, flattened, projected."""
        return self.projection(condition.mean(dim=2).flatten(1))


class Stf2dglDetector(GraphFlowDetector):
    """STF²-DGL: multi-scale encoder, dynamic graph from the fused embeddings, entity-aware flow."""

    name = "stf2dgl"
    config_class = Stf2dglConfig
    config: Stf2dglConfig

    @classmethod
    def test_config(cls) -> Stf2dglConfig:
        return Stf2dglConfig(device="cpu", epochs=3, batch_size=128, hidden_size=8, dilations=[1, 2], progress=False)

    def _build(self) -> dict[str, nn.Module]:
        c = self.config
        if not c.dilations or min(c.dilations) < 1:
            raise ValueError(f"dilations must be a non-empty list of integers >= 1, got {c.dilations}")
        if not 0.0 <= c.static_graph_weight <= 1.0:
            raise ValueError(f"static_graph_weight must be in [0, 1], got {c.static_graph_weight}")
        if c.graph_regularizer not in _REGULARISERS:
            raise ValueError(f"unknown graph_regularizer {c.graph_regularizer!r}; use one of {list(_REGULARISERS)}")
        if c.graph_regularizer == "dag" and c.static_graph_weight == 0:
            raise ValueError("graph_regularizer: dag penalises the static graph, which static_graph_weight: 0 leaves "
                             "out; set static_graph_weight > 0 or choose another graph_regularizer")
        if c.contrastive_weight > 0 and c.knn_neighbours < 1:
            raise ValueError(f"knn_neighbours must be >= 1, got {c.knn_neighbours}")
        return {"stf2dgl": Stf2dglNet(self.n_channels_, c)}

    def _fit(self, windows_train: np.ndarray, windows_val: np.ndarray | None) -> None:
        k = self.config.knn_neighbours
        if self.config.contrastive_weight > 0 and len(windows_train) <= k:
            raise ValueError(f"the contrastive term mixes each window with one of its {k} nearest training windows "
                             f"(knn_neighbours): {len(windows_train)} windows are too few")
        # The mixup's neighbour bank, for the training only: the windows and their last rows on the device.
        self.train_windows_ = windows_train
        self.last_rows_ = torch.from_numpy(np.array(windows_train[:, -1, :], dtype=np.float32)).to(self.device_)
        try:
            super()._fit(windows_train, windows_val)
        finally:
            self.train_windows_ = self.last_rows_ = None

    def _log_prob(self, batch: torch.Tensor) -> torch.Tensor:
        return self.modules_["stf2dgl"](batch)[0]

    def _graphs(self, batch: torch.Tensor) -> torch.Tensor:
        return self.modules_["stf2dgl"](batch)[1]

    def _weight_decay_free(self) -> list[nn.Parameter]:
        return [self.modules_["stf2dgl"].static_graph]

    def _after_step(self) -> None:
        with torch.no_grad():
            self.modules_["stf2dgl"].static_graph.clamp_(0.0, 1.0)

    def _losses(self, batch: torch.Tensor, epoch: int) -> dict[str, torch.Tensor]:
        c = self.config
        net = self.modules_["stf2dgl"]
        if c.contrastive_weight > 0:
            batch = torch.cat([batch, self._mixup(batch)])
        log_prob, graph, condition = net(batch)
        losses = {"nll": -log_prob.mean()}
        if c.graph_regularizer == "entropy":
            losses["graph"] = c.graph_weight * -(graph * torch.log(graph.clamp_min(1e-12))).sum(dim=1).mean()
        elif c.graph_regularizer == "dag":
            losses["graph"] = c.graph_weight * dag_penalty(net.static_graph)
        if c.contrastive_weight > 0:
            half = len(batch) // 2
            latent = net.latent(condition)
            positive, negative = soft_contrastive(batch[:half], latent[:half], latent[half:])
            losses["contrastive"] = c.contrastive_weight * (positive + c.contrastive_negative_weight * negative)
        return losses

    def _mixup(self, batch: torch.Tensor) -> torch.Tensor:
        """Each window mixed with one of its ``knn_neighbours`` nearest training windows (by last rows)."""
        c = self.config
        distances = torch.cdist(batch[:, -1, :], self.last_rows_)  # exact; (B, N_train)
        nearest = distances.topk(c.knn_neighbours + 1, dim=1, largest=False).indices[:, 1:]  # the first is itself
        rank = torch.randint(c.knn_neighbours, (len(batch), 1), device=batch.device)
        chosen = nearest.gather(1, rank).squeeze(1).cpu().numpy()
        neighbours = torch.from_numpy(self.train_windows_[chosen]).to(batch.device)
        a = torch.rand(len(batch), 1, 1, device=batch.device) * c.mixup_alpha
        return a * batch + (1 - a) * neighbours

    def artifacts(self) -> dict[str, pd.DataFrame]:
        """The learned static graph (channels × channels, by channel position) when it is mixed in; else none."""
        if self.window_ is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted")
        if self.config.static_graph_weight == 0:
            return {}
        graph = self.modules_["stf2dgl"].static_graph.detach().double().cpu().numpy()
        labels = [str(k) for k in range(len(graph))]  # Parquet wants string column names
        return {"static_graph": pd.DataFrame(graph, index=labels, columns=labels)}


def student_t_similarity(squared_distance: torch.Tensor, nu: float) -> torch.Tensor:
    """``(1 + d/ν)^(−(ν+1)/2)``: 1 at distance 0, falling with heavier tails for small ν."""
    return (1 + squared_distance / nu).pow(-(nu + 1) / 2)


def soft_contrastive(windows: torch.Tensor, latent: torch.Tensor, latent_augmented: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """USD's two-way BCE between input-space similarities P of the windows and latent similarities Q of
    (original, augmented) pairs: the diagonal pairs' mean (positive) and the off-diagonal pairs' mean (negative),
    each ×½. Squared distances are means over the dimensions."""
    flat = windows.flatten(1)
    p = student_t_similarity(torch.cdist(flat, flat).square() / flat.shape[1], _NU_INPUT)
    q = student_t_similarity(torch.cdist(latent, latent_augmented).square() / latent.shape[1], _NU_LATENT)
    q = q.clamp(1e-6, 1 - 1e-6)
    bce = -(p * torch.log(q) + (1 - p) * torch.log(1 - q))
    diagonal = torch.eye(len(windows), dtype=torch.bool, device=windows.device)
    negative = bce[~diagonal].mean() if len(windows) > 1 else bce.new_zeros(())
    return 0.5 * bce[diagonal].mean(), 0.5 * negative
