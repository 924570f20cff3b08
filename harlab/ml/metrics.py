"""Classification metrics from a confusion matrix, and subject-grouped splits.

Written in numpy rather than taken from scikit-learn so harlab does not need it at
run time; the definitions are the usual ones (macro-F1 is the unweighted mean of
per-class F1 over classes that occur in the truth or the predictions).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts (K, K), rows = true class, columns = predicted class."""
    y_true = np.asarray(y_true, np.int64)
    y_pred = np.asarray(y_pred, np.int64)
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes
    )


def metrics_from_confusion(cm: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 and per-class precision/recall/F1/support from a confusion matrix."""
    cm = np.asarray(cm, np.float64)
    tp = np.diag(cm)
    support = cm.sum(1)
    predicted = cm.sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    present = (support > 0) | (predicted > 0)
    total = cm.sum()
    return {
        "n": int(total),
        "accuracy": float(tp.sum() / total) if total else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class": {
            c: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, c in enumerate(classes)
        },
    }


def classification_report(
    y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str], groups: np.ndarray | None = None
) -> dict[str, Any]:
    """Metrics, confusion matrix and, when ``groups`` is given, the spread over groups (participants)."""
    cm = confusion_matrix(y_true, y_pred, len(classes))
    rep = metrics_from_confusion(cm, classes)
    rep["classes"] = list(classes)
    rep["confusion"] = cm.tolist()
    if groups is not None and len(groups):
        per: dict[str, dict[str, float]] = {}
        for g in sorted(set(groups.tolist()), key=str):
            sel = groups == g
            m = metrics_from_confusion(confusion_matrix(y_true[sel], y_pred[sel], len(classes)), classes)
            per[str(g)] = {"n": m["n"], "accuracy": m["accuracy"], "macro_f1": m["macro_f1"]}
        accs = np.array([v["accuracy"] for v in per.values()])
        f1s = np.array([v["macro_f1"] for v in per.values()])
        rep["per_group"] = per
        rep["group_spread"] = {
            "accuracy": {
                "mean": float(accs.mean()),
                "std": float(accs.std()),
                "min": float(accs.min()),
                "max": float(accs.max()),
            },
            "macro_f1": {
                "mean": float(f1s.mean()),
                "std": float(f1s.std()),
                "min": float(f1s.min()),
                "max": float(f1s.max()),
            },
        }
    return rep


def grouped_kfold(groups: np.ndarray, k: int, seed: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(train index, test index) pairs with every group entirely on one side.

    Groups are shuffled with ``seed`` and dealt to folds greedily by size (largest
    first, into the fold with fewest windows), so folds hold similar amounts of
    data; the same seed gives the same folds, which is what lets models be compared
    on identical splits.
    """
    groups = np.asarray(groups)
    uniq, counts = np.unique(groups, return_counts=True)
    if k < 2:
        raise ValueError("k-fold needs k >= 2")
    if len(uniq) < k:
        raise ValueError(f"{len(uniq)} groups cannot make {k} folds")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(uniq))
    order = perm[np.argsort(-counts[perm], kind="stable")]
    load = np.zeros(k)
    fold_of: dict[Any, int] = {}
    for i in order:
        f = int(np.argmin(load))
        fold_of[uniq[i]] = f
        load[f] += counts[i]
    folds = np.array([fold_of[g] for g in groups])
    for f in range(k):
        yield np.flatnonzero(folds != f), np.flatnonzero(folds == f)
