"""Trained activity models and their file format.

An :class:`ActivityModel` is one or more *members* whose class probabilities are
averaged: a torch network (:class:`TorchMember`), a LightGBM model on window
features (:class:`BoostedFeaturesMember`), or both (the ensemble preset).
:class:`ModelInfo` holds everything needed to apply it to a new session: classes,
input channels with units, rate, window and stride, and where it came from
(training sessions with hashes, metrics, harlab version).

The file is a zip of plain arrays (numpy ``.npz``) plus a JSON header stored as a
byte array. It is read with ``allow_pickle=False`` and every network is rebuilt
from its architecture dict, so opening a model file never executes code from it;
a pickled, truncated or edited file raises :class:`ModelFileError`.

Nothing in the file is trusted before it is checked: the container's sizes
(:mod:`harlab.ml.model_archive`), every header field (:mod:`harlab.ml.model_header`), each
network's weights against the shapes its architecture gives for the header's channels,
classes and window (worked out on torch's ``meta`` device, which allocates nothing), and
LightGBM's text against the header's classes and feature columns
(:mod:`harlab.ml.booster_text`). :meth:`ActivityModel.load` is the one validation: the
registry registers only what it loads.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import torch

from harlab import __version__
from harlab.core import files
from harlab.core.errors import HarlabError
from harlab.ml.booster_text import check_booster_text
from harlab.ml.compiled_trees import CompiledTrees, compile_booster
from harlab.ml.context import (
    CONTEXT_NAMES,
    REF_SIZE,
    RecordingReferences,
    References,
    context_features,
    network_context,
    reference_size,
    references_by_recording,
    relative_features,
)
from harlab.ml.features import FEATURES_VERSION, n_features, window_features
from harlab.ml.model_archive import read_arrays
from harlab.ml.model_header import check_header, parse_header
from harlab.ml.model_presets import MAX_GBM_NEIGHBOURS
from harlab.ml.models import CNN1D, ArchConfig, arch_from_dict, arch_to_dict, build_network, inference_network
from harlab.ml.neighbours import halo_for, neighbour_mean
from harlab.ml.orientation import TRANSFORMS, canonicalise, choose
from harlab.ml.shared_trunk import embed_windows, with_margins

FORMAT = "harlab-activity-model"
FORMAT_VERSION = 1
_HEADER = "__header__"


class ModelFileError(HarlabError):
    """A model file cannot be read: not a harlab model, corrupt, tampered with, or too new."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


@dataclass
class ModelInfo:
    """What a model expects as input and where it came from.

    ``channels`` are ``stream:channel`` names and ``units`` their units (SI), in the
    order of the last axis of a window; ``stream_kinds`` lets the model find an
    equivalent stream under another name (for example ``accelerometer``).
    """

    classes: list[str]
    channels: list[str]
    units: list[str]
    rate_hz: float
    window_s: float
    stride_s: float
    stream_kinds: list[str] = field(default_factory=list)
    track: str = "activity"
    label_policy: str = "majority"
    preset: str = ""
    name: str = "activity-model"
    harlab_version: str = __version__
    created_utc: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    training_sessions: list[dict[str, Any]] = field(default_factory=list)
    train_config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    n_train_windows: int = 0
    #: the wearing orientation most training recordings share (:mod:`harlab.ml.orientation`);
    #: None for models trained without (and for files from before it)
    orientation_upright: list[float] | None = None
    #: a personal model's provenance (:mod:`harlab.ml.calibration`): its parent model (name, file
    #: hash, path, MLflow run), the calibration sessions (ids, files, time ranges), the classes it
    #: was calibrated on and the scores before and after; None for a general model
    calibration: dict[str, Any] | None = None

    @property
    def n_time(self) -> int:
        """Samples per window."""
        return int(round(self.window_s * self.rate_hz))

    def stride_samples(self) -> int:
        """Samples per training stride (at least 1)."""
        return max(1, int(round(self.stride_s * self.rate_hz)))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelInfo:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


#: the largest magnitude a network's input takes (:meth:`TorchMember.normalise`), in standard deviations
NORMALISED_LIMIT = np.float32(1e6)


