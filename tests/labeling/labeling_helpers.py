"""Helpers for the labeling tests: a small session and an exact snapshot of tracks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from harlab.core import LabelTrack, Segment, Session

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def seg(start: float, end: float, label: str = "walk", i: int = 0, **kw: object) -> Segment:
    """A segment with fixed created/modified times (so equality checks are exact)."""
    t = T0 + timedelta(seconds=i)
    return Segment(start, end, label, created=t, modified=t, **kw)  # type: ignore[arg-type]


def snapshot(session: Session) -> dict:
    """Everything an edit may change, as plain values: tracks (policy, segments by id) and schema."""
    return {
        "tracks": {name: (t.policy, {s.id: s for s in t}) for name, t in session.label_tracks.items()},
        "schema": session.schema.to_list(),
    }


def exclusive_ok(track: LabelTrack) -> bool:
    segs = [s for s in track if s.end > s.start]
    return all(a.end <= b.start for a, b in zip(segs, segs[1:], strict=False))
