"""Small synthetic sessions whose every sample and label the exporter tests can compute by hand.

A uniquely named module (not conftest) so test files can import it unambiguously."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from harlab.core import LabelClass, LabelSchema, LabelTrack, Metadata, Segment, Session, Stream

START = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)


def ten_second_session(
    session_id: str = "sess-a",
    participant: str = "P01",
    start_utc: datetime | None = START,
    nan_at: int | None = None,
) -> Session:
    """10 s at 10 Hz (t = k/10, k = 0..99).

    accel: x = t, y = k, z = -k; gyro: 3 channels = k/100, 0, 1.
    Track "activity": walk [0, 4), sit [4, 7), unlabelled [7, 8), walk [8, 10).
    Track "posture" (overlapping): upright [0, 6) and moving [5, 10), plus an event "tap" at 2.5 s.
    """
    md = Metadata(
        session_id=session_id, participant_id=participant, start_utc=start_utc, timezone="Europe/Berlin"
    )
    schema = LabelSchema([LabelClass("walk", "#1f77b4", "w"), LabelClass("sit", "#ff7f0e", "s")])
    s = Session(md, schema)
    k = np.arange(100)
    t = k / 10.0
    acc = np.stack([t, k, -k], axis=1).astype(np.float32)
    if nan_at is not None:
        acc[nan_at, 0] = np.nan
    s.add_stream(
        Stream.from_arrays("accel", t, acc, ["x", "y", "z"], "m/s^2", rate_hz=10.0, kind="accelerometer")
    )
    gyr = np.stack([k / 100.0, np.zeros(100), np.ones(100)], axis=1)
    s.add_stream(Stream.from_arrays("gyro", t, gyr, ["x", "y", "z"], "rad/s", rate_hz=10.0, kind="gyroscope"))
    s.add_segments(
        "activity",
        [
            Segment(
                0.0, 4.0, "walk", annotator="ann1", source="manual", confidence=0.9, note="first, with comma"
            ),
            Segment(4.0, 7.0, "sit", annotator="ann1"),
            Segment(8.0, 10.0, "walk", annotator="ann2", source="imported"),
        ],
    )
    posture = LabelTrack("posture", policy="overlapping")
    posture.add_many([Segment(0.0, 6.0, "upright"), Segment(5.0, 10.0, "moving"), Segment(2.5, 2.5, "tap")])
    s.add_label_track(posture)
    return s
