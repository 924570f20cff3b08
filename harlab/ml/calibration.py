"""Personal models: a general model adapted to one participant from a few labelled minutes.

A general model is strong across people, but people move and wear a device differently, and
the worst participants of a subject-independent evaluation score far below the mean. A short
labelled recording of the participant (30-60 s of each activity) is enough to adapt it:

* the participant's windows are cut as training cuts them
  (:func:`harlab.ml.dataset.build_dataset` with the model's track, window, rate, channels and
  classes), one at least every :attr:`CalibrationConfig.stride_s` (1 s), and mapped into the
  model's wearing orientation as prediction does;
* the network member keeps its trunk (and context mix) frozen and gets two candidate output
  layers over the trunk's features: the general one fine-tuned, and a class-mean head of the
  participant's own, both temperature-matched to the general head's confidence; the trunk's
  features are computed once per window (and for a few jittered copies), so an epoch costs a
  matrix product;
* the LightGBM member keeps its trees and grows a few more on the participant's windows
  (continued boosting from the general booster, class-weighted);
* held out (:func:`held_out_folds`): by default cross-fitted (``folds=5``), each of 5 folds of
  time blocks held out in turn from a fit on the rest, so every calibration window is judged by
  a fit that did not see it; with ``folds=1`` the last bout of an activity recorded in several,
  else the last time block of each class of each recording (:func:`held_out_windows`). The windows
  overlapping held-out ones are left out of the fit (:func:`held_out_gap`). Early stopping
  watches them, and the ensemble's blend (general / fine-tuned / class-mean heads, general or
  extended trees, member weights) is chosen on them by macro-F1, then log loss; a gain that is
  not clearly above ``min_gain`` over resamplings of the held-out windows (``evidence``; or
  under ``strong_gain`` with ``evidence="fixed"``) is weak evidence and keeps the general model
  (``weak_share``), as does too little held out. Once chosen, the heads and trees are fitted
  again on all the calibration windows and blended as chosen;
* a class the participant labelled too little of (or not at all) keeps the general model's
  behaviour: its output row of the network and its trees are never updated (its gradient is
  zero), so its score for any window is the general model's. It stays in the class list.

Calibration refuses, with a message saying what is missing, data of one class, and classes
with fewer than :attr:`CalibrationConfig.min_windows_per_class` windows do not count.

The personal model records its parent and the calibration sessions in
``ModelInfo.calibration`` (docs/ML.md, "Personal models"). Tracking (an MLflow run linked to
the parent's run, a registered version) is :mod:`harlab.mlops.calibration_pipeline`.
"""

from __future__ import annotations

import copy
import json
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from harlab.core.errors import HarlabError
from harlab.core.metadata import sha256_of
from harlab.core.session import Session
from harlab.core.wording import counted
from harlab.ml.booster_text import check_booster_text
from harlab.ml.context import References
from harlab.ml.dataset import N_TIME_BLOCKS, Dataset, build_dataset
from harlab.ml.features import find_triads
from harlab.ml.metrics import classification_report
from harlab.ml.modelfile import ActivityModel, BoostedFeaturesMember, Member, TorchMember
from harlab.ml.models import CNN1D, Seed2DCNN
from harlab.ml.orientation import canonicalise
from harlab.ml.training import (
    ProgressFn,
    TrainingCancelled,
    TrainProgress,
    augment_batch,
    class_weights,
    set_threads,
)

#: the time block of each class of each recording that early stopping and the before/after watch
HELD_OUT_BLOCK = f"time block {N_TIME_BLOCKS}"


class CalibrationRefused(HarlabError):
    """The calibration data cannot adapt the model (one class, too little time, wrong channels)."""


@dataclass
class CalibrationConfig:
    """How a general model is adapted; the defaults keep a calibration well under a minute."""

    epochs: int = 40  #: at most, for the network's last layers (an epoch is cheap: the trunk is frozen)
    #: calibration cuts a window at least this often, in seconds (the model's stride when that is
    #: shorter): at WISDM's 5 s stride a minute of an activity is 11 windows, at 1 s it is 51,
    #: each shifted by a second; on WISDM at 60 s this took the calibrated mean from 0.869 to
    #: 0.891 macro-F1 (docs/ML.md, "Personal models"). The personal model keeps the general
    #: model's stride: only calibration sees the denser windows
    stride_s: float = 1.0
    patience: int = 8
    lr: float = 2e-3
    batch_size: int = 32
    #: pull of the last layers towards the general model's weights (L2 on the difference): a few
    #: minutes of one person must not undo what many people taught
    anchor: float = 1e-3
    #: jittered copies of each window (small rotations and scaling, as training's "jitter")
    #: whose trunk features join the originals; 0 = the windows as recorded only
    augment_copies: int = 2
    gbm_rounds: int = 80  #: new boosting rounds, at most
    gbm_patience: int = 15
    gbm_lr: float = 0.1
    gbm_leaves: int = 7
    gbm_min_data: int = 3  #: windows per leaf of the new trees
    #: features each new tree may split on, as the general model's training (and 2.5x faster than 0.5)
    gbm_feature_fraction: float = 0.2
    #: L2 on the new leaves: with little data their values shrink towards 0 (the general trees'
    #: answer), with more the participant's windows outweigh it
    gbm_l2: float = 10.0
    #: a class with fewer windows keeps the general model's behaviour (2 windows of WISDM's 10 s
    #: every 5 s are its first 15 s)
    min_windows_per_class: int = 2
    #: when no window can be held out (under 5 windows of every activity) nothing watches the
    #: fit, so it takes these few epochs and rounds at most
    epochs_unwatched: int = 10
    rounds_unwatched: int = 20
    refit: bool = True  #: fit again on every calibration window once early stopping has chosen
    #: leave out of the fit the windows that overlap a held-out one (they share samples)
    gap: bool = True
    #: weights tried for the fine-tuned and the class-mean heads in the blend with the general
    #: head (pairs summing to at most 1); the held-out block chooses
    blend_grid: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    #: whether the fine-tuned head is blended in (False: the last layers are not fine-tuned)
    tuned_head: bool = True
    #: whether the class-mean head (nearest class mean over the network's features) is blended in
    class_mean_head: bool = True
    #: factors tried on the networks' weight in the ensemble (the trees' stays)
    network_weights: tuple[float, ...] = (0.5, 1.0, 2.0)
    #: fewer held-out windows than this (or one activity) cannot choose a blend ...
    min_held_out: int = 6
    #: ... which is then (fine-tuned, class-mean) head weights, the rest the general head's
    unjudged_blend: tuple[float, float] = (0.5, 0.0)
    #: a small held-out gain is weak evidence (a few windows, often the end of the bout the fit
    #: saw): under ``strong_gain`` macro-F1 at most this share of the heads is calibration (0:
    #: the general model is kept; 0.5 and 0.25 still cost UCI HAPT, see docs/ML.md), ...
    weak_share: float = 0.0
    #: ... and the extended trees are kept only if this is set
    weak_trees: bool = False
    #: a held-out gain this large keeps the blend it chose (a participant the general model serves
    #: badly gains far more than a held-out block flatters)
    strong_gain: float = 0.15
    #: held-out folds: 1 = one held-out split (:func:`held_out_windows`); k > 1 = cross-fitting
    #: (the default, 5): the time blocks of each activity in each recording make k folds, each
    #: held out in turn from a fit on the rest (without the windows overlapping it), so every
    #: calibration window is judged by a fit that did not see it and the blend is chosen on all
    #: of them. With the bootstrap bar below it kept calibration for more of WISDM's participants
    #: than one split did and scored none of UCI HAPT's 21 participants below the general model
    #: at 15, 30 or 60 s (docs/ML.md, "Personal models")
    folds: int = 5
    #: what counts as strong evidence: "fixed" = a held-out gain of ``strong_gain`` or more;
    #: "bootstrap" = a gain that stays above ``min_gain`` in all but ``evidence_quantile`` of
    #: resamplings of the held-out windows (within each class; paired: both models scored on the
    #: same resample), so the bar follows how many windows were held out and how they scattered
    evidence: str = "bootstrap"
    evidence_quantile: float = 0.05
    #: the bootstrap's bar: a gain above 0.05 turned down UCI HAPT participant 05, whose later
    #: bouts the calibrated model took for another posture (bounds 0.009-0.034), and kept WISDM's
    #: larger gains (bounds 0.057-0.23)
    min_gain: float = 0.05
    bootstrap: int = 400  #: resamplings for ``evidence="bootstrap"``
    seed: int = 0
    threads: int = 0  #: torch/LightGBM threads; 0 = half the cores, at most 4

    def __post_init__(self) -> None:
        if self.epochs < 0 or self.gbm_rounds < 0:
            raise HarlabError("calibration epochs and rounds cannot be negative")
        if self.min_windows_per_class < 2:
            raise HarlabError("a calibrated class needs at least 2 windows")
        if not (math.isfinite(self.stride_s) and self.stride_s > 0):
            raise HarlabError(
                f"the calibration stride must be a positive number of seconds, not {self.stride_s}"
            )
        if not 1 <= self.folds <= N_TIME_BLOCKS:
            raise HarlabError(f"calibration folds must be 1 to {N_TIME_BLOCKS}")
        if self.evidence not in ("fixed", "bootstrap"):
            raise HarlabError(f"unknown evidence rule {self.evidence!r} (fixed, bootstrap)")


