"""Evaluation: a model on held-out sessions, or grouped cross-validation of a preset.

Reports are plain JSON-ready dicts (accuracy, macro-F1, per-class precision /
recall / F1, the confusion matrix, and the spread over participants), so the
command line prints them, the GUI shows them and the benchmark compares them.
Confusion matrices are drawn by :mod:`harlab.core.confusion_plot`, as the agreement report's are.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from harlab.core.classnames import describe_unmatched, find_class
from harlab.core.confusion_plot import plot_confusion_matrix
from harlab.core.errors import HarlabError
from harlab.ml.dataset import Dataset
from harlab.ml.metrics import classification_report, grouped_kfold
from harlab.ml.modelfile import ActivityModel
from harlab.ml.predict import SmoothingConfig
from harlab.ml.smoothing import smooth
from harlab.ml.training import ProgressFn, TrainConfig, train


def timeline_classes(probs: np.ndarray, data: Dataset, rows: np.ndarray | None = None) -> np.ndarray | None:
    """The class the timeline gives each window ``rows`` of ``data`` (all by default) from its
    probabilities ``probs`` (aligned with ``rows``): each recording's windows in time order,
    smoothed as ``harlab predict`` smooths a session (:class:`SmoothingConfig`'s defaults: the
    sticky HMM over chains of windows one stride apart). What a person reviewing a predicted
    timeline sees is this, not each window on its own. Here only labelled windows are
    smoothed, so a gap in the labels breaks the chain where prediction would smooth across.
    None when the windows' recordings and times are not known."""
    ws = data.windows
    if ws is None or len(ws.start_s) != len(data):  # a subset keeps the whole set's windows
        return None
    rows = np.arange(len(data)) if rows is None else np.asarray(rows)
    sm = SmoothingConfig()  # the one timeline_scores records
    out = np.empty(len(rows), np.int64)  # every row is in one recording: all are set below
    rec, start = ws.session_index[rows], ws.start_s[rows]
    for r in np.unique(rec):
        at = np.flatnonzero(rec == r)
        at = at[np.argsort(start[at], kind="stable")]
        p = np.asarray(probs[at], np.float64)
        out[at] = smooth(p, start[at], data.info.stride_s, sm.p_switch, sm.min_duration_s)
    return out


def timeline_scores(
    y: np.ndarray, timeline: np.ndarray, classes: list[str], groups: np.ndarray | None = None
) -> dict[str, Any]:
    """Accuracy and macro-F1 of the timeline's classes (:func:`timeline_classes`), the worst
    group's macro-F1 and the smoothing they were scored with."""
    rep = classification_report(y, timeline, classes, groups)
    sm = SmoothingConfig()
    out: dict[str, Any] = {
        "accuracy": rep["accuracy"],
        "macro_f1": rep["macro_f1"],
        "smoothing": {"p_switch": sm.p_switch, "min_duration_s": sm.min_duration_s},
    }
    if "group_spread" in rep:
        out["macro_f1_min_group"] = rep["group_spread"]["macro_f1"]["min"]
    return out


def evaluate_model(model: ActivityModel, data: Dataset) -> dict[str, Any]:
    """Report of ``model`` on ``data``; classes are matched by name (:func:`class_key`: case and
    separators aside), unknown ones refused."""
    matched = [find_class(c, model.classes) for c in data.classes]
    missing = [c for c, m in zip(data.classes, matched, strict=True) if m is None]
    if missing:
        raise HarlabError(
            f"the data has classes the model does not know: {describe_unmatched(missing, model.classes)}"
            f" (the model knows {', '.join(model.classes)})"
        )
    if data.info.channels != model.info.channels and len(data.info.channels) != len(model.info.channels):
        raise HarlabError(
            f"the data has channels {data.info.channels}, the model expects {model.info.channels}"
        )
    remap = np.array([model.classes.index(m) for m in matched if m is not None], np.int64)  # all are
    t0 = time.perf_counter()
    probs = model.predict_proba(data.X, data.context if model.needs_references else None)
    dt = time.perf_counter() - t0
    rep = classification_report(remap[data.y], probs.argmax(1), model.classes, data.groups)
    rep["group_kind"] = data.group_kind
    rep["inference_windows_per_s"] = len(data.X) / dt if dt > 0 else None
    timeline = timeline_classes(probs, data)
    if timeline is not None:
        rep["timeline"] = timeline_scores(remap[data.y], timeline, model.classes, data.groups)
    return rep


