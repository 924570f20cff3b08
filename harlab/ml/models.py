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
from typing import Any, cast

import torch
from torch import nn

from harlab.core.errors import HarlabError
from harlab.ml.model_presets import PADDINGS


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
    #: how each convolution meets the window's edges (:data:`PADDINGS`); a file without the key
    #: is "same", what every model had before the option (:func:`arch_from_dict`)
    padding: str = "same"
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

#: a 1-D CNN's padding. ``"same"`` zero-pads each convolution to keep the length and pools
#: with ceil, so a window's edges see zeros. ``"valid"`` pads nothing and pools with floor: the
#: trunk is then translation-equivariant, and a window's last feature map is a slice of the
#: continuous signal's whenever its offset is a multiple of :func:`pool_product`, which lets
#: overlapping windows share their convolutions (:mod:`harlab.ml.shared_trunk`); but its last
#: map covers only the window's middle (the receptive field eats into both ends).
#: ``"margins"`` is "valid" over the window *with margins* (:func:`margins`) of its own
#: recording's samples on both sides, taken from the windows beside it
#: (:func:`harlab.ml.shared_trunk.with_margins`), so the last map covers the whole window, as
#: "same" does, without ever seeing zeros; equivariant like "valid". (The tuple lives in the
#: torch-free preset table, which the command line's choices read.)


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
    if cls is CNN1DConfig:
        d = {"padding": "same", **d}  # files from before the option: what they were trained with
        check_padding(d["padding"])
    return cls(**d)


def check_padding(padding: Any) -> str:
    """``padding`` if it is one of :data:`PADDINGS`, else a :class:`HarlabError` naming them."""
    if padding not in PADDINGS:
        shown = repr(padding) if isinstance(padding, str) else type(padding).__name__
        raise HarlabError(f"cnn1d padding {shown[:60]} is unknown; expected one of {', '.join(PADDINGS)}")
    return str(padding)


def pool_product(cfg: CNN1DConfig) -> int:
    """How many input samples one step of the last feature map is: 2 per max-pool."""
    pools = sum(1 for i in range(cfg.depth - 1) if cfg.pool_every and (i + 1) % cfg.pool_every == 0)
    return 2**pools


def trunk_span(cfg: CNN1DConfig) -> int:
    """Input samples that one step of the last feature map of an unpadded trunk depends on."""
    span = 1
    for i in reversed(range(cfg.depth)):
        if cfg.pool_every and (i + 1) % cfg.pool_every == 0 and i < cfg.depth - 1:
            span *= 2
        span += cfg.kernel - 1
    return span


def margins(cfg: CNN1DConfig) -> tuple[int, int]:
    """Samples before and after a window that a ``"margins"`` network takes with it: (0, 0)
    for the other paddings. With them the unpadded trunk's last map has one step per
    :func:`pool_product` ``P`` samples of the window (``T // P`` steps), each centred on its
    ``P`` samples: ``span - P`` samples in all (:func:`trunk_span`), the odd one after. For the
    default depth 4, kernel 5 and a pool after each of the first three blocks: 30 and 30."""
    if cfg.padding != "margins":
        return 0, 0
    extra = trunk_span(cfg) - pool_product(cfg)
    return extra // 2, extra - extra // 2


