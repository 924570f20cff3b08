"""Training: presets, early stopping on held-out participants, progress and cancel.

``train(X, y, groups, info, config)`` turns windows into an :class:`ActivityModel`.
It works on plain arrays, so the same code serves the command line, the GUI's
train dialog (progress callback, cancel event, run in a worker thread) and the
benchmark's cross-validation.

Reproducibility: all randomness (validation participants, initial weights, batch
order, augmentation, LightGBM) derives from ``config.seed``, and torch runs with
deterministic algorithms, so the same seed, data and thread count give the same
weights bit for bit.

Honest validation: early stopping watches participants that are not trained on
(``groups``), never neighbouring windows of the training participants. When that
cannot mean anything (one participant, or held-out participants with classes the
training participants never showed) it watches time blocks of every recording
instead (``blocks``, see :func:`harlab.ml.dataset.time_blocks`): the model then meets
the same people but other minutes of them, and the split says so. With neither, the
last part of each class in time order is held out. :func:`choose_validation` decides
and explains; a score is only reported when validation windows exist.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from harlab.core.errors import HarlabError
from harlab.core.wording import counted
from harlab.ml.context import (
    CONTEXT_NAMES,
    References,
    has_accelerometer,
    network_context,
    reference_size,
    references_by_recording,
)
from harlab.ml.ensemble import WEIGHTINGS, fit_member_weights
from harlab.ml.features import find_triads
from harlab.ml.metrics import confusion_matrix, metrics_from_confusion
from harlab.ml.model_presets import (
    AUGMENT_MODES,
    DEFAULT_GBM_NEIGHBOURS,
    DEFAULT_PRESET,
    DEFAULT_WEIGHTING,
    MAX_GBM_NEIGHBOURS,
    preset,
)
from harlab.ml.modelfile import (
    ActivityModel,
    BoostedFeaturesMember,
    Member,
    ModelInfo,
    TorchMember,
)
from harlab.ml.models import CNN1DConfig, Seed2DConfig, arch_from_dict, build_network
from harlab.ml.orientation import canonicalise, fit_upright


class TrainingCancelled(HarlabError):
    """The cancel event was set; no model was produced."""


@dataclass(frozen=True)
class TrainProgress:
    """One report: ``stage`` is the member being trained ("cnn1d", "lightgbm", ...)."""

    stage: str
    epoch: int
    epochs: int
    loss: float
    acc: float
    val_loss: float = math.nan
    val_acc: float = math.nan
    val_f1: float = math.nan


ProgressFn = Callable[[TrainProgress], None]


@dataclass
class TrainConfig:
    preset: str = DEFAULT_PRESET
    epochs: int = 40
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    patience: int = 8
    val_fraction: float = 0.2
    class_weights: bool = True
    #: "none", "jitter" (small rotations, scaling), "flip" (also 180° about z) or "warp" (jitter, and
    #: half the windows played 0.8-1.25 times as fast: people eat, brush and fold at their own pace)
    augment: str = "jitter"
    seed: int = 0
    threads: int = 0  #: torch/LightGBM threads; 0 = half the cores, at most 4
    arch: dict[str, Any] = field(default_factory=dict)  #: overrides of the network's architecture
    gbm_rounds: int = 800
    gbm_lr: float = 0.05
    #: many small, heavily subsampled trees: what generalises across people (benchmarks/models.py)
    gbm_leaves: int = 7
    gbm_min_data: int = 80  #: windows per leaf, at most; scaled down for small training sets
    gbm_feature_fraction: float = 0.2
    gbm_refit: bool = (
        True  #: after early stopping, train again on all windows incl. the validation participants
    )
    #: the same for the 1-D CNN: after the validation run (curves, metrics), a second run of the full
    #: schedule on all windows; WISDM +1.1 macro-F1 points for twice the training time (benchmarks/models.py)
    cnn_refit: bool = True
    gbm_min_rounds: int = 800
    context: bool = True  #: the members also see each window against its recording (harlab.ml.context)
    #: LightGBM also sees the mean window features of this many windows (model strides) on each
    #: side of a window in its recording (harlab.ml.neighbours); 0 = each window alone
    gbm_neighbours: int = DEFAULT_GBM_NEIGHBOURS
    #: map each recording into the wearing orientation most training recordings share (harlab.ml.orientation)
    orientation: bool = True
    #: how an ensemble's members are weighted (harlab.ml.ensemble): "equal", or "fitted" on the validation
    #: participants' probabilities from the members' first run (stored in the model file)
    ensemble_weights: str = DEFAULT_WEIGHTING

    def __post_init__(self) -> None:
        preset(self.preset)  # an unknown name is refused here, before any work
        if self.augment not in AUGMENT_MODES:
            raise HarlabError(f"unknown augmentation {self.augment!r}; one of {', '.join(AUGMENT_MODES)}")
        if self.ensemble_weights not in WEIGHTINGS:
            raise HarlabError(
                f"unknown ensemble weighting {self.ensemble_weights!r}; one of {', '.join(WEIGHTINGS)}"
            )
        if self.epochs < 1 or self.batch_size < 1:
            raise HarlabError("epochs and batch size must be at least 1")
        if isinstance(self.gbm_neighbours, bool) or not 0 <= int(self.gbm_neighbours) <= MAX_GBM_NEIGHBOURS:
            raise HarlabError(
                f"LightGBM neighbours must be 0..{MAX_GBM_NEIGHBOURS} windows, not {self.gbm_neighbours}"
            )


def default_threads() -> int:
    """Half the cores, at most 4: small convolutions gain little from more, and on a shared
    2-core machine a second spinning thread makes each batch ten times slower."""
    import os

    return min(4, max(1, (os.cpu_count() or 1) // 2))


def set_threads(n: int = 0) -> int:
    """Use ``n`` torch threads (0: :func:`default_threads`); returns the number set."""
    n = n or default_threads()
    torch.set_num_threads(n)
    return n


TIME_BLOCK = "time block"  #: the group kind of :func:`harlab.ml.dataset.time_blocks`
_DRAWS = 200  #: random choices of held-out participants tried before falling back to time blocks


@dataclass
class ValidationSplit:
    """Which windows early stopping watches, and in words how they were chosen."""

    mask: np.ndarray  #: (N,) bool, True = validation window
    kind: str  #: "participant", "session", "time block", "class tail" or "none"
    held_out: list[str]  #: names of the held-out groups (participants, "time block 3", ...)
    description: str  #: one line for people: what the validation score measures
    warnings: list[str] = field(default_factory=list)


def _class_names(idx: Sequence[int], classes: Sequence[str] | None) -> str:
    return ", ".join(str(classes[i]) if classes is not None and i < len(classes) else str(i) for i in idx)


def _hold_out_groups(
    groups: np.ndarray, y: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray | None, list[int]]:
    """Whole groups whose classes all appear in the remaining groups, or (None, the classes the
    first choice would have left untrained)."""
    uniq = np.unique(groups)
    rng = np.random.default_rng(seed + 7919)
    n_val = min(len(uniq) - 1, max(1, int(round(fraction * len(uniq)))))
    first_unseen: list[int] = []
    for draw in range(_DRAWS):
        val = np.isin(groups, rng.choice(uniq, size=n_val, replace=False))
        unseen = sorted(set(np.unique(y[val]).tolist()) - set(np.unique(y[~val]).tolist()))
        if not unseen:
            return val, []
        if draw == 0:
            first_unseen = unseen
    return None, first_unseen


def _hold_out_blocks(
    blocks: np.ndarray, y: np.ndarray, fraction: float, seed: int, classes: Sequence[str] | None
) -> tuple[np.ndarray, list[str]]:
    """Some time blocks of every recording; a class with windows in no other block stays in training."""
    uniq = np.unique(blocks)
    rng = np.random.default_rng(seed + 7919)
    n_val = min(len(uniq) - 1, max(1, int(round(fraction * len(uniq)))))
    val = np.isin(blocks, rng.choice(uniq, size=n_val, replace=False))
    kept = [int(c) for c in np.unique(y[val]) if not (~val & (y == c)).any()]
    for c in kept:
        val[y == c] = False
    notes = [f"too few windows of {_class_names(kept, classes)} to hold any out"] if kept else []
    return val, notes


def choose_validation(
    groups: np.ndarray,
    y: np.ndarray,
    fraction: float,
    seed: int,
    blocks: np.ndarray | None = None,
    group_kind: str = "participant",
    classes: Sequence[str] | None = None,
) -> ValidationSplit:
    """The validation windows for early stopping and the reported score.

    Whole groups (participants) when every class they hold is also trained on; else, or
    with one group, time blocks of every recording (``blocks``); with neither, each
    class's last part in time order. Warns about classes that end up on one side only.
    ``group_kind`` names the groups ("participant"; "time block" when ``groups`` are blocks).
    """
    groups = np.asarray(groups)
    y = np.asarray(y)
    n_cls = len(classes) if classes is not None else int(y.max(initial=-1)) + 1
    if fraction <= 0 or len(y) == 0:
        return ValidationSplit(np.zeros(len(y), bool), "none", [], "no validation (validation fraction 0)")
    reason = ""
    if group_kind == TIME_BLOCK:
        blocks = groups
        reason = "one participant (or none recorded), so "
    elif len(np.unique(groups)) >= 2:
        val, unseen = _hold_out_groups(groups, y, fraction, seed)
        if val is not None:
            held = sorted({str(g) for g in groups[val]})
            split = ValidationSplit(val, group_kind, held, f"held-out {group_kind}s: {', '.join(held)}")
            return _with_warnings(split, y, n_cls, classes)
        reason = (
            f"every choice of held-out {group_kind}s leaves classes untrained "
            f"(e.g. {_class_names(unseen, classes)}), so "
        )
    else:
        reason = f"one {group_kind} only, so "
    notes: list[str] = []
    if blocks is not None and len(np.unique(blocks)) >= 2:
        val, notes = _hold_out_blocks(np.asarray(blocks), y, fraction, seed, classes)
        held = sorted({str(b) for b in np.asarray(blocks)[val]})
        desc = (
            f"{reason}time blocks of each recording: {', '.join(held)} (other minutes of the same "
            "people; not a test on new people)"
        )
        split = ValidationSplit(val, TIME_BLOCK, held, desc, notes)
    else:
        val = np.zeros(len(y), bool)
        for c in np.unique(y):
            idx = np.flatnonzero(y == c)
            n_val = int(len(idx) * fraction)
            if n_val and len(idx) - n_val >= 1:
                val[idx[-n_val:]] = True
        desc = f"{reason}the last {fraction:.0%} of each class's windows in time order"
        split = ValidationSplit(val, "class tail", [], desc)
    return _with_warnings(split, y, n_cls, classes)


def _with_warnings(
    split: ValidationSplit, y: np.ndarray, n_classes: int, classes: Sequence[str] | None
) -> ValidationSplit:
    present = np.bincount(y, minlength=n_classes) > 0
    in_val = np.bincount(y[split.mask], minlength=n_classes) > 0
    in_train = np.bincount(y[~split.mask], minlength=n_classes) > 0
    if not split.mask.any():
        split.warnings.append("no validation windows: the model's accuracy cannot be estimated")
    else:
        missing = np.flatnonzero(present & ~in_val).tolist()
        if missing:
            split.warnings.append(
                f"no validation windows of {_class_names(missing, classes)}: their scores are not measured"
            )
    untrained = np.flatnonzero(present & ~in_train).tolist()
    if untrained:
        split.warnings.append(f"no training windows of {_class_names(untrained, classes)}")
    absent = np.flatnonzero(~present).tolist()
    if absent:
        split.warnings.append(f"no windows at all of {_class_names(absent, classes)}")
    return split


def validation_split(
    groups: np.ndarray,
    y: np.ndarray,
    fraction: float,
    seed: int,
    blocks: np.ndarray | None = None,
    group_kind: str = "participant",
) -> np.ndarray:
    """Boolean mask of validation windows (:func:`choose_validation` without the explanation)."""
    return choose_validation(groups, y, fraction, seed, blocks, group_kind).mask


def class_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Inverse-frequency weights, mean 1 over the classes present."""
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    w = np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / max(1, (counts > 0).sum()), 0.0)
    return w.astype(np.float32)


