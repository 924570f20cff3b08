"""Synthetic sessions with clearly separable activities, built in memory (seconds, not minutes)."""

from __future__ import annotations

import numpy as np
import pytest

from harlab.core import Metadata, Segment, Session, Stream

ACTIVITIES = ("sitting", "walking", "running")


def make_session(participant: str, seed: int, seconds_per_bout: float = 20.0, bouts: int = 6,
                 rate: float = 25.0, acc_unit: str = "m/s^2", labels: dict[str, str] | None = None) -> Session:
    """Alternating bouts of sitting (still, gravity on z), walking (2 Hz) and running (3 Hz, strong);
    ``labels`` renames classes as another source would spell them ({"walking": "WALKING"})."""
    rng = np.random.default_rng(seed)
    s = Session(Metadata(participant_id=participant))
    n_per = int(seconds_per_bout * rate)
    acc, gyro, segs = [], [], []
    order = [ACTIVITIES[(i + seed) % 3] for i in range(bouts)]
    for b, act in enumerate(order):
        t = np.arange(n_per) / rate
        f = {"sitting": 0.0, "walking": 2.0, "running": 3.0}[act] * rng.uniform(0.9, 1.1)
        amp = {"sitting": 0.05, "walking": 2.0, "running": 6.0}[act]
        a = np.zeros((n_per, 3))
        a[:, 2] = 9.81
        a[:, 0] += amp * np.sin(2 * np.pi * f * t + rng.uniform(0, 6))
        a[:, 1] += 0.5 * amp * np.sin(2 * np.pi * 2 * f * t)
        a += rng.normal(0, 0.2, a.shape)
        g = np.zeros((n_per, 3))
        g[:, 1] = 0.3 * amp * np.cos(2 * np.pi * f * t)
        g += rng.normal(0, 0.05, g.shape)
        acc.append(a)
        gyro.append(g)
        segs.append(Segment(b * seconds_per_bout, (b + 1) * seconds_per_bout, (labels or {}).get(act, act),
                            source="imported"))
    time = np.arange(n_per * bouts) / rate
    acc_v = np.concatenate(acc)
    if acc_unit == "g":
        acc_v = acc_v / 9.80665
    s.add_stream(Stream.from_arrays("acc", time, acc_v, ["x", "y", "z"], acc_unit, rate_hz=rate,
                                    kind="accelerometer"))
    s.add_stream(Stream.from_arrays("gyro", time, np.concatenate(gyro), ["x", "y", "z"], "rad/s", rate_hz=rate,
                                    kind="gyroscope"))
    s.add_segments("activity", segs)
    return s


@pytest.fixture
def sessions() -> list[Session]:
    return [make_session(f"P{i}", seed=i) for i in range(4)]
