"""The numbers behind prediction rows and review keys, and the trace strokes (no window needed)."""

from __future__ import annotations

import numpy as np
import pytest

from harlab.core import LabelTrack, PredictionTrack, Segment
from harlab.gui.prediction_view import (
    column_values,
    disagreements,
    display_track,
    doubt_threshold,
    next_disagreement,
    next_least_confident,
    own_intervals,
)
from harlab.gui.traces import strokes


def track(
    conf: np.ndarray,
    labels: list[int] | None = None,
    window: float = 2.0,
    stride: float = 1.0,
    gap_after: int | None = None,
) -> PredictionTrack:
    """Windows every ``stride`` s (a 10 s hole after window ``gap_after``), top class ``labels`` with
    probability ``conf`` (>= 0.5: two classes)."""
    n = len(conf)
    start = np.arange(n) * stride
    if gap_after is not None:
        start[gap_after + 1 :] += 10.0
    labels = labels if labels is not None else [0] * n
    p = np.zeros((n, 2), np.float32)
    for i, (c, k) in enumerate(zip(conf, labels, strict=True)):
        p[i, k], p[i, 1 - k] = c, 1 - c
    return PredictionTrack("pred", "m", "1", ["a", "b"], start, start + window, p)


def test_own_intervals_tile_time_and_keep_gaps():
    pred = track(np.full(6, 0.9), gap_after=2)
    a, b = own_intervals(pred)
    np.testing.assert_allclose(a, [0.5, 1.5, 2.5, 13.5, 14.5, 15.5])
    np.testing.assert_allclose(b - a, 1.0)


def test_column_values_min_when_dense_cover_when_sparse_nan_in_gaps():
    conf = np.full(100, 0.9)
    conf[37] = 0.55
    pred = track(conf, gap_after=49)  # windows 0..49, then 60..109 s
    a, b = own_intervals(pred)
    dense = column_values(a, b, pred.confidence, 0.0, 130.0, 13, how="min")[:, 0]
    assert dense.shape == (13,)
    assert dense[3] == pytest.approx(0.55)  # the one doubtful window survives the reduction
    assert np.isnan(dense[-1]) and not np.isnan(dense[-2])  # nothing after 110.5 s
    mean = column_values(a, b, pred.probabilities, 0.0, 120.0, 10)
    np.testing.assert_allclose(np.nansum(mean, axis=1)[~np.isnan(mean[:, 0])], 1.0, rtol=1e-5)
    sparse = column_values(a, b, pred.confidence, 50.0, 62.0, 240, how="min")[:, 0]
    t = 50.0 + (np.arange(240) + 0.5) * 12.0 / 240
    assert np.all(np.isnan(sparse[(t > 50.5) & (t < 60.5)]))  # the hole stays empty
    assert np.all(sparse[t > 60.6] == pytest.approx(0.9))


def test_next_least_confident_and_threshold_cap():
    conf = np.full(200, 0.95)
    conf[50:55] = [0.6, 0.56, 0.51, 0.55, 0.6]
    conf[120:122] = 0.6
    pred = track(conf)
    assert doubt_threshold(pred) <= 0.7
    a, b, worst = next_least_confident(pred, 0.0)
    assert (a, b) == pytest.approx((50.5, 55.5)) and worst == pytest.approx(53.0)
    a, b, _ = next_least_confident(pred, 60.0)
    assert (a, b) == pytest.approx((120.5, 122.5))
    assert next_least_confident(pred, 130.0) is None
    assert next_least_confident(track(np.full(50, 0.99)), 0.0) is None  # a sure model has no doubts


def test_disagreements_ignore_unlabelled_time():
    labels = [0] * 30 + [1] * 10 + [0] * 30
    pred = track(np.full(70, 0.9), labels)
    truth = LabelTrack("activity")
    truth.add(Segment(0.0, 20.0, "a"))
    truth.add(Segment(20.0, 50.0, "a"))  # the model says b at 30-40 s
    starts, ends = disagreements(pred, truth)
    assert len(starts) == 1 and (starts[0], ends[0]) == pytest.approx((30.5, 40.5))
    assert next_disagreement(pred, truth, 31.0) is None
    assert next_disagreement(pred, truth, 0.0) == pytest.approx((30.5, 40.5))


def test_display_track_ids_follow_segment_order():
    pred = track(np.full(10, 0.9))
    pred.segments = [
        Segment(0.0, 4.0, "a", source="prediction", confidence=0.9),
        Segment(4.0, 9.0, "b", source="prediction", confidence=0.8),
    ]
    shown = display_track(pred)
    assert [(s.id, s.label) for s in shown] == [(1, "a"), (2, "b")]
    assert shown.policy == "overlapping"


def test_strokes_join_neighbours_and_keep_every_extreme():
    rng = np.random.default_rng(1)
    lo = rng.normal(0, 1, 500).astype(np.float32)
    hi = lo + rng.uniform(0, 2, 500).astype(np.float32)
    lo[100], hi[100] = -50.0, 60.0  # a one-bin spike
    y = strokes(lo, hi)
    bottom, top = y[0::2], y[1::2]
    assert np.all(bottom <= lo) and np.all(top >= hi)  # nothing of the envelope is lost
    assert bottom[100] == -50.0 and top[100] == 60.0
    # consecutive strokes overlap (no gap a polyline would have bridged)
    assert np.all(bottom[1:] <= top[:-1]) and np.all(top[1:] >= bottom[:-1])
    # and they reach no further than the neighbouring bin's values
    assert np.all(bottom[1:] >= np.minimum(lo[1:], hi[:-1]))
    assert np.all(top[1:] <= np.maximum(hi[1:], lo[:-1]))