class TorchMember:
    """A network plus the per-channel normalisation fitted on its training windows.

    A network built with ``context_inputs`` also takes each window's recording context
    (:func:`harlab.ml.context.network_context`), so the member needs the channels and
    units to find the accelerometer.
    """

    kind = "torch"

    def __init__(
        self,
        arch: ArchConfig,
        net: torch.nn.Module,
        mean: np.ndarray,
        std: np.ndarray,
        channels: list[str] | None = None,
        units: list[str] | None = None,
    ) -> None:
        self.arch = arch
        self.net = net.eval()
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        self.channels = list(channels or [])
        self.units = list(units or [])
        #: the fused copy of ``net`` while a prediction run holds it (:meth:`held_for_inference`)
        self._held: torch.nn.Module | None = None

    @contextlib.contextmanager
    def held_for_inference(self) -> Iterator[None]:
        """Within the block, every :meth:`predict_proba` uses one fused copy of the network
        (:func:`~harlab.ml.models.inference_network`) instead of fusing its own: the copy takes
        about 50 ms, paid per batch of a session's prediction (a second a day, ten a week). The
        weights must not change inside the block (prediction never trains); outside it each call
        fuses the network as it is then."""
        if self._held is not None:  # already held by an enclosing block
            yield
            return
        self.net.eval()
        self._held = inference_network(self.net)
        try:
            yield
        finally:
            self._held = None

    def __getstate__(self) -> dict[str, Any]:
        """Picklable without the held copy, which belongs to one prediction run."""
        return {**self.__dict__, "_held": None}

    def normalise(self, X: np.ndarray) -> np.ndarray:
        """Samples in the network's units (standard deviations from the training mean), held to
        ±:data:`NORMALISED_LIMIT`: a finite but absurd value (a session file holding 3e38) would
        otherwise overflow the convolutions' sums to inf - inf = NaN probabilities. Real movement
        is a few hundred at most, so nothing a sensor records is changed."""
        with np.errstate(over="ignore"):  # what overflows to inf is held to the limit below
            out = (np.asarray(X, np.float32) - self.mean) / self.std
        return np.clip(out, -NORMALISED_LIMIT, NORMALISED_LIMIT, out=out)

    @property
    def margins(self) -> tuple[int, int]:
        """Samples before and after each window that the network takes with it ((0, 0) but for
        a ``"margins"`` network, :func:`harlab.ml.models.margins`)."""
        before, after = getattr(self.net, "margins", (0, 0))
        return int(before), int(after)

    def network_windows(self, X: np.ndarray) -> np.ndarray:
        """What the network takes for windows ``X`` (N, T, C), before :meth:`normalise`: the
        windows themselves, or for a ``"margins"`` network each with its margins from the
        windows beside it in ``X`` (:func:`~harlab.ml.shared_trunk.with_margins`)."""
        return with_margins(X, *self.margins)

    @property
    def uses_context(self) -> bool:
        return int(getattr(self.net, "n_context", 0)) > 0

    def context_inputs(self, X: np.ndarray, context: References | None = None) -> np.ndarray | None:
        """The network's context columns for windows ``X`` (None when it takes none);
        ``context``: each window's recording reference, None = the windows are one recording."""
        if not self.uses_context:
            return None
        if context is None:
            context = references_by_recording(X, np.zeros(len(X)), self.channels, self.units)
        return network_context(X, context, self.channels, self.units)

    def predict_proba(
        self, X: np.ndarray, batch: int = 128, context: References | None = None, share: bool = True
    ) -> np.ndarray:
        """Class probabilities (N, K); batches of 128 windows keep a batch's activations in the
        CPU's caches (512 took as long to 1.5 times as long per window on a loaded machine,
        ``benchmarks/predict_day.py`` measures both; 2048 was a quarter slower than 512).

        A 1-D CNN without padding computes overlapping windows' convolutions once
        (:mod:`harlab.ml.shared_trunk`), with the same outputs to float rounding; ``share=False``
        computes every window alone (to measure one against the other). A ``"margins"`` network
        takes each window's margins from the windows beside it in ``X`` (:meth:`network_windows`)."""
        net = self._held
        if net is None:
            self.net.eval()
            net = inference_network(self.net)
        ctx = self.context_inputs(X, context)
        out = []
        with torch.inference_mode():
            if isinstance(net, CNN1D) and net.equivariant and share:
                # the margins cut with each run's segments (network_windows' very samples)
                pooled, _ = embed_windows(net, X, self.normalise, batch, margins=self.margins)
                for i in range(0, len(X), batch):
                    cb = None if ctx is None else torch.from_numpy(ctx[i : i + batch])
                    out.append(torch.softmax(net.classify(pooled[i : i + batch], cb), dim=1).numpy())
            else:
                X = self.network_windows(X)
                for i in range(0, len(X), batch):
                    xb = torch.from_numpy(np.ascontiguousarray(self.normalise(X[i : i + batch])))
                    cb = None if ctx is None else torch.from_numpy(ctx[i : i + batch])
                    out.append(torch.softmax(net(xb, cb), dim=1).numpy())
        return np.concatenate(out) if out else np.zeros((0, self.net_classes()), np.float32)

    def net_classes(self) -> int:
        return int(cast(torch.nn.Linear, self.net.head).out_features)  # both networks end in a Linear

    def header(self) -> dict[str, Any]:
        return {"kind": self.kind, "arch": arch_to_dict(self.arch)}

    def arrays(self) -> dict[str, np.ndarray]:
        arrs = {f"state/{k}": v.detach().cpu().numpy() for k, v in self.net.state_dict().items()}
        arrs["norm/mean"] = self.mean
        arrs["norm/std"] = self.std
        return arrs

    @classmethod
    def restore(cls, header: dict[str, Any], arrays: dict[str, np.ndarray], info: ModelInfo) -> TorchMember:
        arch = arch_from_dict(dict(header["arch"]))
        n_channels, n_classes, n_time = len(info.channels), len(info.classes), info.n_time
        try:  # the shapes the header promises, without allocating a single weight
            with torch.device("meta"):
                expected = {
                    k: (tuple(v.shape), v.dtype)
                    for k, v in build_network(arch, n_channels, n_classes, n_time).state_dict().items()
                }
        except (RuntimeError, ValueError) as exc:
            raise HarlabError(
                f"the {arch.kind} architecture does not fit windows of {n_time} samples x "
                f"{n_channels} channels: {exc}"
            ) from exc
        given = {k[len("state/") :]: v for k, v in arrays.items() if k.startswith("state/")}
        missing = sorted(set(expected) - set(given))
        extra = sorted(set(given) - set(expected))
        if missing or extra:
            raise HarlabError(
                f"weights do not match the architecture: missing {missing[:3]}, unexpected {extra[:3]}"
            )
        for k, (shape, dtype) in expected.items():
            v = given[k]
            if tuple(v.shape) != shape:
                raise HarlabError(
                    f"weight {k!r} has shape {tuple(v.shape)}, expected {shape} for {n_channels} "
                    f"channels, {n_classes} classes and {n_time}-sample windows"
                )
            if dtype.is_floating_point and v.dtype.kind != "f":
                raise HarlabError(f"weight {k!r} holds {v.dtype} values; expected floats")
            if dtype.is_floating_point and not np.all(np.isfinite(v)):
                raise HarlabError(f"weight {k!r} holds values that are not finite numbers")
        net = build_network(arch, n_channels, n_classes, n_time)
        state = {
            k: torch.from_numpy(given[k] if given[k].flags.c_contiguous else given[k].copy(order="C")).to(
                dtype
            )
            for k, (_, dtype) in expected.items()
        }
        net.load_state_dict(state, strict=True)
        mean, std = arrays.get("norm/mean"), arrays.get("norm/std")
        if mean is None or std is None or mean.shape != (n_channels,) or std.shape != mean.shape:
            raise HarlabError("normalisation arrays are missing or do not match the channels")
        if mean.dtype.kind != "f" or std.dtype.kind != "f":
            raise HarlabError("normalisation arrays are not floats")
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
            raise HarlabError("normalisation arrays hold non-finite or non-positive values")
        return cls(arch, net, mean, std, list(info.channels), list(info.units))


