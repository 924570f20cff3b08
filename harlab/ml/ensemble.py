"""How an ensemble's members are combined: a weighted mean of their probabilities.

The members disagree in how sure they are: the 1-D CNN puts most of its probability on one
class, LightGBM's probabilities are flatter, so an equal-weight mean lets the more confident
member decide. With ``TrainConfig(ensemble_weights="fitted")`` training chooses the weights on
the validation participants (people held out from the members' first run, see
:func:`harlab.ml.training.choose_validation`), from each member's probabilities for them, and
the model file stores them (:class:`harlab.ml.modelfile.ActivityModel` applies them).

Only one number is chosen for two members (the first member's share, on a grid), so a few
thousand validation windows choose it without fitting their noise; with more than two members,
or without validation windows, the weights stay equal. Equal weights are the default: on WISDM
the fitted ones scored lower (docs/ML.md, general model), because the validation probabilities
come from the members before their refit on everyone, and the refit changes LightGBM most.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harlab.core.errors import HarlabError
from harlab.ml.metrics import confusion_matrix, metrics_from_confusion

#: how the members are weighted: "equal", or "fitted" on the validation participants
WEIGHTINGS = ("equal", "fitted")
#: the grid of the first member's share tried by :func:`fit_member_weights`
WEIGHT_STEP = 0.05
_EPS = 1e-7


def weighted_mean(probas: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """The members' probabilities (each N x K) averaged with ``weights`` (normalised to sum 1)."""
    w = np.asarray(weights, np.float64)
    if len(w) != len(probas) or not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        raise HarlabError(f"weights must be one number >= 0 per member with a positive sum, got {list(w)}")
    total = np.zeros(np.shape(probas[0]), np.float64)
    for wi, p in zip(w, probas, strict=True):
        total += wi * np.asarray(p, np.float64)
    return total / w.sum()


def log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean negative log probability of the true classes ``y``."""
    p = np.clip(proba[np.arange(len(y)), y], _EPS, 1.0)
    return float(-np.mean(np.log(p)))


def macro_f1(y: np.ndarray, proba: np.ndarray) -> float:
    """Macro-F1 of the most probable classes against ``y``."""
    k = proba.shape[1]
    cm = confusion_matrix(y, proba.argmax(1), k)
    return float(metrics_from_confusion(cm, [str(i) for i in range(k)])["macro_f1"])


def fit_member_weights(
    probas: Sequence[np.ndarray], y: np.ndarray, criterion: str = "log_loss", step: float = WEIGHT_STEP
) -> list[float]:
    """Weights (summing to 1) of the members whose weighted mean of ``probas`` (each N x K, for the
    same validation windows) scores best on labels ``y``: lowest log loss (``criterion``
    "log_loss") or highest macro-F1 ("macro_f1"). Two members: the first member's share on a grid
    of ``step``, ties going to the share nearest one half; otherwise equal weights."""
    y = np.asarray(y, np.int64)
    n = len(probas)
    if n != 2 or len(y) == 0:
        return [1.0 / n] * n if n else []
    if criterion not in ("log_loss", "macro_f1"):
        raise HarlabError(f"unknown criterion {criterion!r}; one of log_loss, macro_f1")
    best: tuple[tuple[float, float], float] | None = None
    for share in np.round(np.arange(0.0, 1.0 + step / 2, step), 6):
        p = weighted_mean(probas, [share, 1.0 - share])
        score = log_loss(y, p) if criterion == "log_loss" else -macro_f1(y, p)
        key = (round(score, 9), abs(share - 0.5))
        if best is None or key < best[0]:
            best = (key, float(share))
    assert best is not None
    return [best[1], round(1.0 - best[1], 6)]