def trunk_length(cfg: CNN1DConfig, n_time: int) -> int:
    """Length of the last feature map for windows of ``n_time`` samples (< 1: too short); a
    ``"margins"`` network's windows come with :func:`margins`, counted here."""
    n = n_time + sum(margins(cfg))
    for i in range(cfg.depth):
        if cfg.padding != "same":
            n -= cfg.kernel - 1
        else:
            n += 2 * (cfg.kernel // 2) - (cfg.kernel - 1)
        if n < 1:
            return n
        if cfg.pool_every and (i + 1) % cfg.pool_every == 0 and i < cfg.depth - 1:
            n = n // 2 if cfg.padding != "same" else -(-n // 2)
    return n


def arch_to_dict(cfg: ArchConfig) -> dict[str, Any]:
    """The architecture's JSON dict. A cnn1d's padding is written only when it is not "same":
    a file of the default architecture stays readable by harlab versions from before the
    option (they refuse unknown keys), and reading fills in "same" for a missing key."""
    d = asdict(cfg)
    if isinstance(cfg, CNN1DConfig) and cfg.padding == "same":
        del d["padding"]
    return d


class CNN1D(nn.Module):
    """Input (batch, time, channels) [+ context (batch, context_inputs)] -> logits (batch, classes).

    A ``"margins"`` network's input is each window with its :attr:`margins` (time = window +
    margins, :meth:`harlab.ml.modelfile.TorchMember.network_windows`).

    With context inputs the pooled convolution features and the context meet in a hidden
    layer before the output, so the context can change what a feature means (the same
    still posture reads as sitting or standing depending on the tilt from the recording's
    upright), not just shift the logits.
    """

    def __init__(self, cfg: CNN1DConfig, n_channels: int, n_classes: int) -> None:
        super().__init__()
        if cfg.depth < 1 or cfg.width < 1 or cfg.kernel < 1:
            raise HarlabError(f"cnn1d needs depth, width and kernel >= 1, got {cfg}")
        same = check_padding(cfg.padding) == "same"
        #: whether a window's last feature map is a slice of the continuous signal's (see PADDINGS)
        self.equivariant = not same
        #: samples before and after each window that the network takes with it (:func:`margins`)
        self.margins = margins(cfg)
        #: input samples per step of the last feature map
        self.pool_product = pool_product(cfg)
        layers: list[nn.Module] = []
        c_in = n_channels
        width = cfg.width
        for i in range(cfg.depth):
            layers.append(
                nn.Conv1d(
                    c_in, width, cfg.kernel, padding=cfg.kernel // 2 if same else 0, bias=not cfg.batch_norm
                )
            )
            if cfg.batch_norm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(nn.ReLU())
            if cfg.pool_every and (i + 1) % cfg.pool_every == 0 and i < cfg.depth - 1:
                layers.append(nn.MaxPool1d(2, ceil_mode=same))
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


class ChannelsLastTrunk(nn.Sequential):
    """A :class:`CNN1D` trunk for inference: each 1-D convolution as a ``1 x k`` 2-D one over
    tensors in channels-last memory ``(batch, 1, time, channels)``, the layout the windows
    already have. Alone, oneDNN's 2-D channels-last kernels took half the CPU time of its 1-D
    ones for the 64 -> 128 filter convolution and a seventh for the 6-channel first one; in the
    whole network, 6 to 10 % less per window on one core (``benchmarks/predict_day.py``,
    ``members.cnn_shared``), with the same outputs to float rounding. Takes and gives
    ``(batch, channels, time)`` like the 1-D trunk it replaces (the result is a strided view)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.unsqueeze(2).contiguous(memory_format=torch.channels_last)
        for layer in self:
            h = layer(h)
        return h.squeeze(2)


def _as_2d(layer: nn.Module) -> nn.Module:
    """One fused 1-D trunk layer as its channels-last 2-D equal (see :class:`ChannelsLastTrunk`)."""
    if isinstance(layer, nn.Conv1d):
        conv = nn.Conv2d(
            layer.in_channels,
            layer.out_channels,
            (1, layer.kernel_size[0]),
            padding=(0, cast(tuple[int], layer.padding)[0]),
            bias=layer.bias is not None,
        )
        conv.weight = nn.Parameter(
            layer.weight.detach().unsqueeze(2).contiguous(memory_format=torch.channels_last)
        )
        if layer.bias is not None:
            conv.bias = nn.Parameter(layer.bias.detach().clone())
        return conv
    if isinstance(layer, nn.MaxPool1d):
        return nn.MaxPool2d((1, cast(int, layer.kernel_size)), ceil_mode=layer.ceil_mode)
    return layer  # ReLU works on any shape


def inference_network(net: nn.Module, channels_last: bool = True) -> nn.Module:
    """An eval-mode copy of ``net`` for prediction only: in a :class:`CNN1D` each batch norm is
    folded into the convolution before it, dropout is removed (together about a sixth of the
    time per window) and the trunk runs as a :class:`ChannelsLastTrunk` (about half of what
    was left), with the same outputs to float rounding. Other networks are copied as they
    are. The copy is never trained: batch-norm statistics are baked into it. ``channels_last=False``
    keeps the 1-D trunk (``benchmarks/predict_day.py`` measures one against the other)."""
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
        out.features = (
            ChannelsLastTrunk(*(_as_2d(m) for m in fused)) if channels_last else nn.Sequential(*fused)
        ).eval()
    return out


def build_network(cfg: ArchConfig, n_channels: int, n_classes: int, n_time: int) -> nn.Module:
    """The torch module for ``cfg``, freshly initialised (seed torch before calling for reproducibility)."""
    if isinstance(cfg, CNN1DConfig):
        if check_padding(cfg.padding) != "same" and trunk_length(cfg, n_time) < 1:
            raise HarlabError(
                f"a cnn1d without padding of depth {cfg.depth} and kernel {cfg.kernel} needs longer "
                f"windows than {n_time} samples"
            )
        return CNN1D(cfg, n_channels, n_classes)
    return Seed2DCNN(cfg, n_channels, n_classes, n_time)
