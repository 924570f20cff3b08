"""Non-wear detection (van Hees 2013 / GGIR criterion) on simulated days with a still device."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from harlab.core.streams import ArrayStreamData
from harlab.signal.nonwear import NonwearError, NonwearParams, detect_nonwear
from harlab.simulate import synthetic_session

G = 9.80665
RATE = 10.0
BLOCK = 900.0


def _with_still(session, t0, t1, orientations=None, noise_g=0.002, seed=3):
    """``session`` with its accelerometer replaced over ``[t0, t1)`` by a device at rest: gravity
    along one fixed direction (or one per ``orientations`` piece: a sleeper turning) plus sensor
    noise. Written inline because the simulator has no resting device (it always moves a wrist)."""
    acc = session.streams["accel"]
    t, v = acc.read()
    v = v.copy()
    inside = (t >= t0) & (t < t1)
    rng = np.random.default_rng(seed)
    dirs = orientations or [(0.0, 0.0, 1.0)]
    piece = np.minimum(((t[inside] - t0) / (t1 - t0) * len(dirs)).astype(int), len(dirs) - 1)
    g = np.asarray(dirs, dtype=np.float64)
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    v[inside] = (g[piece] + rng.normal(0, noise_g, (int(inside.sum()), 3))) * G
    stream = dataclasses.replace(acc, data=ArrayStreamData(t, v.astype(np.float32)))
    session.remove_stream("accel")
    session.add_stream(stream)
    return session


def _day(hours=6.0, seed=1):
    return synthetic_session(
        plan=[("walking", 3600.0), ("sitting", (hours - 2) * 3600.0), ("walking", 3600.0)],
        rate_hz=RATE,
        seed=seed,
        streams=["accel"],
    )


def test_a_still_stretch_is_found_to_within_one_block():
    t0, t1 = 5000.0, 5000.0 + 2.5 * 3600  # 2.5 h on a table, not aligned to the 15-min blocks
    track = detect_nonwear(_with_still(_day(), t0, t1))
    assert track.kind == "nonwear" and len(track) == 1, track.spans()
    start, end = track.spans()[0]
    assert abs(start - t0) <= BLOCK and abs(end - t1) <= BLOCK
    assert t0 <= start and end <= t1  # only whole still windows are flagged
    assert "van Hees" in track.method and track.params["std_mg"] == "13"


def test_a_walking_day_has_no_nonwear():
    assert len(detect_nonwear(_day())) == 0


def test_sleep_like_rest_with_turns_is_worn():
    """Four hours of almost no motion, but the sleeper turns every 20 min: each hour holds a
    change of posture (hundreds of mg on two axes), so no 60-min window is still."""
    turns = [(0, 0, 1), (0.7, 0, 0.7), (0, -1, 0.1), (-0.6, 0.2, 0.8)] * 3
    s = _with_still(_day(7.0), 3600.0, 3600.0 + 4 * 3600, orientations=turns, noise_g=0.003)
    assert len(detect_nonwear(s)) == 0
    # the same rest without the turns is non-wear: the turns are what tells them apart
    s2 = _with_still(_day(7.0), 3600.0, 3600.0 + 4 * 3600, noise_g=0.003)
    assert detect_nonwear(s2).total_s >= 3 * 3600


def test_units_in_g_and_a_gap_are_handled():
    s = synthetic_session(
        plan=[("walking", 1800.0), ("sitting", 4 * 3600.0)], rate_hz=RATE, streams=["accel"], accel_unit="g"
    )
    acc = s.streams["accel"]
    t, v = acc.read()
    v = v.copy()
    still = (t >= 1800) & (t < 1800 + 3 * 3600)
    v[still] = np.array([0, 0, 1.0]) + np.random.default_rng(0).normal(0, 0.002, (int(still.sum()), 3))
    gap = (t >= 1800 + 3 * 3600) & (t < 1800 + 4 * 3600)  # an hour without samples is no evidence
    s.remove_stream("accel")
    s.add_stream(dataclasses.replace(acc, data=ArrayStreamData(t[~gap], v[~gap].astype(np.float32))))
    track = detect_nonwear(s)
    assert len(track) == 1
    start, end = track.spans()[0]
    assert abs(start - 1800) <= BLOCK and end <= 1800 + 3 * 3600 + 1e-6


def test_refusals_name_the_problem():
    with pytest.raises(NonwearError, match="no 3-axis accelerometer"):
        detect_nonwear(synthetic_session(600.0, streams=["heart_rate"]))
    with pytest.raises(NonwearError, match="whole number of blocks"):
        detect_nonwear(_day(), params=NonwearParams(window_s=1000.0))
    with pytest.raises(NonwearError, match="no stream 'wrist'"):
        detect_nonwear(_day(), stream="wrist")
