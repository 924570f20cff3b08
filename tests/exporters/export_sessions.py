"""Small synthetic sessions whose every sample and label the exporter tests can compute by hand.

A uniquely named module (not conftest) so test files can import it unambiguously."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import numpy as np

from harlab.core import LabelClass, LabelTrack, Segment, Session
from harlab.core.streams import ArrayStreamData
from harlab.simulate import synthetic_session

START = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)


def ten_second_session(
    session_id: str = "sess-a",
    participant: str = "P01",
    start_utc: datetime | None = START,
    nan_at: int | None = None,
) -> Session:
    """10 s at 10 Hz (t = k/10, k = 0..99): :func:`synthetic_session`'s ramp signal.

    accel: x = t, y = k, z = -k; gyro: 3 channels = k/100, 0, 1 (``nan_at``: accel x is NaN there).
    Track "activity": walk [0, 4), sit [4, 7), unlabelled [7, 8), walk [8, 10).
    Track "posture" (overlapping): upright [0, 6) and moving [5, 10), plus an event "tap" at 2.5 s.
    """
    s = synthetic_session(
        10.0,
        rate_hz=10.0,
        streams=("accel", "gyro"),
        signal="ramp",
        classes=[LabelClass("walk", "#1f77b4", "w"), LabelClass("sit", "#ff7f0e", "s")],
        segments=[
            Segment(
                0.0, 4.0, "walk", annotator="ann1", source="manual", confidence=0.9, note="first, with comma"
            ),
            Segment(4.0, 7.0, "sit", annotator="ann1"),
            Segment(8.0, 10.0, "walk", annotator="ann2", source="imported"),
        ],
        participant=participant,
        timezone="Europe/Berlin",
        metadata={"session_id": session_id, "start_utc": start_utc},
    )
    if nan_at is not None:  # a missing sample, set by hand: no signal the simulator writes has one
        accel = s.streams["accel"]
        t, v = accel.read()
        v = v.copy()
        v[nan_at, 0] = np.nan
        s.streams["accel"] = dataclasses.replace(accel, data=ArrayStreamData(t, v))
    posture = LabelTrack("posture", policy="overlapping")
    posture.add_many([Segment(0.0, 6.0, "upright"), Segment(5.0, 10.0, "moving"), Segment(2.5, 2.5, "tap")])
    s.add_label_track(posture)
    return s