@dataclass
class CalibrationResult:
    """The personal model and what calibration measured on the held-out time block."""

    model: ActivityModel
    #: classification reports (:func:`~harlab.ml.metrics.classification_report`) of the general
    #: and the calibrated model on the held-out block; None when no window was held out
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    held_out: str  #: in words, which windows ``before`` and ``after`` score
    calibrated_classes: list[str]
    fallback_classes: list[str]  #: classes that keep the general model's behaviour
    n_windows: int
    n_held_out: int
    seconds: float
    data: Dataset
    warnings: list[str] = field(default_factory=list)
    members: dict[str, dict[str, Any]] = field(default_factory=dict)  #: per member: epochs, rounds


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise TrainingCancelled("calibration cancelled")


# -- windows ---------------------------------------------------------------------------------------


def calibration_dataset(
    model: ActivityModel,
    sessions: Sequence[Session],
    track: str | None = None,
    names: Sequence[str] | None = None,
    sources: Sequence[dict[str, Any]] | None = None,
    progress: Callable[[float, str], None] | None = None,
    stride_s: float | None = None,
) -> Dataset:
    """The participant's labelled windows, cut as the model's training windows were (its track,
    window, rate, channels, label policy and classes), a window at least every ``stride_s``
    (:attr:`CalibrationConfig.stride_s`; the model's stride when that is shorter or ``stride_s``
    is None); ``track`` overrides the track's name (a guided recording's track may be named
    otherwise). Labels of classes the model does not know are left out (:func:`unknown_labels`
    lists them)."""
    info = model.info
    return build_dataset(
        sessions,
        track or info.track,
        info.window_s,
        calibration_stride(info.stride_s, stride_s),
        info.rate_hz,
        list(info.channels),
        info.label_policy,
        classes=list(info.classes),
        names=names,
        sources=sources,
        progress=progress,
    )


def calibration_stride(model_stride_s: float, stride_s: float | None) -> float:
    """The stride calibration cuts at: the model's, or ``stride_s`` when that is shorter."""
    return model_stride_s if stride_s is None else min(model_stride_s, stride_s)


def unknown_labels(model: ActivityModel, sessions: Sequence[Session], track: str | None = None) -> list[str]:
    """Labels in the sessions' track that name no class of the model (calibration ignores them)."""
    from harlab.core.classnames import find_class

    out: list[str] = []
    for s in sessions:
        tr = s.label_tracks.get(track or model.info.track)
        if tr is None:
            continue
        for seg in tr:
            if seg.label not in out and find_class(seg.label, model.classes) is None:
                out.append(seg.label)
    return out


# -- the network's last layers ---------------------------------------------------------------------


def _network(net: nn.Module) -> CNN1D | Seed2DCNN:
    """The network as one whose trunk and last layers calibration knows how to split."""
    if not isinstance(net, CNN1D | Seed2DCNN):
        raise CalibrationRefused(
            f"calibration cannot split a {type(net).__name__} into trunk and last layers"
        )
    return net


def _embed(net: nn.Module, Xn: np.ndarray, batch: int = 512) -> torch.Tensor:
    """The frozen trunk's features of normalised windows (eval mode: batch norm as trained)."""
    net.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(Xn), batch):
            out.append(_network(net).embed(torch.from_numpy(np.ascontiguousarray(Xn[i : i + batch]))))
    return torch.cat(out) if out else torch.zeros(0)


def _penultimate(net: nn.Module, E: torch.Tensor, C: torch.Tensor | None) -> torch.Tensor:
    """What the output layer sees: the trunk's features through the (frozen) context mix, if any."""
    mix = getattr(net, "mix", None)
    if mix is None:
        return E.clone()
    if C is None:
        raise CalibrationRefused("the network needs recording-context inputs the calibration data lacks")
    net.eval()
    with torch.no_grad():
        return torch.as_tensor(mix(torch.cat([E, C], dim=1))).clone()


def _fit_head(
    head: nn.Linear,
    Z: torch.Tensor,
    y: np.ndarray,
    labelled: np.ndarray,
    epochs: int,
    cfg: CalibrationConfig,
    val: tuple[torch.Tensor, np.ndarray] | None,
    progress: ProgressFn | None,
    cancel: threading.Event | None,
    stage: str,
) -> tuple[int, list[dict[str, float]]]:
    """Fine-tune the output layer ``head`` in place on penultimate features ``Z``; returns the
    best epoch (0 = the weights it came with) and the per-epoch curve.

    The output rows of classes not in ``labelled`` get no gradient and no decay, so their
    logits stay the general model's. The context mix (shared by every class) stays frozen, so
    every candidate head calibration blends is a linear map of the same features."""
    k = len(labelled)
    params = list(head.parameters())
    start = [p.detach().clone() for p in params]
    opt = torch.optim.Adam(params, lr=cfg.lr)
    w = torch.from_numpy(class_weights(y, k))
    loss_fn = nn.CrossEntropyLoss(weight=w)
    eval_loss = nn.CrossEntropyLoss()
    frozen_rows = torch.from_numpy(~labelled)
    yt_all = torch.from_numpy(y)
    rng = np.random.default_rng(cfg.seed)

    def score() -> tuple[float, float, float]:
        assert val is not None
        Zv, yv = val
        with torch.no_grad():
            logits = head(Zv)
            loss = float(eval_loss(logits, torch.from_numpy(yv)).item())
        rep = classification_report(yv, logits.argmax(1).numpy(), [str(i) for i in range(k)])
        return rep["macro_f1"], loss, rep["accuracy"]

    history: list[dict[str, float]] = []
    best_epoch = 0
    best_state = [p.detach().clone() for p in params]
    best: tuple[float, float] = (-1.0, -math.inf)
    if val is not None:
        f1, loss, _ = score()
        best = (f1, -loss)
    stale = 0
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(Z))
        tot, ok, seen = 0.0, 0, 0
        for i in range(0, len(order), cfg.batch_size):
            _check_cancel(cancel)
            idx = torch.from_numpy(order[i : i + cfg.batch_size])
            opt.zero_grad()
            logits = head(Z[idx])
            loss = loss_fn(logits, yt_all[idx])
            if cfg.anchor > 0:
                loss = loss + cfg.anchor * sum(
                    ((p - s) ** 2).sum() for p, s in zip(params, start, strict=True)
                )
            loss.backward()
            if head.weight.grad is not None:
                head.weight.grad[frozen_rows] = 0.0
            if head.bias is not None and head.bias.grad is not None:
                head.bias.grad[frozen_rows] = 0.0
            opt.step()
            tot += float(loss.item()) * len(idx)
            ok += int((logits.argmax(1) == yt_all[idx]).sum())
            seen += len(idx)
        row = {"epoch": float(epoch), "loss": tot / max(seen, 1), "acc": ok / max(seen, 1)}
        vf1 = vloss = vacc = math.nan
        if val is not None:
            vf1, vloss, vacc = score()
            row.update(val_loss=vloss, val_f1=vf1, val_acc=vacc)
        history.append(row)
        if progress:
            progress(TrainProgress(stage, epoch, epochs, row["loss"], row["acc"], vloss, vacc, vf1))
        if val is None:
            best_epoch = epoch
            continue
        if (vf1, -vloss) > best:
            best, best_epoch, stale = (vf1, -vloss), epoch, 0
            best_state = [p.detach().clone() for p in params]
        else:
            stale += 1
            if stale >= cfg.patience:
                break
    if val is not None:
        with torch.no_grad():
            for p, b in zip(params, best_state, strict=True):
                p.copy_(b)
    return best_epoch, history


