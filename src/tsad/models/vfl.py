"""Vertical federated (VFL) Transformer and LSTM predictors (../shared/docs/methods.md §3.7).

The sensors of one plant belong to several parties, none of whom may hand raw readings to another. Each party
keeps an encoder (``Linear d_i -> 8 -> 8``, no activation, as the seed) and a decoder (``8 -> 8 -> d_i``) of its
own channels; a server runs the centralised sequence model (``CausalTransformerPredictor`` or ``LstmPredictorNet``)
on the concatenated embeddings (8 per party); its output is split into one 8-wide slice per party, which the
party decodes back to its channels. Training, the error Gaussian and the scoring are the centralised predictors'
(``transformer``, ``lstm``: the LSTM keeps its three losses), run on this composite network (``VflNet``).

Parties (``parties``): a list of ``{name, channels}``, channels given by name or fnmatch pattern against the
channels the detector sees (the training pipeline fills ``channel_names``). By default the parties of a dataset
declared with ``parties`` (each party's files' channels; the training pipeline fills them), else the channels split
into three contiguous groups, the first ones larger: the seed's ``[0-3], [4-6], [7-9]`` on SMD machine-1-3's first
10 channels. Every channel belongs to exactly one party.

Two modes give the same scores (within 1e-5 at ``threads: 1``, tested):

- ``simulated``: one process holds every module (the seed).
- ``distributed``: one process per party and one for the server over torch.distributed (gloo, ``address``, by
  default 127.0.0.1 and a free port). The parent process gives each party process only its own channels' windows
  (in production each party would load its own file) and the server none. Only embeddings and their gradients
  cross a party's boundary, plus, for the LSTM, the server's state and outputs going to the parties and their
  gradients coming back from the first party. Every party runs the centralised training and scoring code on its
  own channels, in lockstep with the others (same seeds, same batches): its loss terms are weighted by its share
  of the channels and summed across parties (``all_reduce`` among the parties only), so the losses, the early
  stopping and every update equal the simulated mode's. A chain token threaded through every exchange makes each
  party's backward pass visit the exchanges in exactly the reverse order of the forward pass, which is the order
  the server serves them in. The server records what it receives when ``record_boundary`` is on (tests).

Deviations from the centralised predictors: gradients are clipped per module (each party's encoder and decoder,
the server) rather than over all parameters, since no party sees another's gradients; the training noise is drawn
from its own per-epoch generator, so that the server's dropout sees the same random stream in both modes. One Adam
over all modules equals the seed's one Adam per module (Adam is elementwise). The distributed mode runs on CPU and
writes no per-epoch checkpoints (the simulated mode does); the fitted detector bundles every party's parts, so a
saved or registered model scores in one process unless its ``mode`` is ``distributed``.

``tsad.connectors.alignment.align_parties`` matches parties' rows on timestamps before training (the seed's
AlignmentTimeSeries step): a dataset declared with ``parties`` is aligned so on ingestion
(``tsad.connectors.table.parties``).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
import socket
import tempfile
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from tsad.models.lstm_predictor import LstmConfig, LstmPredictorDetector
from tsad.models.training import _epoch_seed
from tsad.models.transformer import TransformerConfig, TransformerDetector

MODES = ("simulated", "distributed")
_SERVER = 0  # rank of the server process; the parties are ranks 1 .. P, the first of them leads
_FORWARD, _BACKWARD, _STEP, _EPOCH, _GET, _SET, _STOP = range(7)
_DTYPES = (torch.float32, torch.float64)


@dataclasses.dataclass
class VflOptions:
    """Options of the vertical federated split (mixed into the predictors' configs).

    Attributes:
        parties: ``[{name: ..., channels: [name or fnmatch pattern, ...]}, ...]``; null: the dataset's declared
            parties (filled by the training pipeline), else three contiguous groups of the channels (4/3/3 on 10
            channels: the seed's split of SMD machine-1-3).
        channel_names: The names of the channels the detector sees, in order (filled by the training pipeline);
            null: their positions ``"0"``, ``"1"``, ...
        party_embedding: Width of each party's embedding (the seed's 8).
        mode: ``simulated`` (one process) or ``distributed`` (one process per party and one for the server).
        address: Address the distributed processes meet at (gloo); 127.0.0.1 keeps them on this machine.
        port: Port at ``address``; 0 picks a free one.
        timeout: Seconds a distributed process waits for another before it stops with an error.
        record_boundary: In distributed mode, keep every tensor the server receives (``boundary_record_``): for
            audits and the privacy test.
    """

    parties: list[dict] | None = None
    channel_names: list[str] | None = None
    party_embedding: int = 8
    mode: str = "simulated"
    address: str = "127.0.0.1"
    port: int = 0
    timeout: float = 300.0
    record_boundary: bool = False


@dataclasses.dataclass
class TransformerVflConfig(TransformerConfig, VflOptions):
    """Transformer predictor options plus the VFL split (conf/base/parameters/methods/transformer_vfl.yml)."""


@dataclasses.dataclass
class LstmVflConfig(LstmConfig, VflOptions):
    """LSTM predictor options plus the VFL split (conf/base/parameters/methods/lstm_vfl.yml)."""

    free_running_loss: bool = True  # the seed's LSTM-VFL trains with all three losses
    professor_forcing_loss: bool = True


def resolve_parties(parties: Sequence[Mapping[str, Any]] | None, channel_names: Sequence[str]
                    ) -> list[tuple[str, list[int]]]:
    """Each party's name and channel positions, from ``parties`` (names or fnmatch patterns) or by default three
    contiguous groups (the first ones larger).

    Raises:
        ValueError: A party without channels (named with its patterns), a channel in two parties or in none.
    """
    names = list(channel_names)
    if parties is None:
        if len(names) < 3:
            raise ValueError(f"the default VFL split needs at least 3 channels (one per party), got {names}; set "
                             "model.parties")
        return [(f"party_{i}", group.tolist()) for i, group in enumerate(np.array_split(np.arange(len(names)), 3))]
    out, owner = [], {}
    for index, party in enumerate(parties):
        name, patterns = party.get("name", f"party_{index}"), party.get("channels")
        if not isinstance(patterns, list) or set(party) - {"name", "channels"}:
            raise ValueError(f"model.parties[{index}] must be {{name: ..., channels: [names or patterns]}}, "
                             f"got {dict(party)}")
        columns = [i for i, channel in enumerate(names) if any(fnmatch.fnmatchcase(channel, str(p)) for p in patterns)]
        if not columns:
            raise ValueError(f"VFL party {name!r} (model.parties[{index}]) matches none of the channels with "
                             f"{patterns}; the channels are {names}")
        for i in columns:
            if i in owner:
                raise ValueError(f"channel {names[i]!r} belongs to VFL parties {owner[i]!r} and {name!r}; "
                                 "model.parties must not overlap")
            owner[i] = name
        out.append((name, columns))
    orphans = [names[i] for i in range(len(names)) if i not in owner]
    if orphans:
        raise ValueError(f"channel(s) {orphans} belong to no VFL party; add them to model.parties")
    return out


def _stacked(sizes: Sequence[int]) -> nn.Sequential:
    """Linear layers without activation (the seed's party encoder and decoder)."""
    return nn.Sequential(*[nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=False)])


class VflNet(nn.Module):
    """Party encoders, the server's sequence model and party decoders, called as the centralised network.

    In one process (``link`` None) it holds every module and maps (B, L, C) rows to (B, L, C) predictions. In a
    party's process it holds that party's encoder and decoder only, reads and predicts that party's channels of
    (B, L, C) rows (the others are zeros there), and the server's part runs in the server process (``link``). For
    the LSTM the call takes and returns the server's state, and returns its outputs, as ``LstmPredictorNet`` does.
    """

    def __init__(self, encoders: dict[str, nn.Module], server: nn.Module | None, decoders: dict[str, nn.Module],
                 columns: list[list[int]], *, channels: int, width: int, link: _PartyLink | None = None,
                 server_keys: Sequence[str] = ()):
        super().__init__()
        self.encoders, self.decoders, self.server = nn.ModuleDict(encoders), nn.ModuleDict(decoders), server
        self.channels, self.width, self.link, self.server_keys = channels, width, link, list(server_keys)
        self.columns = [torch.tensor(c, dtype=torch.long) for c in columns]
        self.register_buffer("order", torch.cat(self.columns), persistent=False)

    def parts(self) -> list[nn.Module]:
        """The modules held here, each clipped on its own."""
        return [*self.encoders.values(), *([self.server] if self.server is not None else []),
                *self.decoders.values()]

    def forward(self, x: torch.Tensor, *state: Any) -> Any:
        device = x.device
        embeddings = [encoder(x[..., cols.to(device)]) for encoder, cols in zip(self.encoders.values(), self.columns,
                                                                                 strict=True)]
        if self.link is None:
            result = self.server(torch.cat(embeddings, dim=-1), *state)
            joint, extras = (result[0], result[1:]) if isinstance(result, tuple) else (result, ())
            slices = joint.split(self.width, dim=-1)
        else:
            slice_, extras = self.link.exchange(embeddings[0], state[0] if state else None, self.training)
            slices = [slice_]
        decoded = torch.cat([decoder(s) for decoder, s in zip(self.decoders.values(), slices, strict=True)], dim=-1)
        # (B, L, C); in a party's process the other parties' channels stay 0, so that the centralised losses, means
        # over all C channels, give this party's share of them with the very gradients of the simulated mode.
        prediction = decoded.new_zeros(*decoded.shape[:-1], self.channels).index_copy(-1, self.order, decoded)
        return (prediction, *extras) if extras else prediction

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, torch.Tensor]:
        state = super().state_dict(*args, **kwargs)
        if self.link is not None and self.link.lead:  # the server's weights, so that checkpoints hold the whole net
            state.update(zip((f"server.{k}" for k in self.server_keys), self.link.server_state(), strict=True))
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False) -> Any:
        if self.link is not None:
            server = [state_dict[f"server.{k}"] for k in self.server_keys if f"server.{k}" in state_dict]
            if self.link.lead and server:
                self.link.load_server_state(server)
            state_dict = {k: v for k, v in state_dict.items() if not k.startswith("server.")}
        return super().load_state_dict(state_dict, strict=strict, assign=assign)


