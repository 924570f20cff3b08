"""Shared builders for the storage tests: a session that uses every field of the model."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from harlab.core import (
    DeviceInfo,
    LabelClass,
    LabelTrack,
    PredictionTrack,
    Provenance,
    Segment,
    Session,
    SourceFile,
    Stream,
)
from harlab.core.streams import FLAG_CLIPPED, FLAG_GAP_BEFORE, ArrayStreamData
from harlab.simulate import synthetic_session


def build_full_session(seed: int = 7) -> Session:
    """Every model field set to a non-default value, streams of different rates, an empty stream.

    The signals are :func:`synthetic_session`'s (300 s at 100 Hz, heart rate at 1 Hz); what it
    never writes is set here by hand, since the round trip must keep each: a jittered clock, a
    NaN, gap and clipping flags, an empty stream, a deleted segment's id that stays used, a
    creation time in another zone, an overlapping track, an empty prediction track.
    """
    rng = np.random.default_rng(seed)
    created = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    s = synthetic_session(
        300.0,
        streams={"accel": "acc", "heart_rate": "hr"},
        classes=[
            LabelClass("walking", "#1f77b4", "w", "steady walking"),
            LabelClass("sitting", "#ff7f0e", "s", ""),
            LabelClass("jump", "#2ca02c", None, "a single jump (event)"),
        ],
        segments=[
            Segment(
                0.0,
                10.0,
                "walking",
                "alice",
                "manual",
                None,
                "start",
                created,
                created + timedelta(seconds=5),
            ),
            Segment(10.0, 20.5, "sitting", "bob", "imported", 0.75, "", created, created),
            Segment(
                15.0,
                15.0,
                "jump",
                "alice",
                "recorded",
                1.0,
                "zero-length event",
                datetime(2024, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))),
                created,
            ),
        ],
        participant="P07",
        seed=seed,
        timezone="Europe/Berlin",
        metadata={
            "session_id": "sess-0001",
            "devices": [
                DeviceInfo("watch", "Versa 3", "1.2.3", "left wrist", "AA:BB:CC:DD:EE:FF"),
                DeviceInfo("chest", "H10", "5.0", "chest", ""),
            ],
            "start_utc": datetime(2024, 5, 6, 6, 0, 0, 250000, tzinfo=UTC),
            "notes": "rainy day; ünïcode ✓",
            "provenance": Provenance(
                importer="fitbit",
                harlab_version="0.1.0",
                sources=[
                    SourceFile("raw/a.csv", "0" * 63 + "1", 1234),
                    SourceFile("raw/b.json", "f" * 64, 0),
                ],
                created_utc=created,
                notes="imported twice",
            ),
            "extra": {"study": "HAR-2024", "protocol": "v2"},
        },
        predictions=[
            PredictionTrack(
                "cnn",
                "cnn1d",
                "2024.05-rc1",
                ["walking", "sitting", "jump"],
                np.arange(0, 60, 2.0),
                np.arange(0, 60, 2.0) + 4.0,
                rng.dirichlet(np.ones(3), 30).astype(np.float32),
                segments=[
                    Segment(0, 30, "walking", "cnn1d", "prediction", 0.9),
                    Segment(30, 62, "sitting", source="prediction", id=7),
                ],
                created=created,
                params={"window_s": "4", "hop_s": "2"},
            ),
            PredictionTrack("empty", "m", "0", [], np.zeros(0), np.zeros(0), np.zeros((0, 0))),
        ],
    )
    acc = s.streams["acc"]
    t, v = acc.read()
    t = t + rng.uniform(-0.0005, 0.0005, len(t))  # a jittered clock, still increasing
    v = v.copy()
    v[100] = [np.nan, 1.0, 2.0]
    flags = np.zeros(len(t), np.uint8)
    flags[500] = FLAG_GAP_BEFORE
    flags[501:504] = FLAG_CLIPPED
    s.streams["acc"] = dataclasses.replace(
        acc, data=ArrayStreamData(t, v, flags), device="watch", attrs={"range": "8g"}
    )
    s.streams["hr"] = dataclasses.replace(s.streams["hr"], device="chest")
    s.add_stream(Stream.from_arrays("rr", np.zeros(0), np.zeros((0, 1)), ["rr"], "ms", None, kind="rr"))
    act = s.label_tracks["activity"]
    act.description = "what the participant did"
    act.remove(2)
    act.add(Segment(10.0, 20.5, "sitting", "bob", "accepted_prediction", 0.0, "re-added", created, created))
    ctx = s.add_label_track(LabelTrack("context", "overlapping", ""))
    ctx.add_many([Segment(0, 50, "walking", source="manual"), Segment(25, 75, "sitting", confidence=0.5)])
    return s


@pytest.fixture
def full_session() -> Session:
    return build_full_session()
