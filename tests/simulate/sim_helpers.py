"""Helpers shared by the simulator tests (imported by name: tests/ has no packages)."""

from __future__ import annotations

import numpy as np

from harlab.simulate import Plan

#: A protocol with every posture and the main gaits, long enough for heart-rate kinetics.
PROTOCOL = Plan(
    [
        ("standing", 120),
        ("walking", 60),
        ("running", 180),
        ("sitting", 240),
        ("transition", 3),
        ("lying", 60),
        ("jumping", 30),
        ("cycling", 60),
        ("standing", 30),
    ]
)
SETTLE_S = 3.0  # skip the posture turn (1.5 s) and cadence ramp at each boundary


def step_window(session, stream: str, activity: str, nth: int = 0, settle: float = SETTLE_S):
    """(time, values) of ``stream`` inside the nth step of ``activity``, minus the settling time."""
    spans = [(a, b) for a, b, act in PROTOCOL.spans() if act == activity]
    a, b = spans[nth]
    return session.streams[stream].read(a + settle, b)


def magnitude(values: np.ndarray) -> np.ndarray:
    return np.linalg.norm(values.astype(np.float64), axis=1)