# ------------------------------------------------------------------------------------------- the wire
def _send(tensors: Sequence[torch.Tensor], dst: int) -> None:
    """Tensors to ``dst``: their count, dtypes and shapes first, so the receiver can allocate them."""
    header = [len(tensors)]
    for tensor in tensors:
        header += [_DTYPES.index(tensor.dtype), tensor.dim(), *tensor.shape]
    dist.send(torch.tensor([len(header)], dtype=torch.long), dst)
    dist.send(torch.tensor(header, dtype=torch.long), dst)
    for tensor in tensors:
        dist.send(tensor.detach().contiguous(), dst)


def _recv(src: int) -> list[torch.Tensor]:
    length = torch.empty(1, dtype=torch.long)
    dist.recv(length, src)
    header = torch.empty(int(length), dtype=torch.long)
    dist.recv(header, src)
    values, at, out = header.tolist(), 1, []
    for _ in range(values[0]):
        dtype, ndim = _DTYPES[values[at]], values[at + 1]
        tensor = torch.empty(values[at + 2:at + 2 + ndim], dtype=dtype)
        dist.recv(tensor, src)
        out.append(tensor)
        at += 2 + ndim
    return out


def _op(code: int, *values: float) -> list[torch.Tensor]:
    return [torch.tensor([code, *values], dtype=torch.float64)]


