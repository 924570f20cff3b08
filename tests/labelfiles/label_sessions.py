"""Sessions and file helpers for the label-file tests (a uniquely named module, not conftest)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from harlab.core import LabelClass, LabelTrack, Segment, Session
from harlab.exporters import ExportOptions, get_exporter
from harlab.simulate import synthetic_session
from harlab.storage import read_session, save_session

START = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
CLASSES = [LabelClass("walking_upstairs", "#1f77b4", "w"), LabelClass("sitting", "#ff7f0e", "s")]


def source_session() -> Session:
    """60 s at 10 Hz; track "activity" (exclusive, two annotators, odd float times) and
    "posture" (overlapping, with a zero-length event)."""
    s = synthetic_session(
        60.0,
        rate_hz=10.0,
        streams=("accel",),
        classes=CLASSES,
        segments=[
            Segment(0.0, 12.345678, "walking_upstairs", annotator="ann1"),
            Segment(12.345678, 30.1, "sitting", annotator="ann1"),
            Segment(40.25, 59.5, "walking_upstairs", annotator="ann2"),
        ],
        metadata={"session_id": "sess-1", "start_utc": START},
    )
    posture = LabelTrack("posture", policy="overlapping")
    posture.add_many(
        [
            Segment(0.0, 20.0, "upright", annotator="ann1"),
            Segment(10.0, 30.0, "moving", annotator="ann1"),
            Segment(25.5, 25.5, "tap", annotator="ann1"),
        ]
    )
    s.add_label_track(posture)
    for c in ("upright", "moving", "tap"):
        s.schema.ensure(c)
    return s


def empty_target(tmp_path: Path, session: Session | None = None) -> Path:
    """``session`` (default: :func:`source_session`) without label tracks, saved to a file."""
    s = session or source_session()
    for name in list(s.label_tracks):
        s.remove_label_track(name)
    return save_session(s, tmp_path / "target.h5")


def export(fmt: str, session: Session, out: Path, **opts: object) -> list[Path]:
    return get_exporter(fmt).export([session], out, ExportOptions(names=["rec"], **opts))  # type: ignore[arg-type]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def segs(path: Path, track: str) -> list[tuple[float, float, str, str]]:
    t = read_session(path).label_tracks[track]
    return [(s.start, s.end, s.label, s.annotator) for s in t]
