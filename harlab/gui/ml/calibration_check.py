"""Before and after calibration, measured on the recording just made (Qt-free).

The calibration recording is the only labelled data of the participant there is, so the check
holds a time block of it out: the last part of every labelled segment (each class keeps most
of its minute for calibrating and is tested on its own end, later in time than anything the
calibration saw, so neighbouring overlapping windows do not leak). The personal model is
calibrated on the labels without those blocks (:func:`calibration_track`); both models'
predictions of the whole recording are then scored on the windows inside the blocks
(:func:`compare`), against the recording's labels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from harlab.core.classnames import find_class
from harlab.core.errors import HarlabError
from harlab.core.labels import LabelTrack, Segment
from harlab.core.predictions import PredictionTrack
from harlab.ml.metrics import confusion_matrix, metrics_from_confusion

HELD_OUT_FRACTION = 0.25  #: the end of each labelled segment kept for the before/after check


@dataclass(frozen=True)
class Block:
    """A held-out stretch of one labelled segment."""

    start: float
    end: float
    label: str


def held_out_blocks(track: LabelTrack, fraction: float = HELD_OUT_FRACTION) -> list[Block]:
    """The last ``fraction`` of every segment of ``track`` (zero-length events have none)."""
    if not 0.0 < fraction < 1.0:
        raise HarlabError(f"the held-out fraction must lie between 0 and 1, got {fraction}")
    return [
        Block(s.end - fraction * s.duration, s.end, s.label)
        for s in sorted(track, key=lambda s: s.start)
        if s.duration > 0
    ]


def calibration_track(track: LabelTrack, blocks: list[Block]) -> LabelTrack:
    """A copy of ``track`` without the held-out blocks: what calibration may learn from."""
    out = LabelTrack(track.name, track.policy, track.description)
    ends = {(b.label, b.end): b.start for b in blocks}
    for s in sorted(track, key=lambda s: s.start):
        cut = ends.get((s.label, s.end))
        end = s.end if cut is None else cut
        if end > s.start or s.duration == 0:  # events stay: they label no window
            out.add(Segment(s.start, end, s.label, s.annotator, s.source, s.confidence, s.note))
    return out


@dataclass(frozen=True)
class Scores:
    """One model's scores on the held-out windows."""

    model: str
    n: int
    accuracy: float
    macro_f1: float
    f1: dict[str, float]  #: per class of the truth (the classes the participant recorded)
    #: the same windows scored by the track's smoothed segments (what the timeline shows) rather
    #: than each window's top class; NaN for a track without segments
    timeline_accuracy: float = math.nan
    timeline_macro_f1: float = math.nan


def score(pred: PredictionTrack, blocks: list[Block]) -> Scores:
    """``pred``'s top class against the block's label, over the windows lying wholly in a block.

    Classes are matched by name (case and separators aside); a recorded class the model does not
    know counts as wrong for every window of it, as it would be in use."""
    truth_names = list(dict.fromkeys(b.label for b in blocks))
    names = truth_names + [c for c in pred.classes if find_class(c, truth_names) is None]
    to_name = np.array([names.index(find_class(c, truth_names) or c) for c in pred.classes], np.int64)
    y_true: list[np.ndarray] = []
    y_pred: list[np.ndarray] = []
    y_line: list[np.ndarray] = []
    top = pred.top_index
    shown = _timeline_classes(pred, names, truth_names)
    for b in blocks:
        sel = (pred.window_start >= b.start) & (pred.window_end <= b.end)
        if sel.any():
            y_true.append(np.full(int(sel.sum()), names.index(b.label), np.int64))
            y_pred.append(to_name[top[sel]])
            y_line.append(shown[sel])
    if not y_true:
        raise HarlabError(
            f"{pred.name}: no window of {pred.model_name} lies inside the held-out blocks;"
            " record longer activities"
        )
    truth = np.concatenate(y_true)
    k = len(names) + 1  # the last: no segment at the window (a gap in the timeline), always wrong
    rep = metrics_from_confusion(confusion_matrix(truth, np.concatenate(y_pred), k), [*names, ""])
    line = {"accuracy": math.nan, "macro_f1": math.nan}
    if pred.segments:
        cm = confusion_matrix(truth, np.concatenate(y_line), k)
        per = metrics_from_confusion(cm, [*names, ""])
        # macro over the classes: a window in a gap is wrong, but the gap is not a class of its own
        seen = [c for i, c in enumerate(names) if cm[i].sum() or cm[:, i].sum()]
        line = {
            "accuracy": per["accuracy"],
            "macro_f1": float(np.mean([per["per_class"][c]["f1"] for c in seen])),
        }
    return Scores(
        model=pred.model_name,
        n=rep["n"],
        accuracy=rep["accuracy"],
        macro_f1=rep["macro_f1"],
        f1={c: rep["per_class"][c]["f1"] for c in truth_names},
        timeline_accuracy=line["accuracy"],
        timeline_macro_f1=line["macro_f1"],
    )


def _timeline_classes(pred: PredictionTrack, names: list[str], truth_names: list[str]) -> np.ndarray:
    """Per window of ``pred``, the index in ``names`` of the segment of the track covering the
    window's middle (what the timeline shows there); ``len(names)`` where no segment does."""
    mid = (pred.window_start + pred.window_end) / 2
    out = np.full(len(mid), len(names), np.int64)
    for seg in pred.segments:
        name = find_class(seg.label, truth_names) or seg.label
        if name in names:
            out[(mid >= seg.start) & (mid < seg.end)] = names.index(name)
    return out


def compare(preds: Mapping[str, PredictionTrack], blocks: list[Block]) -> dict[str, Scores]:
    """:func:`score` of each prediction track, by the caller's name for it ("before", "after")."""
    return {key: score(p, blocks) for key, p in preds.items()}
