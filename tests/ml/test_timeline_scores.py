"""Evaluation scores the timeline a person reviews, not only each window on its own: the windows of
each recording, smoothed as ``harlab predict`` smooths a session."""

from __future__ import annotations

import numpy as np

from harlab.ml.dataset import build_dataset
from harlab.ml.evaluate import cross_validate, format_report, timeline_classes
from harlab.ml.predict import SmoothingConfig
from harlab.ml.smoothing import smooth
from harlab.ml.training import TrainConfig

from .conftest import make_session


def _confident(y: np.ndarray, k: int, sure: float = 0.9) -> np.ndarray:
    p = np.full((len(y), k), (1 - sure) / (k - 1))
    p[np.arange(len(y)), y] = sure
    return p


def test_a_lone_wrong_window_inside_a_bout_is_smoothed_away():
    data = build_dataset([make_session("P0", seed=0), make_session("P1", seed=1)], window_s=2.0)
    k = len(data.classes)
    probs = _confident(data.y, k)
    # one window in the middle of a bout of the first recording says, weakly, another class
    first = np.flatnonzero(data.windows.session_index == 0)
    inside = first[len(first) // 2 - 3 : len(first) // 2 + 3]
    same = inside[data.y[inside] == data.y[inside[3]]]
    wrong = same[len(same) // 2]
    probs[wrong] = 0.0
    probs[wrong, (data.y[wrong] + 1) % k] = 0.6
    probs[wrong, data.y[wrong]] = 0.4
    assert probs.argmax(1)[wrong] != data.y[wrong]
    timeline = timeline_classes(probs, data)
    assert timeline is not None
    assert (timeline == data.y).all()


def test_each_recording_is_smoothed_on_its_own_in_time_order():
    """Rows given shuffled and from two recordings: the result is each recording's windows in
    time order through :func:`smooth`, put back where the rows were."""
    data = build_dataset([make_session("P0", seed=0), make_session("P1", seed=1)], window_s=2.0)
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(len(data.classes)) * 0.5, size=len(data))
    rows = rng.permutation(len(data))
    got = timeline_classes(probs[rows], data, rows)
    assert got is not None
    want = np.empty(len(data), np.int64)
    ws = data.windows
    for r in (0, 1):
        at = np.flatnonzero(ws.session_index == r)
        at = at[np.argsort(ws.start_s[at])]
        want[at] = smooth(probs[at], ws.start_s[at], data.info.stride_s, SmoothingConfig().p_switch)
    assert (got == want[rows]).all()
    # and the HMM did smooth: the timeline is not each window's most probable class
    assert not (got == probs[rows].argmax(1)).all()


def test_a_subset_without_its_windows_times_has_no_timeline():
    data = build_dataset([make_session("P0", seed=0)], window_s=2.0)
    sub = data.subset(np.arange(10))
    assert timeline_classes(_confident(sub.y, len(sub.classes)), sub) is None


def test_cross_validation_reports_the_timeline_beside_the_windows():
    data = build_dataset([make_session(f"P{i}", seed=i) for i in range(3)], window_s=2.0)
    rep = cross_validate(data, TrainConfig(preset="features", seed=0, threads=1), k=3)
    tl = rep["timeline"]
    assert 0.0 <= tl["macro_f1"] <= 1.0
    assert tl["smoothing"] == {"p_switch": SmoothingConfig().p_switch, "min_duration_s": 0.0}
    assert all("timeline_macro_f1" in f for f in rep["folds"])
    assert "macro_f1_min_group" in tl
    text = format_report(rep)
    assert f"macro-F1 {tl['macro_f1']:.4f}" in text
    assert "timeline (each recording's windows smoothed as harlab predict smooths them" in text
