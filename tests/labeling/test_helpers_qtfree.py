"""Hotkey labeling, snapping to samples and gap navigation."""

from __future__ import annotations

import numpy as np
import pytest

from harlab.core import Stream
from harlab.labeling.history import EditHistory
from harlab.labeling.hotkeys import HotkeyLabeler
from harlab.labeling.navigation import gaps, next_gap, next_segment, prev_gap, prev_segment, segment_at
from harlab.labeling.snapping import snap_to_samples, step_samples


def test_hotkey_press_twice_and_continuous_labeling(session):
    h = EditHistory(session)
    hk = HotkeyLabeler()
    assert hk.press("activity", "run", 50.0) is None and hk.pending.start == 50.0
    h.push(hk.press("activity", "run", 55.0))
    assert hk.pending is None
    assert hk.press("activity", "run", 60.0) is None
    h.push(hk.press("activity", "sit", 65.0))  # ends run, starts sit at 65
    assert hk.pending.label == "sit" and hk.pending.start == 65.0
    h.push(hk.press("activity", "sit", 62.0))  # backwards is fine
    got = [(s.start, s.end, s.label) for s in session.label_tracks["activity"].in_range(50, 70)]
    assert got == [(50, 55, "run"), (60, 62, "run"), (62, 65, "sit")]
    assert hk.press("activity", "run", 70.0) is None and hk.cancel() and not hk.cancel()
    cmd = hk.press("activity", "walk", 0.0, selection=(8.0, 3.0))
    assert (cmd.start, cmd.end, cmd.label) == (3.0, 8.0, "walk")
    assert hk.press("activity", "walk", 1.0) is None and hk.press("activity", "walk", 1.0) is None


def test_snap_to_array_and_stream():
    t = np.arange(0, 100, 0.01)  # 100 Hz
    assert snap_to_samples(1.234, t) == pytest.approx(1.23)
    assert snap_to_samples(-5, t) == 0.0 and snap_to_samples(500, t) == pytest.approx(99.99)
    np.testing.assert_allclose(snap_to_samples(np.array([0.004, 0.006]), t), [0.0, 0.01])
    stream = Stream.from_arrays(
        "acc", t, np.zeros((len(t), 3), np.float32), ["x", "y", "z"], "m/s^2", rate_hz=100
    )
    assert snap_to_samples(1.234, stream) == pytest.approx(1.23)
    assert snap_to_samples(1e6, stream) == pytest.approx(99.99)
    assert snap_to_samples(-1e6, stream) == 0.0
    assert step_samples(1.234, t, 2) == pytest.approx(1.25)
    assert step_samples(1.234, stream, -3) == pytest.approx(1.20)
    assert step_samples(99.98, stream, 5) == pytest.approx(99.99)
    assert snap_to_samples(3.0, np.zeros(0)) == 3.0


def test_snap_irregular_stream_with_gap():
    t = np.r_[np.arange(0, 10, 0.05), np.arange(500, 510, 0.05)]
    stream = Stream.from_arrays("acc", t, np.zeros((len(t), 1), np.float32), ["x"], "g", rate_hz=20)
    assert snap_to_samples(200.0, stream) == pytest.approx(9.95)
    assert snap_to_samples(300.0, stream) == pytest.approx(500.0)


def test_gap_navigation(session):
    tr = session.label_tracks["activity"]  # 0-10, 10-20, 30-40
    gs, ge = gaps(tr, 0, 60)
    assert list(zip(gs, ge, strict=True)) == [(20, 30), (40, 60)]
    assert next_gap(tr, 0, 0, 60) == (20, 30)
    assert next_gap(tr, 20, 0, 60) == (40, 60)
    assert next_gap(tr, 45, 0, 60) is None
    assert prev_gap(tr, 40, 0, 60) == (20, 30)
    assert prev_gap(tr, 20, 0, 60) is None
    assert gaps(tr, -5, 60, min_len=4)[0].tolist() == [-5, 20, 40]
    assert gaps(tr, -5, 60, min_len=10)[0].tolist() == [40]
    assert next_segment(tr, 0).start == 10 and prev_segment(tr, 10).start == 0
    assert segment_at(tr, 35).start == 30 and segment_at(tr, 25) is None