def random_rotations(n: int, sd_rad: float, rng: np.random.Generator) -> np.ndarray:
    """(n, 3, 3) rotations about random axes by normally distributed angles (Rodrigues)."""
    axis = rng.normal(size=(n, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True) + 1e-12
    angle = rng.normal(0.0, sd_rad, size=n)
    k = np.zeros((n, 3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    k[:, 1, 0], k[:, 2, 0], k[:, 2, 1] = axis[:, 2], -axis[:, 1], axis[:, 0]
    s, c = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
    return np.eye(3)[None] + s * k + (1 - c) * (k @ k)


def time_warp(X: np.ndarray, speed: np.ndarray) -> np.ndarray:
    """Each window (N, T, C) played ``speed`` (N,) times as fast about its centre, by linear
    interpolation; a slowed window shows less of the motion, a sped-up one repeats its edge
    samples where it runs out (a few percent of the window at the extremes)."""
    n, t = X.shape[:2]
    centre = (t - 1) / 2.0
    pos = centre + (np.arange(t, dtype=np.float64)[None, :] - centre) * speed[:, None]
    pos = np.clip(pos, 0.0, t - 1.0)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, t - 1)
    frac = (pos - lo).astype(np.float32)[:, :, None]
    rows = np.arange(n)[:, None]
    return X[rows, lo] * (1.0 - frac) + X[rows, hi] * frac


def augment_batch(
    X: np.ndarray, triads: list[tuple[int, int, int]], mode: str, rng: np.random.Generator
) -> np.ndarray:
    """Rotate all triads of a window by one small random rotation (they share a device), scale
    amplitudes by 0.9-1.1, and in ``flip`` mode turn by 180° about z half of the time (a watch
    worn the other way round), so the network does not learn one participant's orientation;
    in ``warp`` mode also play half the windows 0.8-1.25 times as fast (:func:`time_warp`)."""
    if mode == "none":
        return X
    X = X.copy()
    n = len(X)
    r = random_rotations(n, math.radians(10), rng)
    if mode == "flip":
        flip = rng.random(n) < 0.5
        r[flip] = r[flip] @ np.diag([-1.0, -1.0, 1.0])
    r = r.astype(np.float32)
    for t in triads:
        cols = list(t)
        X[:, :, cols] = np.einsum("ntj,nij->nti", X[:, :, cols], r)
    X *= rng.uniform(0.9, 1.1, size=(n, 1, X.shape[2])).astype(np.float32)
    if mode == "warp":
        warp = rng.random(n) < 0.5
        if warp.any():
            speed = np.exp(rng.uniform(math.log(0.8), math.log(1.25), size=int(warp.sum())))
            X[warp] = time_warp(X[warp], speed)
    return X


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise TrainingCancelled("training cancelled")


def _evaluate_net(
    net: nn.Module,
    Xn: torch.Tensor,
    y: np.ndarray,
    loss_fn: nn.Module,
    batch: int = 1024,
    ctx: torch.Tensor | None = None,
) -> tuple[float, float, float]:
    net.eval()
    with torch.inference_mode():
        logits = torch.cat(
            [
                net(Xn[i : i + batch], None if ctx is None else ctx[i : i + batch])
                for i in range(0, len(Xn), batch)
            ]
        )
        loss = float(loss_fn(logits, torch.from_numpy(y)).item())
    pred = logits.argmax(1).numpy()
    k = logits.shape[1]
    m = metrics_from_confusion(confusion_matrix(y, pred, k), [str(i) for i in range(k)])
    return loss, m["accuracy"], m["macro_f1"]


def train_torch_member(
    X: np.ndarray,
    y: np.ndarray,
    val: np.ndarray,
    info: ModelInfo,
    cfg: TrainConfig,
    arch_kind: str,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    context: References | None = None,
) -> tuple[TorchMember, dict[str, Any]]:
    """Train one network with early stopping on the ``val`` mask; returns the best epoch's weights.

    With ``cfg.context`` (and an accelerometer) the 1-D CNN also takes each window's
    recording context, from ``context`` (each window's recording reference)."""
    k = len(info.classes)
    base: CNN1DConfig | Seed2DConfig = (
        CNN1DConfig(**preset(cfg.preset).network_defaults) if arch_kind == "cnn1d" else Seed2DConfig()
    )
    if (
        isinstance(base, CNN1DConfig)
        and cfg.context
        and context is not None
        and has_accelerometer(info.channels, info.units)
    ):
        base = replace(base, context_inputs=len(CONTEXT_NAMES))
    arch = arch_from_dict({**asdict(base), **{a: b for a, b in cfg.arch.items() if a != "kind"}})
    Xtr, ytr = X[~val], y[~val]
    if len(Xtr) == 0:
        raise HarlabError("no training windows left after setting aside the validation participants")
    mean = Xtr.reshape(-1, X.shape[2]).mean(0).astype(np.float32)
    std = Xtr.reshape(-1, X.shape[2]).std(0).astype(np.float32)
    std = np.where(std > 1e-6, std, 1.0).astype(np.float32)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    net = build_network(arch, X.shape[2], k, X.shape[1])
    member = TorchMember(arch, net, mean, std, list(info.channels), list(info.units))
    # what the network takes: the windows, or with a "margins" network each window with its margins
    # from the windows beside it in its recording (taken from all windows at once, before the split)
    Xin = member.network_windows(X)
    Xtr = Xin[~val]
    C = None
    if member.uses_context:
        if context is None:
            raise HarlabError("this network takes the recording context: pass each window's reference")
        C = network_context(X, context, info.channels, info.units)
    weights = torch.from_numpy(class_weights(ytr, k)) if cfg.class_weights else None
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    eval_loss = nn.CrossEntropyLoss()
    if arch_kind == "seed2d":  # the seed's optimiser (fitbit-formats.md §3.3)
        opt: torch.optim.Optimizer = torch.optim.Adamax(
            net.parameters(), lr=1e-3, weight_decay=cfg.weight_decay
        )
    else:
        opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    triads = find_triads(info.channels, info.units)
    Xval = torch.from_numpy(member.normalise(Xin[val])) if val.any() else None
    Cval = torch.from_numpy(C[val]) if C is not None and val.any() else None
    Ctr = C[~val] if C is not None else None
    yval = y[val]
    best: tuple[float, float] = (-1.0, -math.inf)
    best_state = {n: t.clone() for n, t in net.state_dict().items()}
    best_epoch, stale = 0, 0
    history = []
    for epoch in range(1, cfg.epochs + 1):
        net.train()
        order = rng.permutation(len(Xtr))
        tot_loss, tot_ok, seen = 0.0, 0, 0
        for i in range(0, len(order), cfg.batch_size):
            _check_cancel(cancel)
            idx = order[i : i + cfg.batch_size]
            if len(idx) < 2 and len(order) > 1:
                continue  # batch norm cannot use a batch of one
            xb = augment_batch(Xtr[idx], triads, cfg.augment, rng)
            xt = torch.from_numpy(member.normalise(xb))
            yt = torch.from_numpy(ytr[idx])
            ct = None if Ctr is None else torch.from_numpy(Ctr[idx])
            opt.zero_grad()
            logits = net(xt, ct)
            loss = loss_fn(logits, yt)
            loss.backward()
            opt.step()
            tot_loss += float(loss.item()) * len(idx)
            tot_ok += int((logits.argmax(1) == yt).sum())
            seen += len(idx)
        sched.step()
        tr_loss, tr_acc = tot_loss / max(seen, 1), tot_ok / max(seen, 1)
        if Xval is not None:
            v_loss, v_acc, v_f1 = _evaluate_net(net, Xval, yval, eval_loss, ctx=Cval)
            score = (v_f1, -v_loss)
        else:
            v_loss = v_acc = v_f1 = math.nan
            score = (float(epoch), 0.0)  # no validation: keep the last epoch
        history.append(
            {
                "epoch": epoch,
                "loss": tr_loss,
                "acc": tr_acc,
                "val_loss": v_loss,
                "val_acc": v_acc,
                "val_f1": v_f1,
            }
        )
        if progress:
            progress(TrainProgress(arch_kind, epoch, cfg.epochs, tr_loss, tr_acc, v_loss, v_acc, v_f1))
        if score > best:
            best, best_epoch, stale = score, epoch, 0
            best_state = {n: t.clone() for n, t in net.state_dict().items()}
        else:
            stale += 1
            if stale >= cfg.patience:
                break
    net.load_state_dict(best_state)
    net.eval()
    summary: dict[str, Any] = {
        "best_epoch": best_epoch,
        "epochs_run": len(history),
        "history": history,
        "val_proba": None,
    }
    if Xval is not None:
        summary["val_proba"] = member.predict_proba(X[val], context=None if context is None else context[val])
        m = metrics_from_confusion(confusion_matrix(yval, summary["val_proba"].argmax(1), k), info.classes)
        summary["val_acc"], summary["val_f1"] = m["accuracy"], m["macro_f1"]
    return member, summary


def _refit_torch_member(
    X: np.ndarray,
    y: np.ndarray,
    info: ModelInfo,
    cfg: TrainConfig,
    kind: str,
    summary: dict[str, Any],
    progress: ProgressFn | None,
    cancel: threading.Event | None,
    context: References | None,
) -> TorchMember:
    """Train the network again, from its seed, on every window (the validation participants
    too) for the whole schedule, keeping the last epoch.

    Early stopping needs people held out, and with a few dozen participants a fifth of them
    is a lot of variety to leave unseen: on WISDM the refit CNN scored 0.846 macro-F1 against
    0.835 (better on all five folds). The validation run's curves and scores stay the
    model's honest estimate; ``summary`` notes the refit.
    """

    def report(p: TrainProgress) -> None:
        if progress:
            progress(replace(p, stage=f"{kind} refit"))

    member, refit = train_torch_member(
        X, y, np.zeros(len(y), bool), info, cfg, kind, report, cancel, context=context
    )
    summary["refit_epochs"] = refit["epochs_run"]
    return member


def gbm_min_data(cfg: TrainConfig, n: int) -> int:
    """Windows per LightGBM leaf: ``cfg.gbm_min_data`` on a dataset of 16,000 windows or more
    (tuned on WISDM), in proportion below that, at least 5, so a small session set still splits."""
    return max(5, min(cfg.gbm_min_data, n // 200))


def gbm_params(cfg: TrainConfig, n_classes: int, n_train: int, threads: int) -> dict[str, Any]:
    """LightGBM's parameters for the member, in one place so that benchmarks screening variants
    of the member (benchmarks/gbm_variants.py) train exactly what training does."""
    return {
        "objective": "multiclass",
        "num_class": n_classes,
        "learning_rate": cfg.gbm_lr,
        "num_leaves": cfg.gbm_leaves,
        "min_data_in_leaf": gbm_min_data(cfg, n_train),
        "feature_fraction": cfg.gbm_feature_fraction,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "seed": cfg.seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": threads,
        "verbose": -1,
    }


#: share of training windows whose neighbours' features are blanked (:func:`without_some_neighbours`)
NEIGHBOURS_BLANKED = 0.1


def without_some_neighbours(
    F: np.ndarray, n_near: int, seed: int, rows: np.ndarray | None = None
) -> np.ndarray:
    """``F`` (a copy) with its last ``n_near`` columns, the windows beside (:mod:`harlab.ml.neighbours`),
    missing for a random :data:`NEIGHBOURS_BLANKED` of the rows (of those ``rows`` marks, a bool
    mask: the training windows, so that the validation windows are scored as prediction sees them).

    In a training set nearly every window has neighbours, so LightGBM never learns what to do
    without them, and a window alone (a short recording, windows sent one at a time, a stride
    of a whole window) fell far below a model trained without neighbours (0.33 against 0.77
    macro-F1 in ``tests/ml/test_neighbours.py``); with some rows blanked the trees learn a
    fallback on the window's own features (0.77), and with neighbours score as before (0.89)."""
    out = np.array(F, copy=True)
    rng = np.random.default_rng(seed + 104729)
    blank = rng.random(len(out)) < NEIGHBOURS_BLANKED
    if rows is not None:
        blank &= rows
    out[np.flatnonzero(blank), out.shape[1] - n_near :] = np.nan
    return out


def train_gbm_member(
    X: np.ndarray,
    y: np.ndarray,
    val: np.ndarray,
    info: ModelInfo,
    cfg: TrainConfig,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    feats: np.ndarray | None = None,
    context: References | None = None,
) -> tuple[BoostedFeaturesMember, dict[str, Any]]:
    """LightGBM on window features (and, with ``cfg.context``, each window against its
    recording's reference ``context``), early-stopped on the validation participants."""
    import lightgbm as lgb

    k = len(info.classes)
    notes: list[str] = []
    neighbours = cfg.gbm_neighbours
    if neighbours and info.stride_samples() >= info.n_time:
        neighbours = 0  # found where windows overlap: there are none to find
        notes.append(
            f"LightGBM saw each window alone: the windows beside a window need windows that overlap, "
            f"and the stride ({info.stride_s:g} s) is not shorter than the window ({info.window_s:g} s)"
        )
    triads = find_triads(info.channels, info.units)
    # a reference taken with the rate (every Dataset's) holds the recording's feature medians
    relative = context is not None and np.shape(context)[1] == reference_size(
        info.channels, info.units, info.rate_hz
    )
    member = BoostedFeaturesMember(
        None,
        info.rate_hz,
        triads,
        k,
        list(info.units),
        channels=list(info.channels),
        uses_context=cfg.context and context is not None,
        relative=relative,
        neighbours=neighbours,
        step=info.stride_samples(),
    )
    F = member.features(X, context) if feats is None else feats
    if member.neighbours:
        F = without_some_neighbours(F, member.n_window_features(), cfg.seed, rows=~val)
    w = class_weights(y[~val], k)[y[~val]] if cfg.class_weights else None
    params = gbm_params(cfg, k, int((~val).sum()), torch.get_num_threads())
    dtrain = lgb.Dataset(F[~val], y[~val], weight=w, free_raw_data=True)
    valid_sets: list[lgb.Dataset] = []
    callbacks: list[Callable[..., Any]] = []
    if val.any():
        valid_sets = [lgb.Dataset(F[val], y[val], reference=dtrain)]
        callbacks.append(lgb.early_stopping(100, verbose=False))
    evals: dict[str, Any] = {}
    if valid_sets:
        callbacks.append(lgb.record_evaluation(evals))

    refitting = False

    def report(env: Any) -> None:
        _check_cancel(cancel)
        if progress and (env.iteration + 1) % 25 == 0:
            vl = math.nan  # a refit on everyone has no validation loss (the last one would draw a false line)
            if evals and not refitting:
                vl = evals.get("valid_0", {}).get("multi_logloss", [math.nan])[-1]
            progress(TrainProgress("lightgbm", env.iteration + 1, cfg.gbm_rounds, math.nan, math.nan, vl))

    callbacks.append(report)
    booster = lgb.train(
        params, dtrain, num_boost_round=cfg.gbm_rounds, valid_sets=valid_sets or None, callbacks=callbacks
    )
    if booster.best_iteration and booster.best_iteration > 0:
        booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration))
    member.booster = booster
    rounds = int(booster.current_iteration())
    summary: dict[str, Any] = {"best_iteration": rounds, "n_features": int(F.shape[1]), "warnings": notes}
    val_proba = None
    if val.any():
        val_proba = member.predict_proba(X[val], feats=F[val])
        m = metrics_from_confusion(confusion_matrix(y[val], val_proba.argmax(1), k), info.classes)
        summary["val_acc"], summary["val_f1"] = m["accuracy"], m["macro_f1"]
        if cfg.gbm_refit:
            # The validation participants chose the number of rounds; now they are trained on
            # too (more people generalise better), for at least gbm_min_rounds: a few held-out
            # people make early stopping stop too soon. Validation scores above stay honest.
            _check_cancel(cancel)
            refitting = True
            rounds = max(rounds, min(cfg.gbm_min_rounds, cfg.gbm_rounds))
            w_all = class_weights(y, k)[y] if cfg.class_weights else None
            member.booster = lgb.train(
                params, lgb.Dataset(F, y, weight=w_all), num_boost_round=rounds, callbacks=[report]
            )
            summary["refit_rounds"] = rounds
    summary["val_proba"] = val_proba
    return member, summary


def train(
    X: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    info: ModelInfo,
    config: TrainConfig | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    context: References | None = None,
    blocks: np.ndarray | None = None,
    group_kind: str = "participant",
) -> ActivityModel:
    """Train the preset in ``config`` on windows ``X`` (N, T, C) in physical units.

    ``y`` holds indices into ``info.classes``; ``groups`` the participant (or, with
    ``group_kind`` "time block", the time block) of each window, used to hold whole
    groups out for early stopping; ``blocks`` each window's time block of its recording,
    the fallback when held-out participants cannot validate (:func:`choose_validation`;
    ``Dataset.blocks``). ``context``: each window's recording reference
    (``Dataset.context``, from all windows of its session); None computes it from the
    windows given, one recording per group.
    """
    cfg = config or TrainConfig()
    X = np.ascontiguousarray(X, np.float32)
    y = np.asarray(y, np.int64)
    groups = np.asarray(groups)
    if X.ndim != 3 or len(X) != len(y) or len(y) != len(groups):
        raise HarlabError(f"windows {X.shape}, labels {y.shape} and groups {groups.shape} do not match")
    if X.shape[2] != len(info.channels):
        raise HarlabError(f"windows have {X.shape[2]} channels but the model info lists {len(info.channels)}")
    if len(X) < 2:
        raise HarlabError(f"{counted(len(X), 'window')} {'is' if len(X) == 1 else 'are'} too few to train on")
    if not np.all(np.isfinite(X)):
        raise HarlabError("windows contain NaN or infinite values")
    if y.min() < 0 or y.max() >= len(info.classes):
        raise HarlabError("labels must index info.classes")
    present = np.unique(y)
    if len(present) < 2:
        raise HarlabError(
            f"all {len(y)} windows are of one class ({info.classes[int(present[0])]}): a model "
            "needs windows of at least two classes; label another activity or add sessions"
        )
    prev_threads = torch.get_num_threads()
    prev_det = torch.are_deterministic_algorithms_enabled()
    set_threads(cfg.threads)
    torch.use_deterministic_algorithms(True)
    try:
        split = choose_validation(groups, y, cfg.val_fraction, cfg.seed, blocks, group_kind, info.classes)
        val = split.mask
        members: list[Member] = []
        summaries: dict[str, Any] = {}
        spec = preset(cfg.preset)
        use_context = cfg.context and spec.supports("context")
        use_orientation = cfg.orientation and spec.supports("orientation")
        if (use_context or use_orientation) and context is None:
            # the feature medians cost a pass of window features: only for a LightGBM that reads them
            gbm_reads_medians = use_context and spec.boosted
            context = references_by_recording(
                X, groups, info.channels, info.units, info.rate_hz if gbm_reads_medians else None
            )
        upright = None
        if use_orientation and context is not None:
            # each recording in the orientation most training recordings share
            upright = fit_upright(context)
            X, context, _ = canonicalise(X, context, upright, info.channels, info.units)
        kind = spec.network
        if kind is not None:
            m, s = train_torch_member(X, y, val, info, cfg, kind, progress, cancel, context=context)
            if spec.supports("refit") and cfg.cnn_refit and val.any():
                m = _refit_torch_member(X, y, info, cfg, kind, s, progress, cancel, context)
            members.append(m)
            summaries[kind] = s
        if spec.boosted:
            m2, s2 = train_gbm_member(X, y, val, info, cfg, progress, cancel, context=context)
            members.append(m2)
            summaries["lightgbm"] = s2
        weights = None
        if len(members) > 1 and val.any() and cfg.ensemble_weights == "fitted":
            # chosen on the validation participants, from the members before any refit on them
            weights = fit_member_weights([v["val_proba"] for v in summaries.values()], y[val])
        model = ActivityModel(
            replace(
                info,
                preset=cfg.preset,
                n_train_windows=int((~val).sum()),
                train_config=asdict(cfg),
                orientation_upright=upright,
            ),
            members,
            weights,
        )
        metrics: dict[str, Any] = {
            "validation_groups": split.held_out,
            "validation_kind": split.kind,
            "validation_split": split.description,
            "warnings": list(split.warnings) + [w for v in summaries.values() for w in v.get("warnings", [])],
            "n_validation_windows": int(val.sum()),
            "members": {
                k: {a: b for a, b in v.items() if a not in ("history", "val_proba", "warnings")}
                for k, v in summaries.items()
            },
        }
        if len(members) > 1:
            metrics["ensemble_weights"] = dict(zip(summaries, model.weights, strict=True))
        if val.any():
            # from each member as it was before any refit on the validation participants (with fitted
            # weights, the one number chosen on these windows makes the score a little optimistic)
            val_proba = sum(
                w * v["val_proba"] for w, v in zip(model.weights, summaries.values(), strict=True)
            )
            model.validation_proba = np.asarray(val_proba, np.float32) / sum(model.weights)
            pred = model.validation_proba.argmax(1)
            mm = metrics_from_confusion(confusion_matrix(y[val], pred, len(info.classes)), info.classes)
            metrics["validation"] = {"accuracy": mm["accuracy"], "macro_f1": mm["macro_f1"]}
        model.info.metrics = metrics
        model.history = {k: v.get("history", []) for k, v in summaries.items()}
        return model
    finally:
        torch.set_num_threads(prev_threads)
        torch.use_deterministic_algorithms(prev_det)
