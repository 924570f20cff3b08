"""Neural network architectures for windows of multi-channel motion data.

Every network is rebuilt from a plain JSON-able architecture dict
(``{"kind": "cnn1d", ...}``), so a model file needs nothing but that dict and a
tensor per parameter to be applied again: no pickled classes, no code in the file.

* :class:`CNN1D` is harlab's default: a stack of 1-D convolutions over time with
  the channels as features, batch norm, dropout and global average + max pooling,
  which makes it independent of the window length.
* :class:`Seed2DCNN` reproduces the seed project's small Keras network over the
  time x channel "image" (fitbit-formats.md §3.2) so it can be measured beside ours
  on the same folds. The seed's off-by-one output unit (11 outputs for 10 classes)
  is not reproduced: it only ever wasted probability mass.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import torch
from torch import nn

from harlab.core.errors import HarlabError


@dataclass
class CNN1DConfig:
    """A 1-D CNN: ``depth`` conv blocks of ``width`` (doubling up to ``max_width``) filters."""

    depth: int = 4
    width: int = 64
    max_width: int = 128
    kernel: int = 5
    dropout: float = 0.2
    batch_norm: bool = True
    pool_every: int = 1  #: max-pool by 2 after every n-th block (0 = never)
    #: recording-context columns (:func:`harlab.ml.context.network_context`) joined to the pooled
    #: features before a hidden layer; 0 = none (the network sees its window only)
    context_inputs: int = 0
    kind: str = "cnn1d"


@dataclass
class Seed2DConfig:
    """The seed's network: blocks of two 4x4 convs, pooling and dropout (fitbit-formats.md §3.2)."""

    filters: list[int] = field(default_factory=lambda: [10, 20])
    pools: list[list[int]] = field(default_factory=lambda: [[2, 2], [2, 2]])
    dropouts: list[float] = field(default_factory=lambda: [0.2, 0.3])
    kernel: int = 4
    bn_momentum: float = 0.05  #: torch convention; Keras momentum 0.95
    kind: str = "seed2d"


ArchConfig = CNN1DConfig | Seed2DConfig


def arch_from_dict(d: dict[str, Any]) -> ArchConfig:
    """Rebuild an architecture config from its JSON dict, refusing unknown kinds and keys."""
    kind = d.get("kind")
    cls: type[CNN1DConfig] | type[Seed2DConfig]
    if kind == "cnn1d":
        cls = CNN1DConfig
    elif kind == "seed2d":
        cls = Seed2DConfig
    else:
        raise HarlabError(f"unknown network architecture {kind!r} (expected 'cnn1d' or 'seed2d')")
    known = {f.name for f in fields(cls)}
    unknown = set(d) - known
    if unknown:
        raise HarlabError(f"architecture {kind!r}: unknown settings {sorted(unknown)}")
    return cls(**d)


def arch_to_dict(cfg: ArchConfig) -> dict[str, Any]:
    return asdict(cfg)


