"""Simulated sessions with clearly separable activities, built in memory (seconds, not minutes)."""

from __future__ import annotations

import pytest

from harlab.core import Session
from harlab.simulate import synthetic_session

ACTIVITIES = ("sitting", "walking", "running")


def make_session(
    participant: str,
    seed: int,
    seconds_per_bout: float = 20.0,
    bouts: int = 6,
    rate: float = 25.0,
    acc_unit: str = "m/s^2",
    labels: dict[str, str] | None = None,
) -> Session:
    """Alternating simulated bouts of sitting, walking and running (order shifted by ``seed``), streams
    ``acc`` and ``gyro``; ``labels`` renames classes as another source would spell them ({"walking": "WALKING"})."""
    order = [ACTIVITIES[(i + seed) % 3] for i in range(bouts)]
    segments = [
        (b * seconds_per_bout, (b + 1) * seconds_per_bout, (labels or {}).get(act, act))
        for b, act in enumerate(order)
    ]
    return synthetic_session(
        rate_hz=rate,
        streams={"accel": "acc", "gyro": "gyro"},
        plan=[(act, seconds_per_bout) for act in order],
        segments=segments,
        participant=participant,
        seed=seed,
        accel_unit=acc_unit,
    )


@pytest.fixture
def sessions() -> list[Session]:
    return [make_session(f"P{i}", seed=i) for i in range(4)]