def _class_mean_head(
    Z: torch.Tensor, y: np.ndarray, labelled: np.ndarray, general: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """A head of the participant's own: nearest class mean over the penultimate features, with
    one diagonal variance shared by the classes (shrunk halfway to its mean: a minute per
    activity estimates little), so it is linear in the features (Gaussian naive Bayes with a
    shared variance). Rows of classes not labelled are the general head's."""
    Wg, bg = general
    z = Z.detach().numpy().astype(np.float64)
    W, b = Wg.astype(np.float64).copy(), bg.astype(np.float64).copy()
    mu = np.zeros((len(labelled), z.shape[1]))
    have = np.zeros(len(labelled), bool)
    for c in np.flatnonzero(labelled):
        sel = y == c
        if sel.any():
            mu[c], have[c] = z[sel].mean(axis=0), True
    if have.sum() < 2:
        return W, b
    resid = z[have[y]] - mu[y[have[y]]]
    var = resid.var(axis=0)
    var = 0.5 * var + 0.5 * var.mean() + 1e-6
    rows = np.flatnonzero(have)
    W[rows] = mu[rows] / var
    b[rows] = -0.5 * (mu[rows] ** 2 / var).sum(axis=1)
    return W, b


def _logits(head: tuple[np.ndarray, np.ndarray], Z: np.ndarray) -> np.ndarray:
    return np.asarray(Z @ head[0].T + head[1])


def _matched_scale(
    head: tuple[np.ndarray, np.ndarray],
    general: tuple[np.ndarray, np.ndarray],
    Z: np.ndarray,
    rows: np.ndarray,
) -> float:
    """The factor on ``head``'s rows ``rows`` (the calibrated classes) that makes its mean top
    probability on ``Z`` the general head's: a fine-tuned head is sharper on the windows it was
    fitted to, and in an average the sharper member decides (temperature scaling, 1/T)."""
    target = float(_softmax(_logits(general, Z)).max(axis=1).mean())
    base = _logits(head, Z)

    def confidence(scale: float) -> float:
        lg = base.copy()
        lg[:, rows] *= scale
        return float(_softmax(lg).max(axis=1).mean())

    lo, hi = -12.0, 4.0  # log scale
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if confidence(math.exp(mid)) < target:
            lo = mid
        else:
            hi = mid
    return math.exp(0.5 * (lo + hi))


@dataclass
class _HeadSet:
    """A network member's candidate output layers, each a linear map of the same features:
    the general head, the fine-tuned one and the class-mean one, the last two scaled to the
    general head's confidence on the participant's windows."""

    general: tuple[np.ndarray, np.ndarray]
    tuned: tuple[np.ndarray, np.ndarray]
    own: tuple[np.ndarray, np.ndarray]
    labelled: np.ndarray

    def blend(self, tuned: float, own: float) -> tuple[np.ndarray, np.ndarray]:
        """(weight, bias) of ``(1 - tuned - own) general + tuned * fine-tuned + own * class-mean``
        (logits blended: the blend is one output layer); rows of classes not calibrated are the
        general head's, exactly."""
        g = 1.0 - tuned - own
        W = g * self.general[0] + tuned * self.tuned[0] + own * self.own[0]
        b = g * self.general[1] + tuned * self.tuned[1] + own * self.own[1]
        W[~self.labelled], b[~self.labelled] = (
            self.general[0][~self.labelled],
            self.general[1][~self.labelled],
        )
        return W, b


def _head_set(
    general: tuple[np.ndarray, np.ndarray],
    tuned_head: nn.Linear,
    Z: torch.Tensor,
    y: np.ndarray,
    labelled: np.ndarray,
) -> _HeadSet:
    rows = np.flatnonzero(labelled)
    z = Z.detach().numpy().astype(np.float64)
    out = []
    for h in (
        (
            tuned_head.weight.detach().numpy().astype(np.float64),
            tuned_head.bias.detach().numpy().astype(np.float64),
        ),
        _class_mean_head(Z, y, labelled, general),
    ):
        s = _matched_scale(h, general, z, rows)
        W, b = h[0].copy(), h[1].copy()
        W[rows] *= s
        b[rows] *= s
        out.append((W, b))
    return _HeadSet(general, out[0], out[1], labelled)


#: one held-out fold: (windows fitted on, windows held out), masks over the calibration windows
Fold = tuple[np.ndarray, np.ndarray]


@dataclass
class _TorchParts:
    """What calibration learnt for one network member: the candidate heads fitted on every
    window (``final``), and for each fold the heads fitted without its held-out windows with
    those windows' features (``oof``: held-out rows, heads, features)."""

    member: TorchMember
    final: _HeadSet
    oof: list[tuple[np.ndarray, _HeadSet, np.ndarray]]
    summary: dict[str, Any]

    def oof_proba(self, tuned: float, own: float) -> np.ndarray:
        """Probabilities of the held-out windows (folds in order) under the blend ``(tuned, own)``."""
        return np.concatenate([_softmax(_logits(h.blend(tuned, own), Z)) for _, h, Z in self.oof])

    def member_with(self, heads: _HeadSet, tuned: float, own: float) -> TorchMember:
        net = copy.deepcopy(self.member.net)
        W, b = heads.blend(tuned, own)
        head = _network(net).head
        with torch.no_grad():
            head.weight.copy_(torch.from_numpy(W.astype(np.float32)))
            head.bias.copy_(torch.from_numpy(b.astype(np.float32)))
        m = self.member
        return TorchMember(m.arch, net, m.mean, m.std, m.channels, m.units)


def _calibrate_torch(
    member: TorchMember,
    X: np.ndarray,
    ctx: References | None,
    y: np.ndarray,
    folds: list[Fold],
    labelled: np.ndarray,
    cfg: CalibrationConfig,
    triads: list[tuple[int, int, int]],
    progress: ProgressFn | None,
    cancel: threading.Event | None,
) -> _TorchParts:
    """The candidate heads of a network member: fitted on each fold's windows watching its
    held-out ones, then (``cfg.refit``) again on every window for the epochs that did best (the
    median over the folds). The trunk's features of every window and of its jittered copies are
    computed once."""
    kind = member.arch.kind
    C_all = member.context_inputs(X, ctx)
    Xin = member.network_windows(X)  # a "margins" network's windows with their margins, from all of X
    rng = np.random.default_rng(cfg.seed)
    head0 = _network(member.net).head
    general = (
        head0.weight.detach().numpy().astype(np.float64).copy(),
        head0.bias.detach().numpy().astype(np.float64).copy(),
    )
    n = len(X)
    copies = cfg.augment_copies
    xs = [Xin] + [augment_batch(Xin, triads, "jitter", rng) for _ in range(copies)]
    E = torch.cat([_embed(member.net, member.normalise(x)) for x in xs])
    C = None if C_all is None else torch.from_numpy(np.tile(C_all, (copies + 1, 1)))
    Z_all = _penultimate(member.net, E, C)
    y_all = np.tile(y, copies + 1)

    def fitted(
        idx: np.ndarray, epochs: int, vset: tuple[torch.Tensor, np.ndarray] | None, stage: str
    ) -> tuple[_HeadSet, int, list[dict[str, float]]]:
        rows = np.concatenate([idx + j * n for j in range(copies + 1)])
        Z, yz = Z_all[torch.from_numpy(rows)], y_all[rows]
        head = copy.deepcopy(head0)
        best, history = _fit_head(head, Z, yz, labelled, epochs, cfg, vset, progress, cancel, stage)
        m = len(idx)  # the class means and the confidence match use the windows as recorded
        return _head_set(general, head, Z[:m], yz[:m], labelled), best, history

    epochs = cfg.epochs if folds else min(cfg.epochs, cfg.epochs_unwatched)
    if not cfg.tuned_head:
        epochs = 0
    oof: list[tuple[np.ndarray, _HeadSet, np.ndarray]] = []
    bests: list[int] = []
    history: list[dict[str, float]] = []
    for train, val in folds:
        vi = np.flatnonzero(val)
        Zv = Z_all[torch.from_numpy(vi)]
        # one stage name for every fold: the progress curves (CLI, GUI) know it
        heads, best, hist = fitted(np.flatnonzero(train), epochs, (Zv, y[vi]), f"{kind} last layers")
        oof.append((vi, heads, Zv.numpy().astype(np.float64)))
        bests.append(best)
        history = history or hist  # the first fold's curve
    summary: dict[str, Any] = {"history": history}
    if not folds:
        final, best, history = fitted(np.arange(n), epochs, None, f"{kind} last layers")
        summary.update(best_epoch=best, epochs_run=len(history), history=history)
        return _TorchParts(member, final, oof, summary)
    best_epoch = int(round(float(np.median(bests))))
    summary.update(best_epoch=best_epoch, epochs_run=len(history))
    if len(folds) > 1:
        summary["fold_best_epochs"] = bests
    final = oof[0][1]
    if cfg.refit:
        final, _, _ = fitted(np.arange(n), best_epoch, None, f"{kind} refit")
        summary["refit_epochs"] = best_epoch
    return _TorchParts(member, final, oof, summary)


# -- the boosted trees -----------------------------------------------------------------------------


def _softmax(raw: np.ndarray) -> np.ndarray:
    e = np.exp(raw - raw.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def _with_objective(text: str, objective_line: str) -> str:
    """LightGBM writes no objective for a custom one; the trees are the general model's softmax
    classifier extended, so they get its objective line back (after ``max_feature_idx``, where
    LightGBM puts it) and predict probabilities again."""
    lines = text.split("\n")
    lines = [ln for ln in lines if not ln.startswith("objective=")]
    at = next(i for i, ln in enumerate(lines) if ln.startswith("max_feature_idx="))
    lines.insert(at + 1, objective_line)
    return "\n".join(lines)


def _calibrate_gbm(
    member: BoostedFeaturesMember,
    X: np.ndarray,
    ctx: References | None,
    y: np.ndarray,
    folds: list[Fold],
    labelled: np.ndarray,
    cfg: CalibrationConfig,
    progress: ProgressFn | None,
    cancel: threading.Event | None,
) -> _TreeParts:
    """Continued boosting from the general booster on the participant's windows.

    The objective is softmax cross-entropy with the gradient of unlabelled classes set to
    zero, so their new trees are all zero leaves and their scores stay the general model's."""
    import lightgbm as lgb

    k = len(labelled)
    F = member.features(X, ctx)
    parent_text = member.booster.model_to_string()
    objective = next((ln for ln in parent_text.split("\n") if ln.startswith("objective=")), None)
    if objective is None or not objective.startswith("objective=multiclass"):
        raise CalibrationRefused(
            f"the LightGBM member's objective is {objective!r}; calibration extends multiclass boosters only"
        )
    onehot = np.eye(k)
    factor = k / max(k - 1, 1)

    def fobj(raw: np.ndarray, ds: Any) -> tuple[np.ndarray, np.ndarray]:
        p = _softmax(np.asarray(raw).reshape(len(ds.get_label()), k))
        lab = ds.get_label().astype(np.int64)
        wt = ds.get_weight()
        g = p - onehot[lab]
        h = np.maximum(factor * p * (1.0 - p), 1e-6)
        if wt is not None:
            g, h = g * wt[:, None], h * wt[:, None]
        g[:, ~labelled] = 0.0
        return g, h

    def feval(raw: np.ndarray, ds: Any) -> tuple[str, float, bool]:
        lab = ds.get_label().astype(np.int64)
        p = _softmax(np.asarray(raw).reshape(len(lab), k))
        return "logloss", float(-np.log(np.maximum(p[np.arange(len(lab)), lab], 1e-12)).mean()), False

    params = {
        "objective": fobj,
        "num_class": k,
        "metric": "None",
        "learning_rate": cfg.gbm_lr,
        "num_leaves": cfg.gbm_leaves,
        "min_data_in_leaf": cfg.gbm_min_data,
        "feature_fraction": cfg.gbm_feature_fraction,
        "lambda_l2": cfg.gbm_l2,
        "seed": cfg.seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": torch.get_num_threads(),
        "verbose": -1,
    }

    def boost(idx: np.ndarray, rounds: int, valid: np.ndarray | None, stage: str) -> tuple[Any, list[float]]:
        w = class_weights(y[idx], k)[y[idx]]
        dtrain = lgb.Dataset(F[idx], y[idx], weight=w, free_raw_data=True)
        evals: dict[str, Any] = {}
        callbacks: list[Callable[..., Any]] = []
        valid_sets = None
        if valid is not None:
            valid_sets = [lgb.Dataset(F[valid], y[valid], reference=dtrain)]
            callbacks += [lgb.record_evaluation(evals), lgb.early_stopping(cfg.gbm_patience, verbose=False)]

        def report(env: Any) -> None:
            _check_cancel(cancel)
            done = env.iteration - env.begin_iteration + 1
            if progress and done % 10 == 0:
                vl = evals.get("valid_0", {}).get("logloss", [math.nan])[-1] if evals else math.nan
                progress(TrainProgress(stage, done, rounds, math.nan, math.nan, vl))

        callbacks.append(report)
        booster = lgb.train(
            params,
            dtrain,
            num_boost_round=rounds,
            valid_sets=valid_sets,
            feval=feval if valid is not None else None,
            init_model=member.booster,
            callbacks=callbacks,
        )
        return booster, list(evals.get("valid_0", {}).get("logloss", []))

    def as_member(booster: Any, new_rounds: int) -> BoostedFeaturesMember:
        out = copy.copy(member)
        if new_rounds == 0:
            out.booster = member.booster
        else:
            total = member.booster.current_iteration() + new_rounds
            text = _with_objective(booster.model_to_string(num_iteration=total), objective)
            checked = check_booster_text(text.encode("utf-8"), member.n_feature_columns(), k)
            out.booster = lgb.Booster(model_str=checked)
        out.compile_trees = member.compile_trees
        return out

    def extended_proba(booster: Any, new_rounds: int, rows: np.ndarray) -> np.ndarray:
        """Probabilities of windows ``rows`` under the general trees and ``new_rounds`` new ones
        (the booster as it is, without writing and reading it back as a member)."""
        total = member.booster.current_iteration() + new_rounds
        raw = booster.predict(F[rows], num_iteration=total, raw_score=True)
        return _softmax(np.asarray(raw, np.float64).reshape(len(rows), k))

    try:
        return _continue_boosting(member, F, y, folds, cfg, boost, as_member, extended_proba)
    except lgb.basic.LightGBMError as exc:  # e.g. too few windows for any feature to split on
        general = [(np.flatnonzero(v), member.predict_features(F[v], compiled=False)) for _, v in folds]
        oof = [(vi, p, p) for vi, p in general]
        return _TreeParts(member, member, oof, {"best_rounds": 0, "kept_general_trees": str(exc)[:300]})


@dataclass
class _TreeParts:
    """What calibration learnt for the LightGBM member: the trees extended on every window
    (``final``; the general member when no new round helped), and for each fold the held-out
    rows with their probabilities under the general trees and under the trees extended without
    them (``oof``)."""

    general: BoostedFeaturesMember
    final: BoostedFeaturesMember
    oof: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
    summary: dict[str, Any]

    def oof_proba(self, extended: bool) -> np.ndarray:
        return np.concatenate([s if extended else g for _, g, s in self.oof])


def _continue_boosting(
    member: BoostedFeaturesMember,
    F: np.ndarray,
    y: np.ndarray,
    folds: list[Fold],
    cfg: CalibrationConfig,
    boost: Callable[..., tuple[Any, list[float]]],
    as_member: Callable[[Any, int], BoostedFeaturesMember],
    extended_proba: Callable[[Any, int, np.ndarray], np.ndarray],
) -> _TreeParts:
    """For each fold, boost on its windows watching its held-out ones; then again on all for
    the rounds that did best (the median over the folds; none when the general trees did
    better on the held-out windows)."""
    summary: dict[str, Any] = {}
    rounds = cfg.gbm_rounds
    oof: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    if folds and rounds > 0:
        bests: list[int] = []
        boosters = []
        general_losses, losses = [], []
        for train, val in folds:
            vi = np.flatnonzero(val)
            general = member.predict_features(F[vi], compiled=False)
            yv = y[vi]
            general_loss = float(-np.log(np.maximum(general[np.arange(len(yv)), yv], 1e-12)).mean())
            booster, curve = boost(np.flatnonzero(train), rounds, vi, "lightgbm")
            best = int(np.argmin(curve)) + 1 if curve else 0
            if not curve or curve[best - 1] >= general_loss:
                best = 0  # the general trees already did better on the held-out minutes
            oof.append((vi, general, extended_proba(booster, best, vi) if best else general))
            bests.append(best)
            boosters.append(booster)
            general_losses.append(general_loss)
            losses.append(curve[best - 1] if best else general_loss)
        best = int(round(float(np.median(bests))))
        summary.update(
            best_rounds=best,
            general_val_logloss=float(np.mean(general_losses)),
            val_logloss=float(np.mean(losses)),
        )
        if len(folds) > 1:
            summary["fold_best_rounds"] = bests
        if cfg.refit:
            final = as_member(boost(np.arange(len(y)), best, None, "lightgbm")[0], best) if best else member
            summary["refit_rounds"] = best
        else:
            final = as_member(boosters[0], bests[0])
        return _TreeParts(member, final, oof, summary)
    for _, val in folds:  # no new rounds: the general trees on both sides
        general = member.predict_features(F[val], compiled=False)
        oof.append((np.flatnonzero(val), general, general))
    if rounds == 0:
        return _TreeParts(member, member, oof, {"best_rounds": 0})
    rounds = min(rounds, cfg.rounds_unwatched)
    booster, _ = boost(np.arange(len(y)), rounds, None, "lightgbm")
    summary["best_rounds"] = rounds
    return _TreeParts(member, as_member(booster, rounds), oof, summary)


# -- the ensemble: how much of the calibration to keep ---------------------------------------------


def held_out_windows(data: Dataset, rows: np.ndarray) -> tuple[np.ndarray, bool]:
    """(mask over ``data``'s windows ``rows`` of the windows held out, whether any activity was
    held out as a whole bout). An activity recorded in two bouts or more (in one recording, or
    one in each of several; windows of a bout are at most a stride and a half apart) holds out
    its last bout: a person sits or walks a little differently each time, and only another bout
    shows calibration what that costs (on UCI HAPT a model calibrated on one bout of sitting
    took the next bouts for standing). An activity of one bout holds out its last time block
    (:data:`HELD_OUT_BLOCK`), which measures the rest of that bout only."""
    blocks = np.asarray(data.blocks)[rows] if data.blocks is not None else np.zeros(len(rows), str)
    val = blocks == HELD_OUT_BLOCK
    ws = data.windows
    if len(ws) != len(data):
        return val, False
    si, st, y = ws.session_index[rows], ws.start_s[rows], np.asarray(data.y)[rows]
    by_bout = False
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        idx = idx[np.lexsort((st[idx], si[idx]))]
        new_bout = (np.diff(si[idx]) != 0) | (np.diff(st[idx]) > ws.stride_s * 1.5 + 1e-9)
        breaks = np.flatnonzero(new_bout)
        if len(breaks) == 0:
            continue
        val[idx] = False
        val[idx[breaks[-1] + 1 :]] = True
        by_bout = True
    return val, by_bout


def held_out_gap(data: Dataset, rows: np.ndarray, val: np.ndarray) -> np.ndarray:
    """Among ``data``'s windows ``rows`` (``val`` marks the held-out ones), those not held out
    that overlap a held-out window of the same recording: overlapping windows share samples, so
    fitting on them would let the held-out block see what it should judge. Without the windows'
    times (a subset of a dataset), the window of each activity just before each run of held-out
    ones in row order (recording order), when it is of the time block before."""
    gap = np.zeros(len(rows), bool)
    if not val.any():
        return gap
    ws = data.windows
    if len(ws) == len(data):
        si, st = ws.session_index[rows], ws.start_s[rows]
        for s in np.unique(si[val]):
            vs = st[val & (si == s)]
            cand = np.flatnonzero(~val & (si == s))
            near = np.abs(st[cand][:, None] - vs[None, :]).min(axis=1) < ws.window_s - 1e-9
            gap[cand[near]] = True
        return gap
    blocks = np.asarray(data.blocks)[rows] if data.blocks is not None else np.zeros(len(rows), str)
    before = f"time block {N_TIME_BLOCKS - 1}"
    y = np.asarray(data.y)[rows]
    for c in np.unique(y[val]):
        idx = np.flatnonzero(y == c)
        starts = np.flatnonzero(val[idx][1:] & ~val[idx][:-1]) + 1  # a held-out run begins
        for i in starts:
            if blocks[idx[i - 1]] == before:
                gap[idx[i - 1]] = True
    return gap


def held_out_folds(data: Dataset, rows: np.ndarray, cfg: CalibrationConfig) -> tuple[list[Fold], bool]:
    """(the folds calibration judges itself on, whether an activity was held out as a whole
    bout): each fold the windows fitted on and those held out, masks over ``data``'s windows
    ``rows``; the windows overlapping the held-out ones are on neither side (``cfg.gap``).

    One fold (``cfg.folds`` 1): :func:`held_out_windows`. More: the time blocks of each
    activity in each recording (:func:`harlab.ml.dataset.time_blocks`) are grouped into
    ``cfg.folds`` runs of neighbouring blocks, each held out in turn; a fold that would leave
    fewer than two activities to fit on is skipped (WISDM's first 15 s: two overlapping 10 s
    windows per activity, one held out and the other beside it). Without the windows' times
    (a subset of a dataset) or time blocks, one fold."""
    y = np.asarray(data.y)[rows]

    def fold(val: np.ndarray) -> Fold:
        gap = held_out_gap(data, rows, val) if cfg.gap else np.zeros(len(rows), bool)
        return ~val & ~gap, val

    whole = len(data.windows) == len(data) and data.blocks is not None
    if cfg.folds <= 1 or not whole:
        val, by_bout = held_out_windows(data, rows)
        return ([fold(val)] if val.any() else []), by_bout
    assert data.blocks is not None
    block = np.asarray([int(str(b).rsplit(" ", 1)[-1]) - 1 for b in np.asarray(data.blocks)[rows]])
    which = (block * cfg.folds) // N_TIME_BLOCKS
    out = []
    for f in range(cfg.folds):
        train, val = fold(which == f)
        if val.any() and len(np.unique(y[train])) >= 2:
            out.append((train, val))
    return out, False


@dataclass
class _Choice:
    """The blend calibration keeps: network heads ``(1 - tuned - own) general + tuned fine-tuned
    + own class-mean``, the trees extended or the general ones, and the networks' weight in the
    ensemble times ``network_weight``; with the held-out scores that chose it."""

    tuned: float
    own: float
    trees: bool
    network_weight: float
    reason: str = ""  #: why the evidence did not choose (empty when it did)
    #: the bootstrap's lower quantile of the best blend's gain (``evidence="bootstrap"``)
    evidence_bound: float | None = None
    candidates: int = 0
    general_score: tuple[float, float] | None = None  #: held-out (macro-F1, log loss)
    chosen_score: tuple[float, float] | None = None
    general_proba: np.ndarray | None = None
    chosen_proba: np.ndarray | None = None

    def record(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "general_head": round(1.0 - self.tuned - self.own, 4),
            "tuned_head": self.tuned,
            "class_mean_head": self.own,
            "trees": "extended" if self.trees else "general",
            "network_weight": self.network_weight,
            "candidates": self.candidates,
        }
        for k, v in (("general", self.general_score), ("chosen", self.chosen_score)):
            if v is not None:
                out[f"{k}_held_out"] = {"macro_f1": round(v[0], 4), "log_loss": round(v[1], 4)}
        if self.evidence_bound is not None:
            out["evidence_bound"] = round(self.evidence_bound, 4)
        if self.reason:
            out["reason"] = self.reason
        return out


def _macro_f1_weighted(y: np.ndarray, pred: np.ndarray, k: int, w: np.ndarray) -> np.ndarray:
    """Macro-F1 of ``pred`` against ``y`` for each row of window weights ``w`` (resamplings:
    how often each window was drawn), as :func:`~harlab.ml.metrics.metrics_from_confusion`
    averages it (over the classes present or predicted)."""
    cells = y * k + pred
    cm = np.stack([np.bincount(cells, weights=wi, minlength=k * k) for wi in w]).reshape(len(w), k, k)
    tp = np.diagonal(cm, axis1=1, axis2=2)
    support, predicted = cm.sum(2), cm.sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(support + predicted > 0, 2 * tp / (support + predicted), 0.0)
    present = (support > 0) | (predicted > 0)
    return np.asarray((f1 * present).sum(1) / np.maximum(present.sum(1), 1))


def bootstrap_gain(
    y: np.ndarray, general: np.ndarray, chosen: np.ndarray, k: int, n: int, seed: int
) -> np.ndarray:
    """Macro-F1 gains of predictions ``chosen`` over ``general`` on ``n`` resamplings of the
    windows, each class's windows drawn with replacement as many times as it has (so every
    class keeps its count); both scored on the same resample (paired)."""
    rng = np.random.default_rng(seed)
    w = np.zeros((n, len(y)))
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        w[:, idx] = rng.multinomial(len(idx), np.full(len(idx), 1.0 / len(idx)), size=n)
    return _macro_f1_weighted(y, chosen, k, w) - _macro_f1_weighted(y, general, k, w)


def _choose_blend(
    parts: Sequence[_TorchParts | _TreeParts],
    weights: list[float],
    yv: np.ndarray,
    labelled: np.ndarray,
    cfg: CalibrationConfig,
    note: str = "",
) -> _Choice:
    """Score every blend of the members fitted without the held-out windows on them (``yv``:
    their labels, the folds' in order) and keep the best by macro-F1, then log loss (the general
    model, first, wins exact ties).

    A gain that is not strong evidence (``cfg.evidence``: under ``cfg.strong_gain``, or not
    clearly above ``cfg.min_gain`` over resamplings of the held-out windows) is weak: a few
    windows, often the end of the bout the fit saw (``note`` says so), sharing its posture and
    way of wearing, which the next bout may not (on UCI HAPT, calibrating on the first bout of
    sitting of each recording cost the later bouts 0.1 macro-F1 while the held-out windows said
    it gained 0.09). Then at most ``cfg.weak_share`` of the network heads is calibration
    (default none: the general model) and the trees stay general unless ``cfg.weak_trees``.
    With too little held out to judge (under ``cfg.min_held_out`` windows or one activity) the
    blend is ``cfg.unjudged_blend``, no more than ``cfg.weak_share``, with the general trees."""
    enough = len(yv) >= cfg.min_held_out and len(np.unique(yv)) >= 2
    has_trees = any(isinstance(p, _TreeParts) for p in parts)
    has_net = any(isinstance(p, _TorchParts) for p in parts)
    if not enough:
        tuned, own = cfg.unjudged_blend if has_net else (0.0, 0.0)
        if tuned + own > cfg.weak_share:  # no evidence is no stronger than weak evidence
            tuned, own = (cfg.weak_share * tuned / (tuned + own), cfg.weak_share * own / (tuned + own))
        reason = (
            f"only {counted(len(yv), 'window')} could be held out, too few to measure what "
            "calibration does: "
            + (
                "the general model is kept (record longer: a minute of each activity)"
                if tuned + own == 0
                else f"a fixed blend is kept ({tuned:g} fine-tuned head, {own:g} class-mean head, "
                "the general trees)"
            )
        )
        return _Choice(tuned, own, has_trees and cfg.weak_trees, 1.0, reason)
    k = len(labelled)
    grid = sorted(set(cfg.blend_grid))
    owns = grid if cfg.class_mean_head else [0.0]
    tunes = grid if cfg.tuned_head else [0.0]
    pairs = [(0.0, 0.0)]
    if has_net:
        pairs += [(a, b) for a in tunes for b in owns if 0 < a + b <= 1.0 + 1e-9]
    net_weights = sorted(set(cfg.network_weights)) if has_net and has_trees else [1.0]
    # per member: probabilities of the held-out windows for each option
    nets: list[tuple[float, dict[tuple[float, float], np.ndarray]]] = []
    trees: list[tuple[float, np.ndarray, np.ndarray]] = []
    for p, w in zip(parts, weights, strict=True):
        if isinstance(p, _TorchParts):
            nets.append((w, {ab: p.oof_proba(*ab) for ab in pairs}))
        else:
            trees.append((w, p.oof_proba(False), p.oof_proba(True)))
    names = [str(i) for i in range(k)]

    def proba(ab: tuple[float, float], extended: bool, nw: float) -> np.ndarray:
        out = np.zeros((len(yv), k))
        norm = 0.0
        for w, opts in nets:
            out += w * nw * opts[ab]
            norm += w * nw
        for w, g, s in trees:
            out += w * (s if extended else g)
            norm += w
        return out / max(norm, 1e-12) if norm else out + 1.0 / k

    def score(p: np.ndarray) -> tuple[float, float]:
        f1 = float(classification_report(yv, p.argmax(1), names)["macro_f1"])
        loss = float(-np.log(np.maximum(p[np.arange(len(yv)), yv], 1e-12)).mean())
        return f1, loss

    general_p = proba((0.0, 0.0), False, 1.0)
    general_score = score(general_p)
    keep = _Choice(0.0, 0.0, False, 1.0, general_proba=general_p, chosen_proba=general_p)
    # (score, choice) of the best blend of all, and of the best within the one-bout limits
    best = [(general_score, keep), (general_score, keep)]
    n = 0
    for ab in pairs:
        for extended in [False, True] if has_trees else [False]:
            for nw in net_weights:
                n += 1
                pr = proba(ab, extended, nw)
                sc = score(pr)
                # weak evidence changes neither the trees nor the members' weights
                within = sum(ab) <= cfg.weak_share + 1e-9 and (cfg.weak_trees or not extended) and nw == 1.0
                for j in (0, 1) if within else (0,):
                    # macro-F1 first, log loss between equals; the general model wins exact ties
                    if (sc[0], -sc[1]) > (best[j][0][0], -best[j][0][1]):
                        best[j] = (sc, _Choice(ab[0], ab[1], extended, nw, chosen_proba=pr))
    gain = best[0][0][0] - general_score[0]
    if cfg.evidence == "bootstrap":
        top = best[0][1].chosen_proba
        assert top is not None
        gains = bootstrap_gain(yv, general_p.argmax(1), top.argmax(1), k, cfg.bootstrap, cfg.seed)
        bound = float(np.quantile(gains, cfg.evidence_quantile))
        strong = gain > 0 and bound > cfg.min_gain
        bar = (
            f"its {cfg.evidence_quantile:g} quantile over {cfg.bootstrap} resamplings of the held-out "
            f"windows is {bound:+.2f}, not above {cfg.min_gain:g}"
        )
    else:
        strong = gain >= cfg.strong_gain
        bar = f"under {cfg.strong_gain:g}"
    chosen_score, chosen = best[0] if strong else best[1]
    if chosen is not best[0][1]:
        chosen.reason = (
            f"the held-out windows gain {gain:+.2f} macro-F1 with the best blend, {bar}: weak evidence"
            + note
            + (
                ", so the general model is kept"
                if cfg.weak_share == 0
                else f", so at most {cfg.weak_share:g} of the calibration is kept"
            )
        )
    chosen.general_proba, chosen.candidates = general_p, n
    chosen.general_score, chosen.chosen_score = general_score, chosen_score
    if cfg.evidence == "bootstrap":
        chosen.evidence_bound = bound
    return chosen


# -- the whole calibration -------------------------------------------------------------------------


def parent_reference(model: ActivityModel, path: str | Path | None = None, **extra: Any) -> dict[str, Any]:
    """What a personal model records of its parent: name, preset, creation time, classes and, for
    a file, its path and sha256; ``extra``: e.g. ``model_uri``, ``mlflow_run_id``."""
    ref: dict[str, Any] = {
        "name": model.info.name,
        "preset": model.info.preset,
        "created_utc": model.info.created_utc,
        "harlab_version": model.info.harlab_version,
        "classes": list(model.classes),
    }
    if model.info.calibration is not None:  # a personal model calibrated again: keep the chain
        ref["parent"] = model.info.calibration.get("parent")
    if path is not None:
        ref["path"] = str(Path(path).resolve())
        ref["sha256"] = sha256_of(path)
    ref.update({k: v for k, v in extra.items() if v is not None})
    return ref


def _sessions_provenance(data: Dataset) -> list[dict[str, Any]]:
    """Each calibration session: id, name, participant, file and hash, windows and their hash, and
    the time range (seconds from the session's start) of the windows used."""
    ws = data.windows
    whole = len(ws) == len(data)  # a subset of a dataset keeps the whole set's windows
    out = []
    for i, entry in enumerate(data.sources):
        sel = ws.session_index == i
        rec = dict(entry)
        if whole and sel.any():
            rec["start_s"] = float(ws.start_s[sel].min())
            rec["end_s"] = float(ws.start_s[sel].max() + ws.window_s)
            rec["classes"] = sorted({data.classes[int(c)] for c in np.unique(data.y[sel])})
        out.append(rec)
    return out


def _refuse_or_choose(data: Dataset, cfg: CalibrationConfig) -> tuple[np.ndarray, list[str]]:
    """(labelled-class mask, warnings), or :class:`CalibrationRefused` when fewer than two
    classes have enough windows."""
    k = len(data.classes)
    counts = np.bincount(data.y, minlength=k)
    present = counts > 0
    enough = counts >= cfg.min_windows_per_class
    need_s = data.info.window_s + (cfg.min_windows_per_class - 1) * data.info.stride_s
    have = ", ".join(
        f"{data.classes[i]} {counted(int(counts[i]), 'window')}" for i in np.flatnonzero(present)
    )
    if present.sum() < 2:
        raise CalibrationRefused(
            f"the calibration data labels only {have or 'no class'}: calibration needs at least two "
            "labelled activities (record and label another)"
        )
    if enough.sum() < 2:
        raise CalibrationRefused(
            f"too little calibration data: {have}; calibration needs at least two activities with "
            f"{cfg.min_windows_per_class} windows each (about {need_s:.0f} s of labelled time each)"
        )
    warnings = []
    short = np.flatnonzero(present & ~enough)
    if len(short):
        warnings.append(
            f"too little of {', '.join(data.classes[i] for i in short)} (under {cfg.min_windows_per_class} "
            f"windows, about {need_s:.0f} s): it keeps the general model's behaviour"
        )
    absent = np.flatnonzero(~present)
    if len(absent):
        warnings.append(
            f"not labelled: {', '.join(data.classes[i] for i in absent)}; "
            "kept with the general model's behaviour"
        )
    return enough, warnings


def calibrate(
    parent: ActivityModel,
    data: Dataset,
    config: CalibrationConfig | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    *,
    parent_ref: dict[str, Any] | None = None,
    name: str | None = None,
) -> CalibrationResult:
    """Adapt ``parent`` to the participant whose labelled windows are ``data``
    (:func:`calibration_dataset`); see the module docstring. ``parent_ref``
    (:func:`parent_reference`) is recorded as the parent; ``name`` names the personal model
    (default: the parent's name + ``-personal``). Raises :class:`CalibrationRefused` when the
    data cannot calibrate, :class:`~harlab.ml.training.TrainingCancelled` when ``cancel`` is set."""
    cfg = config or CalibrationConfig()
    return _finish(parent, data, _fit(parent, data, cfg, progress, cancel), cfg, parent_ref, name)


#: the settings that only choose among what calibration fitted (:func:`calibrate_variants`)
CHOICE_FIELDS = frozenset(
    {
        "blend_grid",
        "class_mean_head",
        "network_weights",
        "min_held_out",
        "unjudged_blend",
        "weak_share",
        "weak_trees",
        "strong_gain",
        "evidence",
        "evidence_quantile",
        "min_gain",
        "bootstrap",
    }
)


def calibrate_variants(
    parent: ActivityModel, data: Dataset, configs: Sequence[CalibrationConfig]
) -> list[CalibrationResult]:
    """:func:`calibrate` with each of ``configs`` (benchmarks comparing ways of choosing): the
    configs that differ only in :data:`CHOICE_FIELDS` share one fit. Each result's ``seconds``
    is the fit's plus its own choice, as if calibrated alone."""
    fits: dict[str, _Fitted] = {}
    out = []
    for cfg in configs:
        key = json.dumps({k: v for k, v in asdict(cfg).items() if k not in CHOICE_FIELDS}, sort_keys=True)
        if key not in fits:
            fits[key] = _fit(parent, data, cfg, None, None)
        out.append(_finish(parent, data, fits[key], cfg, None, None))
    return out


@dataclass
class _Fitted:
    """What calibration fitted before choosing how much of it to keep."""

    labelled: np.ndarray
    warnings: list[str]
    sub: Dataset
    y: np.ndarray
    oof: np.ndarray  #: the held-out windows (rows of ``sub``), the folds' in order
    held_out: str
    note: str
    parts: list[_TorchParts | _TreeParts]
    summaries: dict[str, dict[str, Any]]
    seconds: float


def _fit(
    parent: ActivityModel,
    data: Dataset,
    cfg: CalibrationConfig,
    progress: ProgressFn | None,
    cancel: threading.Event | None,
) -> _Fitted:
    """Check the data and fit every member's candidates (:func:`calibrate`, before the choice)."""
    t0 = time.perf_counter()
    if list(data.classes) != list(parent.classes):
        raise CalibrationRefused(
            f"the windows were cut for classes {data.classes}, the model has {parent.classes}: "
            "cut them with calibration_dataset"
        )
    have = (list(data.info.channels), data.info.rate_hz, data.X.shape[1])
    want = (list(parent.info.channels), parent.info.rate_hz, parent.info.n_time)
    if have != want:
        raise CalibrationRefused(
            f"the windows have channels {have[0]}, {have[1]:g} Hz and {have[2]} samples; the model "
            f"takes {want[0]}, {want[1]:g} Hz and {want[2]}: cut them with calibration_dataset"
        )
    if not np.all(np.isfinite(data.X)):
        raise CalibrationRefused("the calibration windows contain NaN or infinite values")
    labelled, warnings = _refuse_or_choose(data, cfg)
    use = labelled[data.y]  # windows of classes with too little data train nothing
    rows = np.flatnonzero(use)
    sub = data.subset(rows) if not use.all() else data
    X = np.ascontiguousarray(sub.X, np.float32)
    y = np.asarray(sub.y, np.int64)
    ctx = sub.context if parent.needs_references else None
    folds, by_bout = held_out_folds(data, rows, cfg)
    val = np.zeros(len(y), bool)
    for _, v in folds:
        val |= v
    oof = np.concatenate([np.flatnonzero(v) for _, v in folds]) if folds else np.zeros(0, np.int64)
    if cfg.folds > 1:
        held_out = (
            f"each of {counted(len(folds), 'fold')} of the {N_TIME_BLOCKS} time blocks of each "
            "activity's windows in each recording, held out in turn from a fit on the rest (other "
            "minutes of the same participant; the windows overlapping them were left out of that "
            "fit; early stopping and the choice of blend watched them, so 'after' is optimistic)"
        )
    else:
        held_out = (
            ("the last bout of each activity recorded in several, otherwise " if by_bout else "")
            + f"the last of {N_TIME_BLOCKS} time blocks of each activity's windows in each recording "
            "(other minutes of the same participant; the windows overlapping them were left out of "
            "the fit; early stopping and the choice of blend watched them, so 'after' is optimistic)"
        )
    if not val.any():
        warnings.append("no window could be held out: before/after scores are not measured")
    Xc, ctxc, _ = canonicalise(
        X, ctx, parent.info.orientation_upright, parent.info.channels, parent.info.units
    )
    triads = find_triads(parent.info.channels, parent.info.units)
    prev_threads = torch.get_num_threads()
    prev_det = torch.are_deterministic_algorithms_enabled()
    set_threads(cfg.threads)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(cfg.seed)
    try:
        parts: list[_TorchParts | _TreeParts] = []
        summaries: dict[str, dict[str, Any]] = {}
        for m in parent.members:
            _check_cancel(cancel)
            if isinstance(m, TorchMember):
                tp = _calibrate_torch(m, Xc, ctxc, y, folds, labelled, cfg, triads, progress, cancel)
                summaries[m.arch.kind] = tp.summary
                parts.append(tp)
            else:
                tr = _calibrate_gbm(m, Xc, ctxc, y, folds, labelled, cfg, progress, cancel)
                summaries["lightgbm"] = tr.summary
                parts.append(tr)
    finally:
        torch.set_num_threads(prev_threads)
        torch.use_deterministic_algorithms(prev_det)
    note = "" if by_bout or cfg.folds > 1 else " (the end of the bout calibration saw)"
    seconds = time.perf_counter() - t0
    return _Fitted(labelled, warnings, sub, y, oof, held_out, note, parts, summaries, seconds)


def _finish(
    parent: ActivityModel,
    data: Dataset,
    fitted: _Fitted,
    cfg: CalibrationConfig,
    parent_ref: dict[str, Any] | None,
    name: str | None,
) -> CalibrationResult:
    """Choose the blend on the held-out windows and make the personal model of it."""
    t0 = time.perf_counter()
    labelled, sub, y, oof, held_out = fitted.labelled, fitted.sub, fitted.y, fitted.oof, fitted.held_out
    parts, summaries = fitted.parts, fitted.summaries
    warnings = list(fitted.warnings)
    choice = _choose_blend(parts, list(parent.weights), y[oof], labelled, cfg, fitted.note)
    if choice.reason:
        warnings.append(choice.reason)
    final_members: list[Member] = []
    for p in parts:
        if isinstance(p, _TorchParts):
            final_members.append(p.member_with(p.final, choice.tuned, choice.own))
        else:
            final_members.append(p.final if choice.trees else p.general)
    weights = [
        w * (choice.network_weight if isinstance(m, TorchMember) else 1.0)
        for m, w in zip(parent.members, parent.weights, strict=True)
    ]
    before = after = None
    if choice.general_proba is not None and choice.chosen_proba is not None:
        vgroups = np.asarray(sub.groups)[oof]
        before = classification_report(y[oof], choice.general_proba.argmax(1), parent.classes, vgroups)
        after = classification_report(y[oof], choice.chosen_proba.argmax(1), parent.classes, vgroups)
    calibrated = [c for c, ok in zip(parent.classes, labelled, strict=True) if ok]
    fallback = [c for c, ok in zip(parent.classes, labelled, strict=True) if not ok]
    seconds = fitted.seconds + time.perf_counter() - t0
    ref = parent_ref if parent_ref is not None else parent_reference(parent)
    scores = {
        k: None if r is None else {"accuracy": r["accuracy"], "macro_f1": r["macro_f1"], "n": r["n"]}
        for k, r in (("before", before), ("after", after))
    }
    member_summaries = {k: {a: b for a, b in v.items() if a != "history"} for k, v in summaries.items()}
    provenance = {
        "parent": ref,
        "sessions": _sessions_provenance(data),
        "participants": sorted({str(s.get("participant", "")) for s in data.sources}),
        "calibrated_classes": calibrated,
        "fallback_classes": fallback,
        "n_windows": int(len(y)),
        "n_held_out": len(oof),
        "held_out": held_out,
        "config": json.loads(json.dumps(asdict(cfg))),  # as the file gives it back: lists
        "members": member_summaries,
        "blend": choice.record(),
        "seconds": round(seconds, 3),
        "calibrated_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "warnings": list(warnings),
        **scores,
    }
    metrics: dict[str, Any] = {
        "validation_kind": "time block",
        "validation_split": held_out,
        "n_validation_windows": len(oof),
        "warnings": list(warnings),
        "general": parent.info.metrics.get("validation"),
    }
    if scores["after"] is not None:
        metrics["validation"] = {k: scores["after"][k] for k in ("accuracy", "macro_f1")}
    info = replace(
        parent.info,
        name=name or f"{parent.info.name}-personal",
        created_utc=datetime.now(UTC).isoformat(timespec="seconds"),
        metrics=metrics,
        calibration=provenance,
    )
    model = ActivityModel(info, final_members, weights)
    model.history = {k: v.get("history", []) for k, v in summaries.items()}
    return CalibrationResult(
        model,
        before,
        after,
        held_out,
        calibrated,
        fallback,
        int(len(y)),
        len(oof),
        seconds,
        data,
        warnings,
        member_summaries,
    )


def calibrate_sessions(
    parent: ActivityModel | str | Path,
    sessions: Sequence[Session],
    config: CalibrationConfig | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    *,
    track: str | None = None,
    names: Sequence[str] | None = None,
    sources: Sequence[dict[str, Any]] | None = None,
    parent_ref: dict[str, Any] | None = None,
    name: str | None = None,
    output: str | Path | None = None,
) -> CalibrationResult:
    """Calibrate ``parent`` (a model or a model file) on labelled ``sessions``: cut their windows
    as the model's training did, :func:`calibrate`, and write the personal model atomically to
    ``output`` when given. ``sources``: provenance per session (path, sha256), as
    :func:`harlab.mlops.training_pipeline.read_sources` gives it."""
    path = None
    if not isinstance(parent, ActivityModel):
        path = Path(parent)
        parent = ActivityModel.load(path)
    if parent_ref is None:
        parent_ref = parent_reference(parent, path)
    _check_cancel(cancel)
    cfg = config or CalibrationConfig()
    data = calibration_dataset(parent, sessions, track, names, sources, stride_s=cfg.stride_s)
    result = calibrate(parent, data, cfg, progress, cancel, parent_ref=parent_ref, name=name)
    ignored = unknown_labels(parent, sessions, track)
    if ignored:
        result.warnings.append(f"labels the model does not know were left out: {', '.join(ignored)}")
    if output is not None:
        result.model.save(output)
    return result