class CNN1D(nn.Module):
    """Input (batch, time, channels) [+ context (batch, context_inputs)] -> logits (batch, classes).

    With context inputs the pooled convolution features and the context meet in a hidden
    layer before the output, so the context can change what a feature means (the same
    still posture reads as sitting or standing depending on the tilt from the recording's
    upright), not just shift the logits.
    """

    def __init__(self, cfg: CNN1DConfig, n_channels: int, n_classes: int) -> None:
        super().__init__()
        if cfg.depth < 1 or cfg.width < 1 or cfg.kernel < 1:
            raise HarlabError(f"cnn1d needs depth, width and kernel >= 1, got {cfg}")
        layers: list[nn.Module] = []
        c_in = n_channels
        width = cfg.width
        for i in range(cfg.depth):
            layers.append(
                nn.Conv1d(c_in, width, cfg.kernel, padding=cfg.kernel // 2, bias=not cfg.batch_norm)
            )
            if cfg.batch_norm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(nn.ReLU())
            if cfg.pool_every and (i + 1) % cfg.pool_every == 0 and i < cfg.depth - 1:
                layers.append(nn.MaxPool1d(2, ceil_mode=True))
            if cfg.dropout > 0:
                layers.append(nn.Dropout(cfg.dropout))
            c_in = width
            width = min(width * 2, cfg.max_width)
        self.features = nn.Sequential(*layers)
        self.n_context = max(0, int(cfg.context_inputs))
        self.mix: nn.Module | None = None
        if self.n_context:
            self.mix = nn.Sequential(
                nn.Linear(2 * c_in + self.n_context, 2 * c_in), nn.ReLU(), nn.Dropout(cfg.dropout)
            )
        self.head = nn.Linear(2 * c_in, n_classes)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        return self.classify(self.embed(x), context)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The trunk: pooled convolution features (batch, 2 x last width). Calibration
        (:mod:`harlab.ml.calibration`) freezes it and computes it once per window."""
        h = self.features(x.transpose(1, 2))
        return torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1)

    def classify(self, pooled: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """The last layers (the context mix, if any, and the output) over :meth:`embed`'s features."""
        if self.mix is not None:
            if context is None:
                raise HarlabError(f"this network needs {self.n_context} recording-context inputs")
            pooled = self.mix(torch.cat([pooled, context], dim=1))
        return self.head(pooled)


class _Seed2DBlock(nn.Module):
    def __init__(self, c_in: int, filters: int, kernel: int, pool: list[int], dropout: float, mom: float):
        super().__init__()
        # Keras "same" padding for an even kernel: (k-1)//2 before, k//2 after
        lo, hi = (kernel - 1) // 2, kernel // 2
        self.body = nn.Sequential(
            nn.ZeroPad2d((lo, hi, lo, hi)),
            nn.Conv2d(c_in, filters, kernel),
            nn.ReLU(),
            nn.BatchNorm2d(filters, momentum=mom),
            nn.ZeroPad2d((lo, hi, lo, hi)),
            nn.Conv2d(filters, filters, kernel),
            nn.ReLU(),
            nn.BatchNorm2d(filters, momentum=mom),
            nn.MaxPool2d(tuple(pool), ceil_mode=True),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Seed2DCNN(nn.Module):
    """The seed's Keras CNN in torch. Input (batch, time, channels) -> logits."""

    def __init__(self, cfg: Seed2DConfig, n_channels: int, n_classes: int, n_time: int) -> None:
        super().__init__()
        if not (len(cfg.filters) == len(cfg.pools) == len(cfg.dropouts)):
            raise HarlabError("seed2d: filters, pools and dropouts need one entry per block")
        blocks = []
        c_in = 1
        for f, p, d in zip(cfg.filters, cfg.pools, cfg.dropouts, strict=True):
            blocks.append(_Seed2DBlock(c_in, f, cfg.kernel, p, d, cfg.bn_momentum))
            c_in = f
        self.blocks = nn.Sequential(*blocks)
        with torch.no_grad():
            n_flat = self.blocks(torch.zeros(1, 1, n_time, n_channels)).numel()
        self.head = nn.Linear(n_flat, n_classes)

    n_context = 0

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        return self.classify(self.embed(x), context)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The trunk: the flattened output of the conv blocks."""
        return self.blocks(x.unsqueeze(1)).flatten(1)

    def classify(self, pooled: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """The output layer over :meth:`embed`'s features (the seed's network takes no context)."""
        return self.head(pooled)


def inference_network(net: nn.Module) -> nn.Module:
    """An eval-mode copy of ``net`` for prediction only: in a :class:`CNN1D` each batch norm is
    folded into the convolution before it and dropout is removed, which saves about a sixth of
    the time per window with the same outputs (to float rounding). Other networks are copied as
    they are. The copy is never trained: batch-norm statistics are baked into it."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    out = copy.deepcopy(net).eval()
    if isinstance(out, CNN1D):
        layers = list(out.features)
        fused: list[nn.Module] = []
        i = 0
        while i < len(layers):
            layer = layers[i]
            if (
                isinstance(layer, nn.Conv1d)
                and i + 1 < len(layers)
                and isinstance(layers[i + 1], nn.BatchNorm1d)
            ):
                fused.append(fuse_conv_bn_eval(layer, layers[i + 1]))  # type: ignore[arg-type]
                i += 2
                continue
            if not isinstance(layer, nn.Dropout):
                fused.append(layer)
            i += 1
        out.features = nn.Sequential(*fused)
    return out


def build_network(cfg: ArchConfig, n_channels: int, n_classes: int, n_time: int) -> nn.Module:
    """The torch module for ``cfg``, freshly initialised (seed torch before calling for reproducibility)."""
    if isinstance(cfg, CNN1DConfig):
        return CNN1D(cfg, n_channels, n_classes)
    return Seed2DCNN(cfg, n_channels, n_classes, n_time)