@dataclass(frozen=True)
class CVPlan:
    """Everything one fold needs, picklable, so that folds can run in other processes
    (:mod:`harlab.mlops.cohort`) with the very result :func:`cross_validate` gets in this one."""

    data: Dataset
    config: TrainConfig
    #: (train index, test index) per fold, from :func:`grouped_kfold`
    splits: list[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class FoldResult:
    """One fold's predicted class per test window (``pred``, aligned with the test index), the
    class the timeline gives it (``timeline``: :func:`timeline_classes`; None when the windows'
    times are not known) and its report entry."""

    pred: np.ndarray
    entry: dict[str, Any]
    timeline: np.ndarray | None = None


#: runs every fold of a plan and yields their results in fold order (the default runs them here)
FoldRunner = Callable[[CVPlan], Iterable[FoldResult]]


def cv_plan(data: Dataset, config: TrainConfig, k: int = 5, seed: int = 0) -> CVPlan:
    """The folds of grouped k-fold (whole groups per fold, at most one fold per group)."""
    n_groups = len(np.unique(data.groups))
    if n_groups < 2:
        raise HarlabError(
            f"cross-validation needs at least two {data.group_kind}s, found {n_groups}; label more time"
        )
    return CVPlan(data, config, list(grouped_kfold(data.groups, min(k, n_groups), seed)))


def cv_fold(
    fold: int, plan: CVPlan, progress: ProgressFn | None = None, cancel: threading.Event | None = None
) -> FoldResult:
    """Train on fold ``fold``'s training groups (seed: the config's plus the fold number) and
    predict its test groups; a pure function of ``plan`` and ``fold``."""
    data, config = plan.data, plan.config
    tr, te = plan.splits[fold]
    t0 = time.perf_counter()
    ctx = data.context
    model = train(
        data.X[tr],
        data.y[tr],
        data.groups[tr],
        data.info,
        replace(config, seed=config.seed + fold),
        progress,
        cancel,
        context=None if ctx is None else ctx[tr],
        blocks=None if data.blocks is None else data.blocks[tr],
        group_kind=data.group_kind,
    )
    t1 = time.perf_counter()
    probs = model.predict_proba(data.X[te], None if ctx is None or not model.needs_references else ctx[te])
    t2 = time.perf_counter()
    pred = probs.argmax(1)
    rep = classification_report(data.y[te], pred, data.classes)
    timeline = timeline_classes(probs, data, te)
    entry = {
        "fold": fold,
        "test_groups": sorted({str(g) for g in data.groups[te]}),
        "n_train": int(len(tr)),
        "n_test": int(len(te)),
        "accuracy": rep["accuracy"],
        "macro_f1": rep["macro_f1"],
        "train_s": t1 - t0,
        "train_windows_per_s": len(tr) / max(t1 - t0, 1e-9),
        "infer_windows_per_s": len(te) / max(t2 - t1, 1e-9),
    }
    if timeline is not None:
        entry["timeline_macro_f1"] = classification_report(data.y[te], timeline, data.classes)["macro_f1"]
    unseen = sorted(set(data.y[te].tolist()) - set(data.y[tr].tolist()))
    if unseen:
        entry["warning"] = (
            f"the test {data.group_kind}s have classes training never saw "
            f"({', '.join(data.classes[c] for c in unseen)}): their windows count as errors"
        )
    return FoldResult(pred, entry, timeline)


def cross_validate(
    data: Dataset,
    config: TrainConfig,
    k: int = 5,
    seed: int = 0,
    progress: ProgressFn | None = None,
    fold_done: Callable[[int, dict[str, Any]], None] | None = None,
    cancel: threading.Event | None = None,
    run_folds: FoldRunner | None = None,
) -> dict[str, Any]:
    """Grouped k-fold (whole groups per fold): pooled and per-fold metrics, with timings.

    With k equal to the number of groups this is leave-one-group-out. ``run_folds`` runs the
    folds elsewhere (a Dask cluster: :func:`harlab.mlops.cohort.cohort_fold_runner`); by default
    they run here one after another, with ``progress`` and ``cancel``. Either way each fold is
    :func:`cv_fold`, so the report is the same for the same seed.
    """
    plan = cv_plan(data, config, k, seed)
    if run_folds is None:
        results: Iterable[FoldResult] = (
            cv_fold(fold, plan, progress, cancel) for fold in range(len(plan.splits))
        )
    else:
        results = run_folds(plan)
    pred = np.full(len(data), -1, np.int64)
    timeline: np.ndarray | None = np.full(len(data), -1, np.int64)
    folds = []
    for fold, result in enumerate(results):
        pred[plan.splits[fold][1]] = result.pred
        if timeline is not None and result.timeline is not None:
            timeline[plan.splits[fold][1]] = result.timeline
        else:
            timeline = None
        folds.append(result.entry)
        if fold_done:
            fold_done(fold, result.entry)
    rep = classification_report(data.y, pred, data.classes, data.groups)
    rep["group_kind"] = data.group_kind
    rep["k"] = len(plan.splits)
    rep["folds"] = folds
    rep["fold_spread"] = {
        m: {"mean": float(np.mean([f[m] for f in folds])), "std": float(np.std([f[m] for f in folds]))}
        for m in ("accuracy", "macro_f1")
    }
    rep["preset"] = config.preset
    if timeline is not None:
        rep["timeline"] = timeline_scores(data.y, timeline, data.classes, data.groups)
    return rep


def plot_confusion(report: dict[str, Any], path: str | Path, title: str = "") -> Path:
    """PNG of the report's confusion matrix (:func:`harlab.core.confusion_plot.plot_confusion_matrix`,
    the picture the agreement report draws too): rows the true class shaded by recall, counts printed."""
    return plot_confusion_matrix(
        report["confusion"],
        report["classes"],
        path,
        title=title or f"accuracy {report['accuracy']:.3f}, macro-F1 {report['macro_f1']:.3f}",
        rows="true",
        columns="predicted",
        empty="no window to show",
    )


def format_report(rep: dict[str, Any]) -> str:
    """A plain-text summary for the terminal."""
    lines = [f"windows {rep['n']}   accuracy {rep['accuracy']:.4f}   macro-F1 {rep['macro_f1']:.4f}"]
    if "fold_spread" in rep:
        fs = rep["fold_spread"]
        lines.append(
            f"over {rep['k']} folds: accuracy {fs['accuracy']['mean']:.4f} ± {fs['accuracy']['std']:.4f}, "
            f"macro-F1 {fs['macro_f1']['mean']:.4f} ± {fs['macro_f1']['std']:.4f}"
        )
    if "timeline" in rep:
        tl = rep["timeline"]
        kind = rep.get("group_kind", "group")
        worst = f" (worst {kind} {tl['macro_f1_min_group']:.3f})" if "macro_f1_min_group" in tl else ""
        hmm = tl["smoothing"]["p_switch"]
        how = "no HMM" if hmm is None else f"sticky HMM, p_switch {hmm:g}"
        lines.append(
            f"timeline (each recording's windows smoothed as harlab predict smooths them: {how}): "
            f"accuracy {tl['accuracy']:.4f}   macro-F1 {tl['macro_f1']:.4f}{worst}"
        )
    width = max(len(c) for c in rep["classes"])
    lines.append(f"{'class':<{width}}  precision  recall     F1  support")
    predicted = np.asarray(rep["confusion"]).sum(0) if rep.get("confusion") is not None else None
    absent = []
    for i, (c, m) in enumerate(rep["per_class"].items()):
        # a score with nothing to divide by is not a score: '-' where no window has (or was
        # given) the class, so a class these sessions lack does not read as 0.000 (all wrong)
        some_predicted = predicted is None or predicted[i] > 0
        if not m["support"] and not some_predicted:
            absent.append(c)
        prec = f"{m['precision']:9.3f}" if some_predicted else f"{'-':>9}"
        rec = f"{m['recall']:6.3f}" if m["support"] else f"{'-':>6}"
        f1 = f"{'-':>5}" if c in absent else f"{m['f1']:5.3f}"
        lines.append(f"{c:<{width}}  {prec}  {rec}  {f1}  {m['support']:7d}")
    if absent:
        lines.append(
            f"('-': no window of {', '.join(absent)} in these sessions and none predicted; "
            "macro-F1 counts only classes present or predicted)"
        )
    if "group_spread" in rep:
        gs = rep["group_spread"]
        lines.append(
            f"per {rep.get('group_kind', 'group')} ({len(rep['per_group'])}): accuracy "
            f"{gs['accuracy']['mean']:.3f} ± {gs['accuracy']['std']:.3f} "
            f"(min {gs['accuracy']['min']:.3f}), macro-F1 {gs['macro_f1']['mean']:.3f} ± "
            f"{gs['macro_f1']['std']:.3f} (min {gs['macro_f1']['min']:.3f})"
        )
    return "\n".join(lines)
