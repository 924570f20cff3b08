"""The model presets: one table of what each is, what it trains and which options apply to it.

Training (:func:`harlab.ml.training.train`), ``harlab train --help``, the train dialog's preset
list and help, and its curves (which plots a preset fills) all read this table, so a preset is
described and added in one place. Importable without torch: the command line lists the presets
in ``--help``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harlab.core.errors import HarlabError

#: a member trained as a neural network over the window's samples
NETWORKS = ("cnn1d", "seed2d")
#: the member trained as gradient-boosted trees on window features
LIGHTGBM = "lightgbm"

#: the options a preset may take; each names what it changes
OPTIONS = {
    "epochs": "network epochs and early stopping",
    "augment": "network augmentation",
    "architecture": "cnn1d depth, width, kernel, dropout, batch normalisation",
    "context": "each window also seen against the rest of its recording",
    "orientation": "recordings mapped into the orientation most training recordings share",
    "refit": "members trained again on everyone once early stopping has chosen",
    "neighbours": "LightGBM also sees the mean features of the windows beside each window",
}


@dataclass(frozen=True)
class Preset:
    """One preset: ``members`` are trained in this order and their probabilities averaged;
    ``options`` are the keys of :data:`OPTIONS` that apply to it."""

    name: str
    description: str
    members: tuple[str, ...]
    options: frozenset[str]
    #: the preset's own defaults for its cnn1d network, over the architecture's
    #: (:class:`harlab.ml.models.CNN1DConfig`); ``TrainConfig.arch`` and the command line's
    #: options override both
    network_arch: tuple[tuple[str, Any], ...] = ()

    @property
    def network_defaults(self) -> dict[str, Any]:
        """:attr:`network_arch` as a dict."""
        return dict(self.network_arch)

    @property
    def network(self) -> str | None:
        """The network member's kind (``cnn1d``, ``seed2d``), or None for trees alone."""
        return next((m for m in self.members if m in NETWORKS), None)

    @property
    def boosted(self) -> bool:
        """Whether LightGBM is one of the members."""
        return LIGHTGBM in self.members

    def supports(self, option: str) -> bool:
        if option not in OPTIONS:
            raise KeyError(option)
        return option in self.options


_ALL = frozenset(OPTIONS)
_TREES = frozenset({"context", "orientation", "refit", "neighbours"})

#: the ensemble's network: filters 32 doubling up to 64 (the cnn1d preset's: 64 up to 128),
#: unpadded convolutions over each window with margins of its own recording
ENSEMBLE_NETWORK: tuple[tuple[str, Any], ...] = (("width", 32), ("max_width", 64), ("padding", "margins"))

#: every preset, the default first
PRESET_TABLE: tuple[Preset, ...] = (
    Preset(
        "ensemble",
        "1D CNN + LightGBM on window features, probabilities averaged (best measured)",
        ("cnn1d", LIGHTGBM),
        _ALL,
        # a quarter-size network with margins: beside LightGBM it scores as the full-size one
        # (UCI HAPT +0.05, WISDM -0.13 points on two folds, the Fitbit seed +0.01) at a quarter
        # of its CPU per day (docs/ML.md, the network's padding and size)
        network_arch=ENSEMBLE_NETWORK,
    ),
    Preset("cnn1d", "1D CNN over time (configurable depth, width, kernel)", ("cnn1d",), _ALL),
    # the seed's network stays as the seed had it: no context, orientation or refit
    Preset(
        "seed2d",
        "the seed's small 2-D CNN over time x channel (baseline)",
        ("seed2d",),
        frozenset({"epochs", "augment"}),
    ),
    Preset(
        "features",
        "LightGBM on hand-crafted window features (fast; epochs do not apply)",
        (LIGHTGBM,),
        _TREES,
    ),
)

#: preset name -> :class:`Preset`, in the table's order
PRESETS: dict[str, Preset] = {p.name: p for p in PRESET_TABLE}
DEFAULT_PRESET = PRESET_TABLE[0].name

#: how an ensemble's members are weighted by default (harlab.ml.ensemble.WEIGHTINGS): "equal" or "fitted"
#: on the validation participants; fitted scored 2.3 points lower on WISDM fold 0 (docs/ML.md)
DEFAULT_WEIGHTING = "equal"

#: windows on each side whose mean features the LightGBM member also sees (harlab.ml.neighbours;
#: TrainConfig.gbm_neighbours); 0 = each window alone
DEFAULT_GBM_NEIGHBOURS = 0
#: the most windows on each side a member may average (a model file asking for more is refused)
MAX_GBM_NEIGHBOURS = 16

#: training-time augmentation of the networks (harlab.ml.training.augment_batch)
AUGMENT_MODES = ("none", "jitter", "flip", "warp")

#: how a 1-D CNN's convolutions meet a window's edges (what each means: harlab.ml.models)
PADDINGS = ("same", "valid", "margins")


def preset(name: str) -> Preset:
    """The preset called ``name``; an unknown name is a :class:`HarlabError` listing the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise HarlabError(f"unknown preset {name!r}; one of {', '.join(PRESETS)}") from None


def presets_help() -> str:
    """The presets in one sentence, for ``--help``: ``ensemble: ... (the default); cnn1d: ...``."""
    return "; ".join(
        f"{p.name}: {p.description}{' (the default)' if p.name == DEFAULT_PRESET else ''}"
        for p in PRESET_TABLE
    )
