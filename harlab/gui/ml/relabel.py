"""What the train dialog shows about a session before training (Qt-free): participant,
label tracks with their labelled seconds per class, and streams."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harlab.core.session import Session


@dataclass
class SourceSummary:
    """What the dialog shows about one session before training: read from the file lazily."""

    label: str  #: file path, or a name for the open (maybe unsaved) session
    participant: str
    tracks: dict[str, dict[str, float]] = field(default_factory=dict)  #: track -> class -> labelled seconds
    streams: dict[str, tuple[str, float | None]] = field(default_factory=dict)  #: name -> (kind, rate)
    class_order: list[str] = field(default_factory=list)  #: schema order
    session_id: str = ""


def summarise(session: Session, label: str) -> SourceSummary:
    """Participant, label tracks with seconds per class, and streams of ``session``."""
    tracks: dict[str, dict[str, float]] = {}
    for name, tr in session.label_tracks.items():
        per: dict[str, float] = {}
        for seg in tr:
            per[seg.label] = per.get(seg.label, 0.0) + seg.duration
        tracks[name] = per
    streams = {n: (s.kind, s.rate_hz) for n, s in session.streams.items()}
    md = session.metadata
    return SourceSummary(label, md.participant_id or "", tracks, streams, session.schema.names, md.session_id)


def summarise_file(path: str | Path) -> SourceSummary:
    """Open ``path`` lazily (streams are not read) and summarise it."""
    from harlab.storage import open_session

    with open_session(path) as sf:
        return summarise(sf.session, str(path))
