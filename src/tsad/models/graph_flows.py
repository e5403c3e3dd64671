"""Building blocks of the graph normalizing flows (GANF, MTGFlow, STF²-DGL; ../shared/docs/methods.md §5).

All three model a window ``x ∈ R^{N×K×L}`` (N windows, K sensors, L steps) value by value: a recurrent encoder reads
each sensor's series, a graph convolution mixes the sensors' hidden states along a K×K graph, and a conditional masked
autoregressive flow (MAF) gives the density of each value ``x_{k,t}`` given the mixed state ``c_{k,t}``. The score of a
window is ``−mean_{k,t} log p(x_{k,t} | c_{k,t})``. Everything runs on whole batches: the LSTM over (N·K, L, 1), the
graph convolution as one einsum, the flow over all (window, sensor, step) values at once.

- ``ConditionalMAF``: GANF's MAF for one input (``input_size=1``): each block's MADE has one hidden layer (tanh, no
  batch-norm) fed by the condition, and outputs ``m`` and ``log a``; ``u = (x − m)·exp(−log a)``. The base is
  N(μ_k, 1) per sensor (μ = 0 in GANF; MTGFlow's entity-aware μ_k ~ N(0, 1), drawn once, kept as a buffer).
  With one input, MADE's masks must cut the value off from its own ``m`` and ``log a`` (the output has degree −1).
  The public GANF/MTGFlow code gives every unit degree 0 for ``input_size=1``, so all masks are 1 and ``m``, ``log a``
  read ``x`` itself: ``u`` is then no longer an invertible affine map of ``x`` and ``log p`` is not a normalised
  density. Fixed here; ``unmasked_input=True`` reproduces it.
- ``GraphConvolution``: GANF's GNN, ``h_n = lin_n(Σ_k h_k A_{k,j}) + lin_r(h_{j,t−1})``, ``c = lin_2(ReLU(h_n))``,
  with a static (K, K) or a per-window (N, K, K) graph.
- ``dag_penalty``: NOTEARS' acyclicity ``h(A) = tr(exp(A∘A)) − K`` (0 exactly when A is a DAG's weighted adjacency).
- ``GraphFlowConfig`` / ``GraphFlowDetector``: what the three detectors share (Adam with weight decay, gradients
  clipped by value, loss ``−mean log p`` plus a method's penalties, score ``−mean_{k,t} log p``, the graphs per window).
- ``AttentionGraph``: MTGFlow's per-window graph, scaled dot-product attention between the sensors' flattened windows,
  softmax over the source sensor (columns sum to 1), dropout 0.2. The original transposes the keys with
  ``k.view(B, c, K)``, which scrambles them; ``reproduce_view_bug=True`` does the same.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from tsad.models.training import NeuralConfig, NeuralDetector

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


class ConditionalMAF(nn.Module):
    """MAF of one value per (sensor, step) conditioned on a vector: ``n_blocks`` MADEs with one hidden layer each.

    Args:
        n_blocks: MADE blocks stacked (GANF 1; MTGFlow 1 on SWaT, 2 on WADI/PSM/MSL/SMD).
        hidden_size: Width of each MADE's hidden layer (32).
        condition_size: Width of the condition vector.
        base_means: The base distribution's mean per sensor, (K,) (zeros: GANF's N(0, 1)).
        unmasked_input: Let ``m`` and ``log a`` read the value itself (the public code's all-ones masks; not a density).
    """

    def __init__(self, n_blocks: int, hidden_size: int, condition_size: int, base_means: torch.Tensor,
                 unmasked_input: bool = False):
        super().__init__()
        if n_blocks < 1:
            raise ValueError(f"n_blocks must be >= 1, got {n_blocks}")
        # Per block, as in the public MADE: the input layer's value weight and bias, its bias-free condition weight
        # (initialised U(0, 1)/√condition_size), and the output layer (m, log a).
        self.value_weight = nn.Parameter(torch.empty(n_blocks, hidden_size))
        self.value_bias = nn.Parameter(torch.empty(n_blocks, hidden_size))
        self.condition_weight = nn.Parameter(torch.rand(n_blocks, condition_size, hidden_size)
                                             / math.sqrt(condition_size))
        self.out_weight = nn.Parameter(torch.empty(n_blocks, hidden_size, 2))
        self.out_bias = nn.Parameter(torch.empty(n_blocks, 2))
        for block in range(n_blocks):  # nn.Linear's default initialisation, block by block
            bound_in, bound_out = 1.0, 1 / math.sqrt(hidden_size)
            nn.init.uniform_(self.value_weight[block], -bound_in, bound_in)
            nn.init.uniform_(self.value_bias[block], -bound_in, bound_in)
            nn.init.uniform_(self.out_weight[block], -bound_out, bound_out)
            nn.init.uniform_(self.out_bias[block], -bound_out, bound_out)
        self.register_buffer("input_mask", torch.tensor(1.0 if unmasked_input else 0.0))
        self.register_buffer("base_means", base_means.float().clone())

    def log_prob(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """``log p(x_{n,k,t} | c_{n,k,t})`` of values (N, K, L) given conditions (N, K, L, H); shape (N, K, L)."""
        u, log_det = x, torch.zeros_like(x)
        for block in range(self.value_weight.shape[0]):
            hidden = torch.tanh(condition @ self.condition_weight[block] + self.value_bias[block]
                                + (self.input_mask * u)[..., None] * self.value_weight[block])
            m, log_a = (hidden @ self.out_weight[block] + self.out_bias[block]).unbind(-1)
            u = (u - m) * torch.exp(-log_a)
            log_det = log_det - log_a
        return -0.5 * (u - self.base_means[:, None]).square() - _LOG_SQRT_2PI + log_det


class GraphConvolution(nn.Module):
    """GANF's GNN over hidden states (N, K, L, D): messages along A plus each sensor's own previous step."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.lin_n = nn.Linear(hidden_size, hidden_size)
        self.lin_r = nn.Linear(hidden_size, hidden_size, bias=False)
        self.lin_2 = nn.Linear(hidden_size, hidden_size)

    def forward(self, h: torch.Tensor, graph: torch.Tensor) -> torch.Tensor:
        """``lin_2(ReLU(lin_n(Σ_k h_k A_{k,j}) + lin_r(h_{j,t−1})))``; ``graph`` (K, K) or (N, K, K), entry [k, j]
        weighing sensor k's message to sensor j."""
        equation = "nkld,kj->njld" if graph.dim() == 2 else "nkld,nkj->njld"
        h_n = self.lin_n(torch.einsum(equation, h, graph))
        own_past = F.pad(self.lin_r(h[:, :, :-1]), (0, 0, 1, 0))  # step t gets step t − 1's; step 0 nothing
        return self.lin_2(F.relu(h_n + own_past))


def dag_penalty(graph: torch.Tensor) -> torch.Tensor:
    """NOTEARS' ``h(A) = tr(exp(A∘A)) − K`` of a (..., K, K) adjacency: 0 for a DAG, > 0 with any cycle."""
    return torch.linalg.matrix_exp(graph * graph).diagonal(dim1=-2, dim2=-1).sum(-1) - graph.shape[-1]


class AttentionGraph(nn.Module):
    """MTGFlow's per-window sensor graph from the raw window: ``softmax_k(q_k · k_j / √L)``, dropout 0.2.

    Args:
        window: L, the width of each sensor's flattened window (``Q = W_q x̃``, ``K = W_k x̃``, both L → L).
        dropout: Dropout on the attention weights (the original's 0.2; off in eval mode).
        reproduce_view_bug: Take the keys' "transpose" as ``k.view(B, L, K)`` as the original does.
        exclude_self: No sensor sends itself a message (zero diagonal; see ``source_softmax``).
    """

    def __init__(self, window: int, dropout: float = 0.2, reproduce_view_bug: bool = False,
                 exclude_self: bool = False):
        super().__init__()
        self.w_q = nn.Linear(window, window)
        self.w_k = nn.Linear(window, window)
        self.dropout = nn.Dropout(dropout)
        self.reproduce_view_bug = reproduce_view_bug
        self.exclude_self = exclude_self

    def forward(self, series: torch.Tensor) -> torch.Tensor:
        """The graph (N, K, K) of sensor series (N, K, L); columns sum to 1 before the dropout."""
        n, k, length = series.shape
        query, key = self.w_q(series), self.w_k(series)
        key_t = key.view(n, length, k) if self.reproduce_view_bug else key.transpose(1, 2)
        return self.dropout(source_softmax(query @ key_t / math.sqrt(length), self.exclude_self))


def source_softmax(scores: torch.Tensor, exclude_self: bool) -> torch.Tensor:
    """Softmax of (N, K, K) scores over the source sensor (dim 1), so every column sums to 1.

    With ``exclude_self`` the diagonal is left out (0): the graph convolution then conditions ``x_{j,t}`` on the
    other sensors' states at t and on sensor j's own state at t − 1 only, never on a state that has read ``x_{j,t}``
    itself (GANF's acyclic graph has a zero diagonal too; MTGFlow's softmax keeps it). One sensor keeps its loop.
    """
    k = scores.shape[-1]
    if exclude_self and k > 1:
        scores = scores.masked_fill(torch.eye(k, dtype=torch.bool, device=scores.device), float("-inf"))
    return torch.softmax(scores, dim=1)


def column_normalised_attention(embeddings: torch.Tensor, query: nn.Linear, key: nn.Linear,
                                exclude_self: bool = False) -> torch.Tensor:
    """Scaled dot-product graph (N, K, K) of per-(sensor, step) embeddings (N, K, L, D): ``q``, ``k`` per step, scores
    summed over the steps (the flattened windows' dot product with a projection shared by the steps), softmax over
    the source sensor (``source_softmax``)."""
    q, k = query(embeddings), key(embeddings)
    scale = math.sqrt(embeddings.shape[2] * q.shape[-1])
    return source_softmax(torch.einsum("nkld,njld->nkj", q, k) / scale, exclude_self)


def sensor_lstm(lstm: nn.LSTM, series: torch.Tensor) -> torch.Tensor:
    """A shared per-sensor LSTM over sensor series (N, K, L), all at once as (N·K, L, 1); states (N, K, L, H)."""
    n, k, length = series.shape
    h, _ = lstm(series.reshape(n * k, length, 1))
    return h.reshape(n, k, length, -1)


def entity_means(n_sensors: int, seed: int) -> torch.Tensor:
    """MTGFlow's entity-aware base means μ_k ~ N(0, 1), drawn from their own generator seeded by ``seed``."""
    return torch.randn(n_sensors, generator=torch.Generator().manual_seed(seed))


@dataclasses.dataclass
class GraphFlowConfig(NeuralConfig):
    """Options the graph flows share (GANF's and MTGFlow's published values).

    Attributes:
        hidden_size: Width of the LSTM, the graph convolution and each MADE's hidden layer (32).
        n_blocks: MADE blocks in the flow (1; MTGFlow uses 2 on WADI, PSM, MSL and SMD).
        weight_decay: Adam weight decay of the network (5e-4; never on GANF's graph).
        grad_clip_value: Gradients clipped to [−v, v] (``clip_grad_value_``; 1); 0 turns clipping off.
        unmasked_input: Reproduce the public code's MADE for one input, whose ``m`` and ``log a`` read the value
            itself (all masks 1), so that ``log p`` is not a normalised density; false: the proper masks.
        epoch_windows: Most training windows of an epoch; null: all of them. The papers train on windows every 10
            rows (SWaT: about 27,000 of 60 rows an epoch), ours start at every row (the simulated plant's default
            preset: about 23,000 of 12 rows, whose 40 to 50 epochs take over half an hour on 2 CPU cores), so an
            epoch takes a seeded share: each pass of ``ceil(n / epoch_windows)`` epochs splits one seeded
            permutation into equal parts, so it sees every window once (``_epoch_order``). 2048 windows of 12 rows
            hold each of the default plant's training rows about once an epoch (the papers' windows of 60 every 10
            rows: 6 times) and keep an STF²-DGL epoch near 5 s on 2 CPU cores; on a GPU, or to train on whole
            epochs, set it higher or null.
    """

    epochs: int = 40
    learning_rate: float = 0.002
    patience: int = 0  # the originals train a fixed number of epochs; the best one is kept (on validation windows)
    hidden_size: int = 32
    n_blocks: int = 1
    weight_decay: float = 0.0005
    grad_clip_value: float = 1.0
    unmasked_input: bool = False
    epoch_windows: int | None = 2048


class GraphFlowDetector(NeuralDetector):
    """A graph flow trained by the shared loop: subclasses give the per-value log-densities and the graphs."""

    config: GraphFlowConfig
    graph_learned = True

    # --------------------------------------------------------------------------------------- subclass hooks
    def _log_prob(self, batch: torch.Tensor) -> torch.Tensor:
        """``log p`` of every value of windows (B, W, C), shape (B, C, W)."""
        raise NotImplementedError

    def _graphs(self, batch: torch.Tensor) -> torch.Tensor:
        """The graph (B, C, C) the model uses on each window of a (B, W, C) batch."""
        raise NotImplementedError

    def _losses(self, batch: torch.Tensor, epoch: int) -> dict[str, torch.Tensor]:
        """The training loss's terms by name, summed into ``loss``: ``nll`` (−mean log p) and a method's penalties."""
        return {"nll": -self._log_prob(batch).mean()}

    def _weight_decay_free(self) -> list[nn.Parameter]:
        """Parameters trained without weight decay or gradient clipping (GANF's graph)."""
        return []

    def _after_step(self) -> None:
        """Runs after each optimizer step (GANF clamps its graph)."""

    # --------------------------------------------------------------------------------------- training
    def _check_geometry(self) -> None:
        if self.window_ < 2:
            raise ValueError(f"{self.method} reads each sensor's series over the window: windows of {self.window_} "
                             "row(s) have no series; set windowing.window >= 2")

    def _fit(self, windows_train: np.ndarray, windows_val: np.ndarray | None) -> None:
        self._check_geometry()
        if self.config.epoch_windows is not None and self.config.epoch_windows < 1:
            raise ValueError(f"{self.method}: epoch_windows must be a positive count or null (all windows), got "
                             f"{self.config.epoch_windows}")
        super()._fit(windows_train, windows_val)

    def _epoch_order(self, n_windows: int, epoch: int) -> torch.Tensor:
        """At most ``epoch_windows`` windows: the ``ceil(n / epoch_windows)`` epochs of a pass over the data take
        equal parts of the pass's permutation (seeded by the pass's first epoch), so each pass sees every window
        once; a function of (seed, epoch) alone, so a resumed run draws what an uninterrupted one does."""
        limit = self.config.epoch_windows
        if limit is None or n_windows <= limit:
            return super()._epoch_order(n_windows, epoch)
        epochs_per_pass = math.ceil(n_windows / limit)
        first = epoch - epoch % epochs_per_pass
        return super()._epoch_order(n_windows, first).tensor_split(epochs_per_pass)[epoch % epochs_per_pass]

    def _configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        free = {id(p) for p in self._weight_decay_free()}
        decayed = [p for module in self.modules_.values() for p in module.parameters() if id(p) not in free]
        groups = [{"params": decayed, "weight_decay": self.config.weight_decay}]
        if free:
            groups.append({"params": self._weight_decay_free(), "weight_decay": 0.0})
        return {"adam": torch.optim.Adam(groups, lr=self.config.learning_rate)}

    def _train_step(self, batch: torch.Tensor, weights: torch.Tensor | None, epoch: int) -> dict[str, float]:
        optimizer = self.optimizers_["adam"]
        optimizer.zero_grad(set_to_none=True)
        losses = self._losses(batch, epoch)
        loss = sum(losses.values())
        loss.backward()
        if self.config.grad_clip_value > 0:  # as the originals: the network's gradients, not GANF's graph
            nn.utils.clip_grad_value_(optimizer.param_groups[0]["params"], self.config.grad_clip_value)
        optimizer.step()
        self._after_step()
        return {"loss": float(loss.detach())} | {name: float(value.detach()) for name, value in losses.items()}

    def _validation_loss(self, batch: torch.Tensor, epoch: int) -> torch.Tensor:
        return -self._log_prob(batch).mean(dim=(1, 2))

    def _score_batch(self, batch: torch.Tensor) -> torch.Tensor:
        return -self._log_prob(batch).mean(dim=(1, 2))

    # --------------------------------------------------------------------------------------- graphs
    def _window_graphs(self, windows: np.ndarray) -> np.ndarray:
        for module in self.modules_.values():
            module.eval()  # no dropout on the graphs people look at
        out = np.empty((len(windows), self.n_channels_, self.n_channels_), dtype=np.float64)
        step = self.config.score_batch_size
        with torch.inference_mode():
            for start in range(0, len(windows), step):
                batch = torch.from_numpy(np.ascontiguousarray(windows[start:start + step], dtype=np.float32))
                out[start:start + step] = self._graphs(batch.to(self.device_)).double().cpu().numpy()
        return out