class _Exchange(torch.autograd.Function):
    """A party's embedding to the server and its slice of the server's output back; gradients the other way."""

    @staticmethod
    def forward(ctx: Any, link: _PartyLink, embedding: torch.Tensor, token: torch.Tensor, *state: torch.Tensor
                ) -> tuple[torch.Tensor, ...]:
        ctx.link, ctx.call, ctx.state_shapes = link, link.calls, [s.shape for s in state]
        link.calls += 1
        slice_, extras = link.forward(embedding, state, training=link.training, grad=True)
        return (slice_, token.clone(), *extras)

    @staticmethod
    def backward(ctx: Any, grad_slice: torch.Tensor, grad_token: torch.Tensor, *grad_extras: torch.Tensor
                 ) -> tuple[Any, ...]:
        grad_embedding, grad_state = ctx.link.backward(ctx.call, grad_slice, grad_extras)
        if not grad_state:
            grad_state = [torch.zeros(shape) for shape in ctx.state_shapes]
        return (None, grad_embedding, grad_token, *grad_state)


class _PartyLink:
    """A party process's side of the boundary: what it sends and receives, and the chain token."""

    def __init__(self, rank: int, world: int, group: Any):
        self.rank, self.world, self.group = rank, world, group
        self.lead = rank == 1
        self.calls, self.training = 0, False
        self.token = torch.zeros((), requires_grad=True)

    def exchange(self, embedding: torch.Tensor, state: tuple[torch.Tensor, ...] | None, training: bool
                 ) -> tuple[torch.Tensor, tuple]:
        state = tuple(state) if state is not None else ()
        self.training = training
        if torch.is_grad_enabled() and embedding.requires_grad:
            slice_, self.token, *extras = _Exchange.apply(self, embedding, self.token, *state)
        else:
            slice_, extras = self.forward(embedding, state, training=training, grad=False)
        return slice_, ((tuple(extras[:-1]), extras[-1]) if extras else ())

    def forward(self, embedding: torch.Tensor, state: Sequence[torch.Tensor], training: bool, grad: bool
                ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        if self.lead:
            _send(_op(_FORWARD, training, grad), _SERVER)
        _send([embedding, *(state if self.lead else ())], _SERVER)
        reply = _recv(_SERVER)
        return reply[0], reply[1:]

    def backward(self, call: int, grad_slice: torch.Tensor, grad_extras: Sequence[torch.Tensor]
                 ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        if self.lead:
            _send(_op(_BACKWARD, call), _SERVER)
        _send([grad_slice, *(grad_extras if self.lead else ())], _SERVER)
        reply = _recv(_SERVER)
        return reply[0], reply[1:]

    def begin_step(self) -> None:
        self.calls = 0
        self.token = torch.zeros((), requires_grad=True)

    def end_step(self, rate: float) -> None:
        if self.lead:
            _send(_op(_STEP, rate), _SERVER)

    def begin_epoch(self, epoch: int) -> None:
        if self.lead:
            _send(_op(_EPOCH, epoch), _SERVER)

    def server_state(self) -> list[torch.Tensor]:
        _send(_op(_GET), _SERVER)
        return _recv(_SERVER)

    def load_server_state(self, tensors: Sequence[torch.Tensor]) -> None:
        _send(_op(_SET), _SERVER)
        _send(list(tensors), _SERVER)

    def stop(self) -> None:
        if self.lead:
            _send(_op(_STOP), _SERVER)

    def all_reduce(self, tensor: torch.Tensor) -> torch.Tensor:
        """The sum over the parties (the server takes no part)."""
        tensor = tensor.detach().clone()
        dist.all_reduce(tensor, group=self.group)
        return tensor


def _serve(server: nn.Module, optimizer: torch.optim.Optimizer, config: Any, world: int, recurrent: bool
           ) -> list[np.ndarray]:
    """The server process: answer the lead party's requests until it says stop; returns what it received when
    ``record_boundary`` is on."""
    parties, width = range(1, world), config.party_embedding
    record: list[np.ndarray] = []
    graphs: list[tuple] = []

    def receive(src: int) -> list[torch.Tensor]:
        tensors = _recv(src)
        if config.record_boundary:
            record.extend(t.numpy().copy() for t in tensors)
        return tensors

    while True:
        code, *values = _recv(1)[0].tolist()
        if code == _FORWARD:
            training, grad = bool(values[0]), bool(values[1])
            server.train(training)
            sent = [receive(p) for p in parties]
            with torch.set_grad_enabled(grad):
                joint = torch.cat([s[0] for s in sent], dim=-1).requires_grad_(grad)
                state = tuple(s.requires_grad_(grad) for s in sent[0][1:])
                result = server(joint, state or None) if recurrent else server(joint)
            output, extras = (result[0], [*result[1], result[2]]) if recurrent else (result, [])
            if grad:
                graphs.append((joint, state, [output, *extras]))
            for party, slice_ in zip(parties, output.split(width, dim=-1), strict=True):
                _send([slice_, *extras], party)
        elif code == _BACKWARD:
            joint, state, outputs = graphs[int(values[0])]
            grads = [receive(p) for p in parties]
            torch.autograd.backward(outputs, [torch.cat([g[0] for g in grads], dim=-1), *grads[0][1:]])
            for index, (party, grad) in enumerate(zip(parties, joint.grad.split(width, dim=-1), strict=True)):
                _send([grad, *([s.grad for s in state] if index == 0 else [])], party)
        elif code == _STEP:
            for group in optimizer.param_groups:
                group["lr"] = values[0]
            if config.grad_clip > 0:
                nn.utils.clip_grad_norm_(server.parameters(), config.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            graphs.clear()
        elif code == _EPOCH:
            torch.manual_seed(_epoch_seed(config.seed, int(values[0])))  # the dropout stream of the simulated mode
        elif code == _GET:
            _send(list(server.state_dict().values()), 1)
        elif code == _SET:
            server.load_state_dict(dict(zip(server.state_dict(), _recv(1), strict=True)))
        elif code == _STOP:
            return record


# ------------------------------------------------------------------------------------------- the detectors
class _VflPredictor:
    """What the VFL Transformer and LSTM add to their centralised predictors (mixed in before them)."""

    # Loss terms computed on the server's outputs (not per channel): counted once, by the lead party.
    _server_losses: ClassVar[frozenset[str]] = frozenset()
    # The centralised detector's key of its network in ``modules_``, which its code reads.
    _net_name: ClassVar[str]
    config: Any

    def __init__(self, config: Any):
        super().__init__(config)
        self._link: _PartyLink | None = None  # set in a party's process of the distributed mode
        self._layout: list[tuple[str, list[int]]] | None = None  # every party's channels (positions)
        self._local: int | None = None  # this process's party, in the distributed mode

    # ----------------------------------------------------------------------------------------- layout
    def _parties(self) -> list[tuple[str, list[int]]]:
        if self._layout is None:
            names = self.config.channel_names or [str(i) for i in range(self.n_channels_)]
            if len(names) != self.n_channels_:
                raise ValueError(f"model.channel_names names {len(names)} channels, the windows have "
                                 f"{self.n_channels_}")
            self._layout = resolve_parties(self.config.parties, names)
        return self._layout

    def _check_options(self) -> None:
        if self.config.mode not in MODES:
            raise ValueError(f"model.mode must be one of {MODES}, got {self.config.mode!r}")
        if self.config.party_embedding < 1:
            raise ValueError(f"model.party_embedding must be >= 1, got {self.config.party_embedding}")

    def _build(self) -> dict[str, nn.Module]:
        """Every module from the seeded generator in one order (encoders, server, decoders), in both modes; a
        party's process then keeps its own."""
        parties, width = self._parties(), self.config.party_embedding
        encoders = {name: _stacked([len(cols), width, width]) for name, cols in parties}
        server = self._network(width * len(parties))
        decoders = {name: _stacked([width, width, len(cols)]) for name, cols in parties}
        channels = sum(len(cols) for _, cols in parties)
        if self._local is None:
            net = VflNet(encoders, server, decoders, [cols for _, cols in parties], channels=channels, width=width)
        else:
            name, cols = parties[self._local]
            net = VflNet({name: encoders[name]}, None, {name: decoders[name]}, [cols], channels=channels, width=width,
                         link=self._link,
                         server_keys=list(server.state_dict()))
        return {self._net_name: net}

    # ----------------------------------------------------------------------------------------- training
    def _fit(self, windows_train: np.ndarray, windows_val: np.ndarray | None) -> None:
        self._check_options()
        if self.config.mode == "distributed" and self._link is None:
            self._check_geometry()
            self._fit_distributed(windows_train, windows_val)
        else:
            super()._fit(windows_train, windows_val)

    def _run_epoch(self, windows: np.ndarray, epoch: int, path: Path | None) -> dict[str, float]:
        # The training noise from its own stream: the server's dropout then draws the same numbers in both modes.
        self.noise_generator_ = torch.Generator().manual_seed(_epoch_seed(self.config.seed, epoch) + 1)
        if self._link is not None:
            self._link.begin_epoch(epoch)
        return super()._run_epoch(windows, epoch, path)

    def _train_step(self, batch: torch.Tensor, weights: torch.Tensor | None, epoch: int) -> dict[str, float]:
        c, link = self.config, self._link
        optimizer, rate = self.optimizers_["adam"], self._learning_rate(epoch)
        for group in optimizer.param_groups:
            group["lr"] = rate
        if c.augment_noise > 0:  # the other parties' channels: zeros of zero spread, which stay zeros
            level = torch.rand(len(batch), 1, 1, generator=self.noise_generator_) * c.augment_noise
            noise = torch.randn(batch.shape, generator=self.noise_generator_)
            batch = batch + (level * noise).to(batch.device) * self.noise_scale_
        optimizer.zero_grad(set_to_none=True)
        if link is not None:
            link.begin_step()
        losses = self._training_losses(batch)
        terms = {name: value for name, value in losses.items() if name != "loss"} or {"loss": losses["loss"]}
        weights_ = {name: self._term_weight(name) for name in terms}
        objective = losses["loss"] if link is None else \
            sum(weights_[name] * value for name, value in terms.items()) + 0 * link.token
        objective.backward()
        net = self.modules_[self._net_name]
        if c.grad_clip > 0:
            for part in net.parts():
                nn.utils.clip_grad_norm_(part.parameters(), c.grad_clip)
        optimizer.step()
        if link is None:
            return {name: float(value.detach()) for name, value in losses.items()}
        link.end_step(rate)
        names = sorted(terms)
        summed = link.all_reduce(torch.stack([weights_[n] * terms[n].detach().double() for n in names]))
        return dict(zip(names, summed.tolist(), strict=True)) | {"loss": float(summed.sum())}

    def _term_weight(self, name: str) -> float:
        """Per-channel terms are this party's share already; server terms are counted by the lead party only."""
        return 0.0 if name in self._server_losses and self._link is not None and not self._link.lead else 1.0

    def _validation_loss(self, batch: torch.Tensor, epoch: int) -> torch.Tensor:
        loss = super()._validation_loss(batch, epoch)
        return loss if self._link is None else self._link.all_reduce(loss.double())

    # ----------------------------------------------------------------------------------------- scoring
    def _channel_score_windows(self, windows: np.ndarray) -> np.ndarray:
        if self.config.mode == "distributed" and self._link is None:
            return self._score_distributed(windows)
        return super()._channel_score_windows(windows)

    def _score_windows(self, windows: np.ndarray) -> np.ndarray:
        if self.config.mode == "distributed" and self._link is None:
            return self._score_distributed(windows).sum(axis=1)
        return super()._score_windows(windows)

    # ----------------------------------------------------------------------------------------- distributed
    def _fit_distributed(self, windows_train: np.ndarray, windows_val: np.ndarray | None) -> None:
        parties = self._parties()
        results = self._spawn("fit", [(windows_train[..., cols], None if windows_val is None else
                                       windows_val[..., cols], {}) for _, cols in parties], {})
        self.modules_ = {name: module.to(self.device_) for name, module in self._build().items()}
        state = {k: v for result in results[1:] for k, v in result["state"].items()}
        self.modules_[self._net_name].load_state_dict(state)
        self.gaussian_ = {key: self._joined([r["gaussian"][key] for r in results[1:]]) for key in
                          results[1]["gaussian"]}
        self.history_ = results[1]["history"]
        self.boundary_record_ = results[0]["record"]

    def _score_distributed(self, windows: np.ndarray) -> np.ndarray:
        net = self.modules_[self._net_name]
        state = net.state_dict()
        server = {k[len("server."):]: v.cpu() for k, v in state.items() if k.startswith("server.")}
        jobs = []
        for index, (name, cols) in enumerate(self._parties()):
            own = {k: v.cpu() for k, v in state.items() if k.startswith((f"encoders.{name}.", f"decoders.{name}."))}
            gaussian = {k: v[cols].cpu() for k, v in self.gaussian_.items()}
            jobs.append((windows[..., cols], None, {"state": own, "gaussian": gaussian, "index": index}))
        results = self._spawn("score", jobs, {"state": server})
        out = np.empty((len(windows), self.n_channels_), dtype=np.float64)
        for (_, cols), result in zip(self._parties(), results[1:], strict=True):
            out[:, cols] = result["scores"]
        self.boundary_record_ = results[0]["record"]
        return out

    def _joined(self, parts: list[torch.Tensor]) -> torch.Tensor:
        """Per-channel tensors of the parties, back in channel order."""
        order = torch.tensor([i for _, cols in self._parties() for i in cols])
        return torch.cat(parts)[torch.argsort(order)].to(self.device_)

    def _spawn(self, task: str, jobs: list[tuple], server_job: dict) -> list[dict]:
        """Run ``task`` in one process per party (each given only its job: its channels) and one for the server;
        their results by rank (0: the server)."""
        config = dataclasses.asdict(self.config) | {"device": "cpu", "checkpoint_dir": None, "mode": "simulated"}
        port = self.config.port or _free_port(self.config.address)
        common = {"detector": f"{type(self).__module__}.{type(self).__qualname__}", "config": config,
                  "layout": self._parties(), "window": self.window_, "task": task}
        with tempfile.TemporaryDirectory(prefix="tsad-vfl-") as folder:
            torch.save(common | {"job": server_job}, Path(folder) / "in0.pt")
            for rank, (train, val, extra) in enumerate(jobs, start=1):
                torch.save(common | {"job": extra, "windows": train, "windows_val": val}, Path(folder) / f"in{rank}.pt")
            # Forked from a server process that has imported this module once: no thread pools copied, and each
            # call after the first starts its processes in well under a second (spawn: seconds per process).
            torch.multiprocessing.set_forkserver_preload([__name__])
            torch.multiprocessing.start_processes(
                _process, args=(folder, len(jobs) + 1, (self.config.address, port, self.config.timeout)),
                nprocs=len(jobs) + 1, start_method="forkserver")
            return [torch.load(Path(folder) / f"out{rank}.pt", weights_only=False) for rank in range(len(jobs) + 1)]

    def _run_role(self, rank: int, world: int, group: Any, given: dict) -> dict:
        """This process's part of ``given["task"]`` (the mode is ``simulated`` in ``config``, the link does the
        rest)."""
        task, job = given["task"], given["job"]
        if rank == _SERVER:
            self.n_channels_, self.window_ = sum(len(c) for _, c in self._layout), given["window"]
            from tsad.core.seeding import seed_everything  # noqa: PLC0415

            seed_everything(self.config.seed)  # the modules' initial weights of the simulated mode
            server = self._build()[self._net_name].server
            if task == "score":
                server.load_state_dict(job["state"])
            optimizer = torch.optim.Adam(server.parameters(), lr=self.config.learning_rate,
                                         weight_decay=self.config.weight_decay)
            from tsad.core.device import use_threads  # noqa: PLC0415

            use_threads(self.config.threads)
            return {"record": _serve(server, optimizer, self.config, world, recurrent=self._net_name == "lstm")}
        self._local, self._link = rank - 1, _PartyLink(rank, world, group)
        cols, channels = self._layout[self._local][1], sum(len(c) for _, c in self._layout)

        def padded(windows: np.ndarray | None) -> np.ndarray | None:  # the other parties' channels: zeros
            if windows is None:
                return None
            out = np.zeros((*windows.shape[:2], channels), dtype=windows.dtype)
            out[..., cols] = windows
            return out

        if task == "fit":
            self.fit(padded(given["windows"]), padded(given["windows_val"]))
            result = {"state": self.modules_[self._net_name].state_dict(), "history": self.history_,
                      "gaussian": {k: v[cols].cpu() for k, v in self.gaussian_.items()}}
        else:
            self.window_, self.n_channels_, self.device_ = given["window"], channels, "cpu"
            # Its channels' Gaussian; ones elsewhere keep the other channels' (discarded) scores finite.
            gaussian = {k: torch.ones(channels, *v.shape[1:], dtype=v.dtype).index_copy(0, torch.tensor(cols), v)
                        for k, v in job["gaussian"].items()}
            self._load_state_tensors({f"{self._net_name}.{k}": v for k, v in job["state"].items()}
                                     | {f"gaussian.{k}": v for k, v in gaussian.items()})
            result = {"scores": self.channel_scores(padded(given["windows"]))[:, cols]}
        self._link.stop()  # on an error the parent ends every process instead
        return result


def _process(rank: int, folder: str, world: int, where: tuple[str, int, float]) -> None:
    """One process of the distributed mode: join the group, run its part, write its result."""
    from tsad.models import registry  # noqa: PLC0415

    address, port, timeout = where
    given = torch.load(Path(folder) / f"in{rank}.pt", weights_only=False)
    if address in ("127.0.0.1", "localhost"):
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    dist.init_process_group("gloo", init_method=f"tcp://{address}:{port}", rank=rank, world_size=world,
                            timeout=timedelta(seconds=timeout))
    try:
        group = dist.new_group(list(range(1, world)))
        cls = registry.get(given["detector"])
        detector = cls(cls.config_class.from_dict(given["config"]))
        detector._layout = [(name, list(cols)) for name, cols in given["layout"]]
        result = detector._run_role(rank, world, group, given)
        torch.save(result, Path(folder) / f"out{rank}.pt")
    finally:
        dist.destroy_process_group()


def _free_port(address: str) -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        return probe.getsockname()[1]


class TransformerVflDetector(_VflPredictor, TransformerDetector):
    """The Transformer predictor split between parties and a server (methods.md §3.7)."""

    name = "transformer_vfl"
    _net_name = "transformer"
    config_class = TransformerVflConfig
    config: TransformerVflConfig

    @classmethod
    def test_config(cls) -> TransformerVflConfig:
        return TransformerVflConfig(device="cpu", epochs=2, batch_size=64, feedforward_size=64, progress=False,
                                    learning_rate=0.002)


class LstmVflDetector(_VflPredictor, LstmPredictorDetector):
    """The LSTM predictor split between parties and a server, with its three losses (methods.md §3.7)."""

    name = "lstm_vfl"
    _net_name = "lstm"
    config_class = LstmVflConfig
    config: LstmVflConfig
    _server_losses = frozenset({"professor_forcing"})

    @classmethod
    def test_config(cls) -> LstmVflConfig:
        return LstmVflConfig(device="cpu", epochs=1, batch_size=64, prediction_window=4, progress=False,
                             learning_rate=0.005, weight_decay=0.0)
