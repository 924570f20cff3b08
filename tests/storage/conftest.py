"""Shared builders for the storage tests: a session that uses every field of the model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from harlab.core import (
    DeviceInfo,
    LabelClass,
    LabelSchema,
    LabelTrack,
    Metadata,
    PredictionTrack,
    Provenance,
    Segment,
    Session,
    SourceFile,
    Stream,
)
from harlab.core.streams import FLAG_CLIPPED, FLAG_GAP_BEFORE


def build_full_session(n_acc: int = 30_000, seed: int = 7) -> Session:
    """Every model field set to a non-default value, streams of different rates, an empty stream."""
    rng = np.random.default_rng(seed)
    created = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    md = Metadata(
        session_id="sess-0001",
        participant_id="P07",
        devices=[
            DeviceInfo("watch", "Versa 3", "1.2.3", "left wrist", "AA:BB:CC:DD:EE:FF"),
            DeviceInfo("chest", "H10", "5.0", "chest", ""),
        ],
        timezone="Europe/Berlin",
        start_utc=datetime(2024, 5, 6, 6, 0, 0, 250000, tzinfo=UTC),
        notes="rainy day; ünïcode ✓",
        provenance=Provenance(
            importer="fitbit",
            harlab_version="0.1.0",
            sources=[SourceFile("raw/a.csv", "0" * 63 + "1", 1234), SourceFile("raw/b.json", "f" * 64, 0)],
            created_utc=created,
            notes="imported twice",
        ),
        extra={"study": "HAR-2024", "protocol": "v2"},
    )
    schema = LabelSchema(
        [
            LabelClass("walking", "#1f77b4", "w", "steady walking"),
            LabelClass("sitting", "#ff7f0e", "s", ""),
            LabelClass("jump", "#2ca02c", None, "a single jump (event)"),
        ]
    )
    s = Session(md, schema)
    t = np.cumsum(rng.uniform(0.0095, 0.0105, n_acc))  # jittered 100 Hz clock
    v = rng.normal(0, 3, (n_acc, 3)).astype(np.float32)
    v[100] = [np.nan, 1.0, 2.0]
    flags = np.zeros(n_acc, np.uint8)
    flags[500] = FLAG_GAP_BEFORE
    flags[501:504] = FLAG_CLIPPED
    s.add_stream(
        Stream.from_arrays(
            "acc",
            t,
            v,
            ["x", "y", "z"],
            "m/s^2",
            100.0,
            flags=flags,
            kind="accelerometer",
            device="watch",
            attrs={"range": "8g"},
        )
    )
    hr_t = np.arange(0.5, 300.5, 1.0)
    s.add_stream(
        Stream.from_arrays(
            "hr",
            hr_t,
            60 + rng.normal(0, 5, len(hr_t)),
            ["hr"],
            "bpm",
            1.0,
            kind="heart_rate",
            device="chest",
        )
    )
    s.add_stream(Stream.from_arrays("rr", np.zeros(0), np.zeros((0, 1)), ["rr"], "ms", None, kind="rr"))
    act = s.add_label_track(LabelTrack("activity", "exclusive", "what the participant did"))
    act.add_many(
        [
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
        ]
    )
    act.remove(2)
    act.add(Segment(10.0, 20.5, "sitting", "bob", "accepted_prediction", 0.0, "re-added", created, created))
    ctx = s.add_label_track(LabelTrack("context", "overlapping", ""))
    ctx.add_many([Segment(0, 50, "walking", source="manual"), Segment(25, 75, "sitting", confidence=0.5)])
    ws = np.arange(0, 60, 2.0)
    probs = rng.dirichlet(np.ones(3), len(ws)).astype(np.float32)
    s.add_prediction_track(
        PredictionTrack(
            "cnn",
            "cnn1d",
            "2024.05-rc1",
            ["walking", "sitting", "jump"],
            ws,
            ws + 4.0,
            probs,
            segments=[
                Segment(0, 30, "walking", "cnn1d", "prediction", 0.9),
                Segment(30, 62, "sitting", source="prediction", id=7),
            ],
            created=created,
            params={"window_s": "4", "hop_s": "2"},
        )
    )
    s.add_prediction_track(PredictionTrack("empty", "m", "0", [], np.zeros(0), np.zeros(0), np.zeros((0, 0))))
    return s


@pytest.fixture
def full_session() -> Session:
    return build_full_session()