class BoostedFeaturesMember:
    """LightGBM on :func:`harlab.ml.features.window_features`; stored as LightGBM's own text format."""

    kind = "lightgbm"

    def __init__(
        self,
        booster: Any,
        rate_hz: float,
        triads: list[tuple[int, int, int]],
        n_classes: int,
        units: list[str] | None = None,
        features_version: int = FEATURES_VERSION,
        channels: list[str] | None = None,
        uses_context: bool = False,
        relative: bool = False,
        neighbours: int = 0,
        step: int = 0,
    ) -> None:
        self.booster = booster
        #: windows on each side whose mean window features join each window's
        #: (:mod:`harlab.ml.neighbours`), ``step`` samples (the model's stride) apart; 0 = none
        self.neighbours = int(neighbours)
        self.step = int(step)
        if self.neighbours and not (0 < self.neighbours <= MAX_GBM_NEIGHBOURS and self.step >= 1):
            raise HarlabError(
                f"a member's neighbours must be 1..{MAX_GBM_NEIGHBOURS} windows of a step >= 1 sample, "
                f"got {self.neighbours} of {self.step}"
            )
        self.channels = list(channels or [])
        self.uses_context = bool(uses_context)  #: window features + :mod:`harlab.ml.context` columns
        #: and, with the context, the window features against the recording's median
        #: (:func:`harlab.ml.context.relative_features`); files from before them have none
        self.relative = self.uses_context and bool(relative)
        self.rate_hz = float(rate_hz)
        self.triads = cast(list[tuple[int, int, int]], [tuple(int(i) for i in t) for t in triads])
        self.n_classes = n_classes
        self.units = list(units or [])
        self.features_version = int(features_version)
        #: whether to compile the trees for inference (:meth:`compiled`); off, LightGBM predicts
        self.compile_trees = True
        self._compiled: CompiledTrees | None = None
        self._compiled_for: Any = None  #: the booster the compiled trees were built from
        self._compile_lock = threading.Lock()
        #: the SHA-256 of the validated model text the booster was parsed from, and that booster:
        #: names its compiled trees in the cache (:func:`~harlab.ml.compiled_trees.compile_booster`)
        self._text_sha256: str | None = None
        self._text_booster: Any = None

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (a model sent to another process, e.g. a Dask worker): without the compiled
        trees and their lock, which the receiving process builds again on first use."""
        state = dict(self.__dict__)
        state.update(_compiled=None, _compiled_for=None, _compile_lock=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._compile_lock = threading.Lock()

    def compiled(self) -> CompiledTrees | None:
        """The booster's trees compiled for onnxruntime (:mod:`harlab.ml.compiled_trees`), built
        on first use from the booster (the one that passed validation) and kept with it; None
        when they cannot be compiled exactly, and LightGBM predicts."""
        if not self.compile_trees:
            return None
        with self._compile_lock:
            if self._compiled_for is not self.booster:
                key = self._text_sha256 if self._text_booster is self.booster else None
                self._compiled = None if self.booster is None else compile_booster(self.booster, key=key)
                self._compiled_for = self.booster
            return self._compiled

    def features(
        self, X: np.ndarray, context: References | None = None, window_feats: np.ndarray | None = None
    ) -> np.ndarray:
        """Window features, plus the recording-context columns when the member uses them
        (``context``: each window's recording reference; None = the windows are one recording).
        ``window_feats``: :func:`~harlab.ml.features.window_features` of ``X`` at this member's
        version, already computed (a session's prediction computes them once for the reference)."""
        F = (
            window_features(X, self.rate_hz, self.triads, self.units, version=self.features_version)
            if window_feats is None
            else window_feats
        )
        if not self.uses_context and not self.neighbours:
            return F
        ctx = None
        if self.uses_context:
            if context is None:
                context = self.references(X)
            ctx = context_features(X, context, self.channels, self.units)
        # the columns written in place: a day's rows are 650 MB, not to be copied again; laid out
        # as F is (a session's prediction keeps its features feature by feature, which the
        # compiled trees read as they lie)
        n_f = F.shape[1]
        n_c = 0 if ctx is None else ctx.shape[1]
        n_r = n_f if self.relative else 0
        n_n = n_f if self.neighbours else 0
        order: Literal["C", "F"] = "F" if F.ndim == 2 and F.strides[0] < F.strides[1] else "C"
        dtype = F.dtype if ctx is None else np.result_type(F, ctx)
        out = np.empty((len(F), n_f + n_c + n_r + n_n), dtype, order=order)
        out[:, :n_f] = F
        if ctx is not None:
            out[:, n_f : n_f + n_c] = ctx
        if self.relative:
            relative_features(F, cast(References, context), out=out[:, n_f + n_c : n_f + n_c + n_r])
        if self.neighbours:
            out[:, n_f + n_c + n_r :] = neighbour_mean(F, X, self.step, self.neighbours)
        return out

    def references(self, X: np.ndarray) -> References:
        """The reference of windows X taken as one recording, as this member needs it (with the
        feature medians when it takes relative features)."""
        return references_by_recording(
            X, np.zeros(len(X)), self.channels, self.units, self.rate_hz if self.relative else None
        )

    def predict_proba(
        self,
        X: np.ndarray,
        feats: np.ndarray | None = None,
        context: References | None = None,
        window_feats: np.ndarray | None = None,
    ) -> np.ndarray:
        """Class probabilities (N, K); ``feats``: the whole feature rows of :meth:`features`,
        ``window_feats``: only the window features (see :meth:`features`)."""
        F = self.features(X, context, window_feats) if feats is None else feats
        if len(F) == 0:
            return np.zeros((0, self.n_classes), np.float32)
        return self.predict_features(F)

    def predict_features(self, F: np.ndarray, compiled: bool = True) -> np.ndarray:
        """Class probabilities (N, K) of feature rows ``F`` (:meth:`features`): through the compiled
        trees when there are any (``compiled``), else LightGBM's predict, which they equal to ~1e-6."""
        trees = self.compiled() if compiled else None
        if trees is not None:
            return trees.predict(F)
        p = np.asarray(self.booster.predict(F, num_threads=torch.get_num_threads()), np.float32)
        if p.ndim == 1:  # binary objective
            p = np.stack([1 - p, p], axis=1)
        return p

    def header(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "rate_hz": self.rate_hz,
            "triads": [list(t) for t in self.triads],
            "features_version": self.features_version,
            "recording_context": self.uses_context,
            "recording_relative": self.relative,
            # only when there are any: a file without neighbours stays readable by older harlab
            **({"neighbours": self.neighbours} if self.neighbours else {}),
        }

    def arrays(self) -> dict[str, np.ndarray]:
        text = self.booster.model_to_string().encode("utf-8")
        return {"booster": np.frombuffer(text, dtype=np.uint8)}

    @classmethod
    def restore(
        cls, header: dict[str, Any], arrays: dict[str, np.ndarray], info: ModelInfo
    ) -> BoostedFeaturesMember:
        import lightgbm as lgb

        # files written before feature versions existed used version 1
        version = int(header.get("features_version", 1))
        if version not in (1, FEATURES_VERSION):
            raise HarlabError(
                f"the model's window features are version {version}; this harlab knows 1 and "
                f"{FEATURES_VERSION}: update harlab to apply it"
            )
        member = cls(
            None,
            float(header["rate_hz"]),
            [tuple(t) for t in header["triads"]],
            len(info.classes),
            list(info.units),
            version,
            list(info.channels),
            bool(header.get("recording_context", False)),
            bool(header.get("recording_relative", False)),
            int(header.get("neighbours", 0)),
            info.stride_samples(),
        )
        raw = arrays.get("booster")
        if raw is None or raw.dtype != np.uint8 or raw.ndim != 1:
            raise HarlabError("the LightGBM model text is missing")
        text = check_booster_text(raw.tobytes(), member.n_feature_columns(), len(info.classes))
        try:
            member.booster = lgb.Booster(model_str=text)
        except Exception as exc:  # LightGBM raises its own LightGBMError on bad text
            raise HarlabError(f"the LightGBM model text does not parse: {exc}") from exc
        member._text_sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
        member._text_booster = member.booster
        return member

    def n_window_features(self) -> int:
        """How many window features a window has (:func:`~harlab.ml.features.window_features`);
        the windows beside it add as many, the last columns of :meth:`features`."""
        return n_features(2, len(self.channels), 1.0, self.triads, self.units, self.features_version)

    def n_feature_columns(self) -> int:
        """How many columns :meth:`features` gives the booster (the count does not depend on the
        window length or rate, so a two-sample probe tells it)."""
        base = self.n_window_features()
        near = base if self.neighbours else 0
        if not self.uses_context:
            return base + near
        if not self.relative:
            return base + len(CONTEXT_NAMES) + near
        medians = reference_size(self.channels, self.units, self.rate_hz) - REF_SIZE
        if self.features_version != FEATURES_VERSION or medians != base:
            raise HarlabError(
                f"the member compares {base} window features with a recording's {medians} median "
                "features; they must be the same columns"
            )
        return 2 * base + len(CONTEXT_NAMES) + near


Member = TorchMember | BoostedFeaturesMember
_RESTORERS: dict[str, Callable[..., Member]] = {
    "torch": TorchMember.restore,
    "lightgbm": BoostedFeaturesMember.restore,
}


def _beside(context: References | None, before: int, after: int) -> References | None:
    """``context`` for ``before`` windows ahead of its first and ``after`` past its last: the
    same recording's reference as the window they are next to."""
    if context is None or before == after == 0:
        return context
    if isinstance(context, RecordingReferences):
        idx = context.index
        return RecordingReferences(
            context.table, np.concatenate([np.repeat(idx[:1], before), idx, np.repeat(idx[-1:], after)])
        )
    rows = np.asarray(context)
    return np.concatenate([np.repeat(rows[:1], before, axis=0), rows, np.repeat(rows[-1:], after, axis=0)])


def _with_halo_features(
    member: BoostedFeaturesMember, X: np.ndarray, core_feats: np.ndarray | None, before: int, after: int
) -> np.ndarray | None:
    """The window features of ``X`` (a batch with ``before`` and ``after`` windows beside it)
    from ``core_feats``, the batch's own already computed, and the few beside it computed
    here; None (all computed by the member) when the batch's are not given."""
    if core_feats is None or member.features_version != FEATURES_VERSION:
        return None
    n = len(X) - before - after

    def of(part: np.ndarray) -> np.ndarray:
        return window_features(
            part, member.rate_hz, member.triads, member.units, version=member.features_version
        )

    parts = [of(X[:before])] if before else []
    parts.append(np.asarray(core_feats, np.float32))
    if after:
        parts.append(of(X[before + n :]))
    return np.concatenate(parts)


class ActivityModel:
    """A trained classifier of windows (N, T, C) in physical units -> class probabilities."""

    def __init__(self, info: ModelInfo, members: list[Member], weights: list[float] | None = None) -> None:
        if not members:
            raise HarlabError("a model needs at least one member")
        self.info = info
        self.members = members
        self.weights = list(weights) if weights is not None else [1.0] * len(members)
        #: per-member training curves (epoch, loss, acc, val_*) of a freshly trained model; not saved
        self.history: dict[str, list[dict[str, float]]] = {}
        #: a freshly trained model's probabilities for its validation windows, from the members as they
        #: were before any refit on them (honest scores); not saved
        self.validation_proba: np.ndarray | None = None

    @property
    def classes(self) -> list[str]:
        return self.info.classes

    @property
    def uses_context(self) -> bool:
        """Whether a member compares windows with the rest of their recording (:mod:`harlab.ml.context`)."""
        return any(m.uses_context for m in self.members)

    @property
    def needs_references(self) -> bool:
        """Whether applying the model needs each window's recording reference: for the context
        or to map the recording into the orientation the model was trained in."""
        return self.uses_context or self.info.orientation_upright is not None

    def recording_references(
        self,
        X: np.ndarray,
        recordings: np.ndarray | None = None,
        executor: Executor | None = None,
        window_feats: np.ndarray | None = None,
    ) -> References | None:
        """Per-window recording references for :meth:`predict_proba` (None when the model needs
        none); ``recordings`` labels each window's recording, default: all one recording;
        ``executor`` runs the window features of the reference on its threads, unless they are
        given (``window_feats``, the current version's, of ``X``)."""
        if not self.needs_references:
            return None
        rec = np.zeros(len(X)) if recordings is None else recordings
        # the window-feature medians cost a pass of feature extraction: only when a member uses them
        rate = self.info.rate_hz if any(getattr(m, "relative", False) for m in self.members) else None
        return references_by_recording(
            np.asarray(X, np.float32), rec, self.info.channels, self.info.units, rate, executor, window_feats
        )

    def wearing_orientation(self, X: np.ndarray, context: References | None = None) -> str:
        """How the model takes windows X of one recording: ``"as worn"`` or the transform
        (:data:`harlab.ml.orientation.TRANSFORMS`) that maps them into its training orientation."""
        if self.info.orientation_upright is None:
            return TRANSFORMS[0]
        if context is None:  # the upright alone: no pass of window features for the medians
            X = np.asarray(X, np.float32)
            context = references_by_recording(X, np.zeros(len(X)), self.info.channels, self.info.units)
        refs = context
        if refs is None or len(refs) == 0:
            return TRANSFORMS[0]
        return TRANSFORMS[int(choose(refs[:1], self.info.orientation_upright)[0])]

    @contextlib.contextmanager
    def held_for_inference(self) -> Iterator[None]:
        """Prepare each member once for many :meth:`predict_proba` calls (a session's batches):
        see :meth:`TorchMember.held_for_inference`."""
        with contextlib.ExitStack() as stack:
            for m in self.members:
                if isinstance(m, TorchMember):
                    stack.enter_context(m.held_for_inference())
            yield

    def takes_window_features(self) -> bool:
        """Whether a member computes :func:`~harlab.ml.features.window_features` of the current
        version, which a session's prediction can then compute once for every use."""
        return any(
            isinstance(m, BoostedFeaturesMember) and m.features_version == FEATURES_VERSION
            for m in self.members
        )

    def halo_windows(self, hop: int) -> int:
        """How many windows on each side of a batch the members need to see beside it, for
        windows ``hop`` samples apart: a ``"margins"`` network takes its margins from them rather
        than repeat the batch's end samples, a member with ``neighbours`` averages their features
        (:mod:`harlab.ml.neighbours`); 0 for a model without either (its batches need nothing)."""
        need = max((max(m.margins) for m in self.members if isinstance(m, TorchMember)), default=0)
        margin = 0 if need == 0 else -(-need // max(1, int(hop)))
        near = max(
            (
                halo_for(m.neighbours, m.step, hop)
                for m in self.members
                if isinstance(m, BoostedFeaturesMember)
            ),
            default=0,
        )
        return max(margin, near)

    def predict_proba(
        self,
        X: np.ndarray,
        context: References | None = None,
        window_feats: np.ndarray | None = None,
        halo: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Weighted mean of the members' probabilities, (N, K) float32.

        ``context`` (from :meth:`recording_references`) matters for models that use the
        recording context or map orientation; without it the windows given are taken as one
        recording. ``window_feats``: the current version's window features of ``X`` as given,
        when already computed; used unless the windows are mapped into another orientation.
        ``halo``: windows of the same recording just before and just after ``X`` (each (n, T, C),
        :meth:`halo_windows` of them), from which a ``"margins"`` network takes the margins of the
        windows at ``X``'s ends and a member with neighbours their features, so that a session
        cut into batches gets the probabilities of one piece; nothing is predicted for them,
        and other members never see them.
        """
        X = np.asarray(X, np.float32)
        want = (len(self.info.channels),)
        if X.ndim != 3 or X.shape[2:] != want:
            raise HarlabError(f"windows must be N x T x {want[0]}, got shape {X.shape}")
        n = len(X)
        total = np.zeros((n, len(self.classes)), np.float64)
        if context is None and self.needs_references:
            context = self.recording_references(X)
        before = after = 0
        if halo is not None and n and self.halo_windows(1):  # a member takes them
            pre, post = (np.asarray(h, np.float32) for h in halo)
            for h in (pre, post):
                if len(h) and h.shape[1:] != X.shape[1:]:
                    raise HarlabError(
                        f"windows beside a batch must be N x {X.shape[1]} x {want[0]}, got {h.shape}"
                    )
            before, after = len(pre), len(post)
            X = np.concatenate([pre.reshape(-1, *X.shape[1:]), X, post.reshape(-1, *X.shape[1:])])
            context = _beside(context, before, after)
        X, context, turned = canonicalise(
            X, context, self.info.orientation_upright, self.info.channels, self.info.units
        )
        core = slice(before, before + n)
        X_core = X[core] if before or after else X
        ctx_core = context[core] if context is not None and (before or after) else context
        if window_feats is not None and (turned[core].any() or len(window_feats) != n):
            window_feats = None  # features of the windows as worn, not as the model takes them
        for m, w in zip(self.members, self.weights, strict=True):
            if isinstance(m, BoostedFeaturesMember) and m.neighbours and (before or after):
                # the windows beside the batch lend their features; only the batch's are predicted
                feats = m.features(X, context, _with_halo_features(m, X, window_feats, before, after))
                p = m.predict_features(feats[core])
            elif isinstance(m, BoostedFeaturesMember) and m.features_version == FEATURES_VERSION:
                p = m.predict_proba(X_core, context=ctx_core, window_feats=window_feats)
            elif isinstance(m, TorchMember) and any(m.margins) and (before or after):
                p = m.predict_proba(X, context=context)[core]
            else:
                p = m.predict_proba(X_core, context=ctx_core)
            total += w * p
        return (total / sum(self.weights)).astype(np.float32)

    def predict(self, X: np.ndarray, context: References | None = None) -> np.ndarray:
        return self.predict_proba(X, context).argmax(1)

    # -- file ----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write atomically (temporary file + rename) and return the path."""
        path = Path(path)
        header = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "info": asdict(self.info),
            "weights": self.weights,
            "members": [m.header() for m in self.members],
        }
        arrays: dict[str, np.ndarray] = {
            _HEADER: np.frombuffer(json.dumps(header, indent=1).encode("utf-8"), dtype=np.uint8)
        }
        for i, m in enumerate(self.members):
            for k, v in m.arrays().items():
                arrays[f"m{i}/{k}"] = np.asarray(v, order="C")
        path.parent.mkdir(parents=True, exist_ok=True)
        with files.atomic_open(path, "wb") as f:
            np.savez_compressed(f, **arrays)  # type: ignore[arg-type]
        return path

    @classmethod
    def load(cls, path: str | Path) -> ActivityModel:
        """Read a model file without executing anything from it, checking everything it declares
        (see the module docstring) before a network or booster touches data; any problem is a
        :class:`ModelFileError` naming the file."""
        path = Path(path)
        try:
            return cls._load_checked(path)
        except ModelFileError:
            raise
        except MemoryError as exc:
            raise ModelFileError(path, "the model does not fit in memory") from exc
        except RecursionError as exc:
            raise ModelFileError(path, "the model nests too deeply") from exc
        except (HarlabError, KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ModelFileError(path, f"invalid model: {exc}") from exc

    @classmethod
    def _load_checked(cls, path: Path) -> ActivityModel:
        try:
            arrays = read_arrays(path)
        except HarlabError as exc:
            raise ModelFileError(path, str(exc)) from exc
        if _HEADER not in arrays:
            raise ModelFileError(path, f"no {_HEADER} entry: not a harlab model file")
        try:
            header = parse_header(arrays.pop(_HEADER))
            check_header(header, FORMAT, FORMAT_VERSION)
        except HarlabError as exc:
            raise ModelFileError(path, str(exc)) from exc
        n_members = len(header["members"])
        stray = sorted(k for k in arrays if not any(k.startswith(f"m{i}/") for i in range(n_members)))
        if stray:
            raise ModelFileError(path, f"arrays that belong to no member: {stray[:3]}")
        info = ModelInfo.from_dict(header["info"])
        members: list[Member] = []
        for i, mh in enumerate(header["members"]):
            prefix = f"m{i}/"
            marr = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
            try:
                members.append(_RESTORERS[mh["kind"]](mh, marr, info))
            except HarlabError as exc:
                raise ModelFileError(path, f"member {i} ({mh['kind']}): {exc}") from exc
        weights = [float(w) for w in header.get("weights", [1.0] * len(members))]
        return cls(info, members, weights)
